package retrain

import (
	"context"
	"testing"
	"time"

	"moodfood/trigger"
)

func TestReasonText(t *testing.T) {
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name string
		s    trigger.State
		want string
	}{
		{"NotYet", trigger.State{Now: now, LastSuccess: now.Add(-time.Hour),
			LastAttempt: trigger.Attempt{Time: now.Add(-time.Hour), Outcome: trigger.OutcomeDeployed}},
			"Not yet - need 50 more samples or 30 more days"},
		{"CoolingDown", trigger.State{Now: now, LastSuccess: now.Add(-40 * day), NewSamples: 60,
			LastAttempt: trigger.Attempt{Time: now.Add(-time.Hour), Outcome: trigger.OutcomeRejected, NewSamples: 60}},
			"Cooling down - last attempt 1 hour ago was rejected; need 50 more samples or 7 more days"},
		{"Fired", trigger.State{Now: now, LastSuccess: now.Add(-4 * day), NewSamples: 60,
			LastAttempt: trigger.Attempt{Time: now.Add(-4 * day), Outcome: trigger.OutcomeDeployed}},
			"Recommended - 60 new samples (threshold 50)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := DefaultTrigger().ShouldRetrain(context.Background(), tt.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := reasonText(d); got != tt.want {
				t.Fatalf("reasonText = %q, want %q\n%s", got, tt.want, d)
			}
		})
	}
	if got := reasonText(trigger.Decision{}); got != "no reason given" {
		t.Fatalf("empty decision: %q", got)
	}
}
