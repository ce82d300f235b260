package trigger_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"moodfood/trigger"
)

func TestInvalid(t *testing.T) {
	tests := []struct {
		name   string
		tr     trigger.Trigger
		policy string
	}{
		{"MaxAgeZero", trigger.MaxAge(0), "max_age"},
		{"MaxAgeNegative", trigger.MaxAge(-time.Hour), "max_age"},
		{"MinNewSamplesZero", trigger.MinNewSamples(0), "min_new_samples"},
		{"AdaptiveZeroShare", trigger.Adaptive(0, day), "adaptive"},
		{"AdaptiveNaNShare", trigger.Adaptive(math.NaN(), day), "adaptive"},
		{"AdaptiveInfShare", trigger.Adaptive(math.Inf(1), day), "adaptive"},
		{"AdaptiveZeroAge", trigger.Adaptive(0.1, 0), "adaptive"},
		{"SeedZeroDays", trigger.Seed(0, 50), "max_age"},
		{"SeedHugeDays", trigger.Seed(math.MaxInt, 50), "max_age"},
		{"SeedZeroSamples", trigger.Seed(30, 0), "min_new_samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.tr.ShouldRetrain(context.Background(), trigger.State{Now: now, NewSamples: 1000})
			if !errors.Is(err, trigger.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
			if !strings.HasPrefix(err.Error(), "trigger: invalid policy: "+tt.policy+": ") {
				t.Errorf("err = %q, want it to name %s", err, tt.policy)
			}
			if d.Retrain {
				t.Error("an invalid policy said to retrain")
			}
		})
	}
}

func TestNoTime(t *testing.T) {
	tests := []struct {
		name string
		tr   trigger.Trigger
	}{
		{"MaxAge", trigger.MaxAge(day)},
		{"Adaptive", trigger.Adaptive(0.1, day)},
		{"Default", trigger.Default()},
		{"DefaultForced", trigger.Default()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.tr.ShouldRetrain(context.Background(), trigger.State{LastSuccess: now, Force: tt.name == "DefaultForced"})
			if !errors.Is(err, trigger.ErrNoTime) {
				t.Fatalf("err = %v, want ErrNoTime", err)
			}
		})
	}
	// Policies that do not measure time need no clock.
	for _, tr := range []trigger.Trigger{trigger.Force(), trigger.MinNewSamples(1), trigger.FallbackRate(0.1, nil)} {
		if _, err := tr.ShouldRetrain(context.Background(), trigger.State{}); err != nil {
			t.Errorf("%v", err)
		}
	}
}
