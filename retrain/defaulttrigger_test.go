package retrain_test

import (
	"context"
	"testing"
	"time"

	"moodfood/retrain"
	"moodfood/trigger"
)

func TestDefaultTrigger(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	rejected := trigger.Attempt{Time: now.Add(-1 * day), Outcome: trigger.OutcomeRejected, NewSamples: 60}
	tests := []struct {
		name string
		s    trigger.State
		want bool
	}{
		{"NeverTrained", trigger.State{Now: now}, true},
		{"SeedSamples", trigger.State{Now: now, LastSuccess: now.Add(-2 * day),
			LastAttempt: trigger.Attempt{Time: now.Add(-2 * day), Outcome: trigger.OutcomeDeployed}, NewSamples: 50}, true},
		{"NotYet", trigger.State{Now: now, LastSuccess: now.Add(-2 * day),
			LastAttempt: trigger.Attempt{Time: now.Add(-2 * day), Outcome: trigger.OutcomeDeployed}, NewSamples: 49}, false},
		// The same 60 samples that were just rejected do not retrain again
		// the next night...
		{"CooldownAfterRejection", trigger.State{Now: now, LastSuccess: now.Add(-40 * day), LastAttempt: rejected, NewSamples: 60}, false},
		// ...until 50 more samples arrive,
		{"CooldownEndsWithMoreSamples", trigger.State{Now: now, LastSuccess: now.Add(-40 * day), LastAttempt: rejected, NewSamples: 110}, true},
		// or a week has passed,
		{"CooldownEndsAfterAWeek", trigger.State{Now: now.Add(7 * day), LastSuccess: now.Add(-40 * day), LastAttempt: rejected, NewSamples: 60}, true},
		// and a person can always force a run.
		{"ForceOverridesCooldown", trigger.State{Now: now, LastSuccess: now.Add(-40 * day), LastAttempt: rejected, NewSamples: 60, Force: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := retrain.DefaultTrigger().ShouldRetrain(context.Background(), tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if d.Retrain != tt.want {
				t.Fatalf("Retrain = %v, want %v\n%s", d.Retrain, tt.want, d)
			}
		})
	}
}
