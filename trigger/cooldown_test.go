package trigger_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"moodfood/trigger"
)

func TestCooldown(t *testing.T) {
	// The inner policy fires on 50 new samples; a rejected attempt 2 days
	// ago saw 57 of them.
	rejected := trigger.Attempt{Time: now.Add(-2 * day), Outcome: trigger.OutcomeRejected, NewSamples: 57}
	tests := []struct {
		name    string
		s       trigger.State
		retrain bool
		need    string
		phrases []string
	}{
		{"NoAttempt", trigger.State{Now: now, NewSamples: 60}, true, "",
			[]string{"[x] cooldown: Clear - no rejected or failed attempt", "  [x] min_new_samples: Recommended - 60 new samples"}},
		{"LastDeployed", trigger.State{Now: now, NewSamples: 60,
			LastAttempt: trigger.Attempt{Time: now.Add(-day), Outcome: trigger.OutcomeDeployed, NewSamples: 57}}, true, "", nil},
		{"RejectedSameData", trigger.State{Now: now, NewSamples: 60, LastAttempt: rejected}, false, "7 more samples or 5 more days",
			[]string{"[ ] cooldown: Cooling down - last attempt 2 days ago was rejected; need 7 more samples or 5 more days",
				"  [x] min_new_samples: Recommended - 60 new samples"}},
		{"RejectedInnerQuiet", trigger.State{Now: now, NewSamples: 10, LastAttempt: rejected}, false, "",
			[]string{"Cooling down", "[ ] min_new_samples"}},
		{"EnoughNewSamples", trigger.State{Now: now, NewSamples: 67, LastAttempt: rejected}, true, "",
			[]string{"[x] cooldown: Clear - 10 new samples since the rejected attempt (need 10)"}},
		{"WaitPassed", trigger.State{Now: now.Add(5 * day), NewSamples: 57, LastAttempt: rejected}, true, "",
			[]string{"Clear - last attempt 7 days ago was rejected (cooldown 7 days)"}},
		{"Failed", trigger.State{Now: now, NewSamples: 60,
			LastAttempt: trigger.Attempt{Time: now.Add(-time.Hour), Outcome: trigger.OutcomeFailed, NewSamples: 60}}, false, "10 more samples or 7 more days",
			[]string{"last attempt 1 hour ago failed;"}},
		{"RolledBack", trigger.State{Now: now, NewSamples: 60,
			LastAttempt: trigger.Attempt{Time: now.Add(-time.Hour), Outcome: trigger.OutcomeRolledBack, NewSamples: 60}}, false, "",
			[]string{"was rolled back"}},
		{"Forced", trigger.State{Now: now, NewSamples: 60, Force: true, LastAttempt: rejected}, true, "",
			[]string{"[x] cooldown: Clear - forced run"}},
		{"ClockSkew", trigger.State{Now: now, NewSamples: 60,
			LastAttempt: trigger.Attempt{Time: now.Add(day), Outcome: trigger.OutcomeRejected, NewSamples: 57}}, false, "",
			[]string{"last attempt (rejected) is in the future (clock skew?)", "need 7 more samples or 7 more days"}},
		{"SamplesShrank", trigger.State{Now: now, NewSamples: 55, LastAttempt: rejected}, false, "",
			[]string{"need 10 more samples or 5 more days"}},
	}
	inner := trigger.Any(trigger.Force(), trigger.MinNewSamples(50))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.Cooldown(trigger.MinNewSamples(50), 7*day, 10), tt.s)
			check(t, d, tt.retrain, tt.phrases...)
			if tt.need != "" && d.Need != tt.need {
				t.Errorf("Need = %q, want %q", d.Need, tt.need)
			}
			if d.Reasons[0].Policy != trigger.PolicyCooldown {
				t.Errorf("first reason %+v, want cooldown", d.Reasons[0])
			}
			// Wrapping a composite works the same way.
			if got := decide(t, trigger.Cooldown(inner, 7*day, 10), tt.s).Retrain; got != tt.retrain {
				t.Errorf("Cooldown(Any(...)).Retrain = %v, want %v", got, tt.retrain)
			}
		})
	}
}

func TestCooldown_OneWayOut(t *testing.T) {
	rejected := trigger.Attempt{Time: now.Add(-30 * day), Outcome: trigger.OutcomeRejected, NewSamples: 50}
	s := trigger.State{Now: now, NewSamples: 55, LastAttempt: rejected}
	// Time alone: 30 days passed.
	check(t, decide(t, trigger.Cooldown(trigger.MinNewSamples(50), 7*day, 0), s), true, "cooldown 7 days")
	// Samples alone: time does not release it.
	check(t, decide(t, trigger.Cooldown(trigger.MinNewSamples(50), 0, 10), s), false, "need 5 more samples")
}

func TestCooldown_Errors(t *testing.T) {
	rejected := trigger.Attempt{Time: now, Outcome: trigger.OutcomeRejected}
	tests := []struct {
		name string
		tr   trigger.Trigger
		s    trigger.State
		want error
	}{
		{"NilInner", trigger.Cooldown(nil, day, 1), trigger.State{Now: now}, trigger.ErrInvalid},
		{"NegativeWait", trigger.Cooldown(trigger.Force(), -day, 1), trigger.State{Now: now}, trigger.ErrInvalid},
		{"NegativeSamples", trigger.Cooldown(trigger.Force(), day, -1), trigger.State{Now: now}, trigger.ErrInvalid},
		{"NeverEnds", trigger.Cooldown(trigger.Force(), 0, 0), trigger.State{Now: now}, trigger.ErrInvalid},
		{"NoClock", trigger.Cooldown(trigger.Force(), day, 1), trigger.State{LastAttempt: rejected}, trigger.ErrNoTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.tr.ShouldRetrain(context.Background(), tt.s); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
