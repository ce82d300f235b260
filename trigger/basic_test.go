package trigger_test

import (
	"testing"
	"time"

	"moodfood/trigger"
)

func TestMaxAge(t *testing.T) {
	tests := []struct {
		name    string
		last    time.Time
		retrain bool
		phrases []string
		need    string
	}{
		{"NeverTrained", time.Time{}, true, []string{"[x] max_age: Overdue - never trained"}, ""},
		{"Overdue", now.Add(-34 * day), true, []string{"Overdue - last retrain 34 days ago (limit 30 days)"}, ""},
		{"ExactlyThirtyDays", now.Add(-30 * day), true, []string{"Overdue - last retrain 30 days ago"}, ""},
		{"OneSecondShort", now.Add(-30*day + time.Second), false, []string{"Not yet - last retrain 29 days ago; need 1 more second"}, "1 more second"},
		{"NotYet", now.Add(-21 * day), false, []string{"Not yet - last retrain 21 days ago; need 9 more days"}, "9 more days"},
		{"NeedRoundsUp", now.Add(-21*day - 5*time.Hour), false, []string{"21 days ago; need 9 more days"}, "9 more days"},
		{"Hours", now.Add(-5 * time.Hour), false, []string{"last retrain 5 hours ago"}, "30 more days"},
		{"ClockSkew", now.Add(3 * day), false, []string{"[ ] max_age: Not yet - last retrain is in the future (clock skew?), age treated as 0; need 30 more days"}, "30 more days"},
		{"FarFuture", now.AddDate(200, 0, 0), false, []string{"clock skew?"}, "30 more days"},
		{"FarPast", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), true, []string{"Overdue"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.MaxAge(30*day), trigger.State{Now: now, LastSuccess: tt.last})
			check(t, d, tt.retrain, tt.phrases...)
			if d.Need != tt.need {
				t.Errorf("Need = %q, want %q", d.Need, tt.need)
			}
			if len(d.Reasons) != 1 || d.Reasons[0].Policy != trigger.PolicyMaxAge || d.Reasons[0].Fired != tt.retrain {
				t.Errorf("Reasons = %+v", d.Reasons)
			}
		})
	}
}

func TestMinNewSamples(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		retrain bool
		phrase  string
	}{
		{"Zero", 0, false, "Not yet - no new samples; need 50 more samples"},
		{"Negative", -7, false, "Not yet - no new samples; need 50 more samples"},
		{"One", 1, false, "Not yet - 1 new sample; need 49 more samples"},
		{"OneShort", 49, false, "need 1 more sample"},
		{"Exactly", 50, true, "[x] min_new_samples: Recommended - 50 new samples (threshold 50)"},
		{"Above", 57, true, "Recommended - 57 new samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// MinNewSamples needs no clock.
			d := decide(t, trigger.MinNewSamples(50), trigger.State{NewSamples: tt.n})
			check(t, d, tt.retrain, tt.phrase)
		})
	}
}

func TestForce(t *testing.T) {
	check(t, decide(t, trigger.Force(), trigger.State{Force: true}), true, "[x] force: Forced")
	check(t, decide(t, trigger.Force(), trigger.State{}), false, "[ ] force: Not forced")
}

func TestAdaptive(t *testing.T) {
	tests := []struct {
		name    string
		share   float64
		s       trigger.State
		retrain bool
		phrases []string
	}{
		{"NeverTrained", 0.1, trigger.State{Now: now}, true, []string{"Overdue - never trained"}},
		{"ShareReached", 0.1, trigger.State{Now: now, LastSuccess: now.Add(-2 * day), NewSamples: 50, DatasetSize: 500}, true,
			[]string{"[x] adaptive: Recommended - 50 new samples, 10.0% of the 500 samples the model trained on (threshold 10.0%)"}},
		{"FloatNoise", 0.07, trigger.State{Now: now, LastSuccess: now.Add(-2 * day), NewSamples: 7, DatasetSize: 100}, true, nil},
		{"FastDataSmallSet", 0.1, trigger.State{Now: now, LastSuccess: now.Add(-day), NewSamples: 10, DatasetSize: 100}, true, []string{"Recommended"}},
		{"SlowData", 0.1, trigger.State{Now: now, LastSuccess: now.Add(-21 * day), NewSamples: 38, DatasetSize: 500}, false,
			[]string{"Not yet - 38 new samples (threshold 50 = 10.0% of 500), last retrain 21 days ago; need 12 more samples or 9 more days"}},
		{"MaxAgeCaps", 0.1, trigger.State{Now: now, LastSuccess: now.Add(-30 * day), NewSamples: 1, DatasetSize: 500}, true,
			[]string{"Overdue - last retrain 30 days ago"}},
		{"UnknownSize", 0.1, trigger.State{Now: now, LastSuccess: now.Add(-21 * day), NewSamples: 1000}, false,
			[]string{"Not yet - dataset size unknown, last retrain 21 days ago; need 9 more days"}},
		{"ClockSkew", 0.1, trigger.State{Now: now, LastSuccess: now.Add(day), DatasetSize: 500}, false,
			[]string{"clock skew?", "need 50 more samples or 30 more days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.Adaptive(tt.share, 30*day), tt.s)
			check(t, d, tt.retrain, tt.phrases...)
		})
	}
}

func TestSeed(t *testing.T) {
	tests := []struct {
		name    string
		s       trigger.State
		retrain bool
		phrases []string
	}{
		{"NeverTrained", trigger.State{Now: now}, true, []string{"[x] any: Retrain - 1 of 3 policies fired", "  [x] max_age: Overdue - never trained"}},
		{"Nothing", trigger.State{Now: now, LastSuccess: now.Add(-21 * day), NewSamples: 38}, false,
			[]string{"[ ] any: Not yet - need 12 more samples or 9 more days", "  [ ] force: Not forced"}},
		{"Overdue", trigger.State{Now: now, LastSuccess: now.Add(-34 * day), NewSamples: 3}, true,
			[]string{"Overdue - last retrain 34 days ago"}},
		{"Samples", trigger.State{Now: now, LastSuccess: now.Add(-2 * day), NewSamples: 57}, true,
			[]string{"Recommended - 57 new samples"}},
		{"BothExactly", trigger.State{Now: now, LastSuccess: now.Add(-30 * day), NewSamples: 50}, true,
			[]string{"Retrain - 2 of 3 policies fired"}},
		{"Forced", trigger.State{Now: now, LastSuccess: now.Add(-time.Hour), Force: true}, true,
			[]string{"[x] force: Forced", "[ ] min_new_samples: Not yet - no new samples"}},
		{"ZeroSamplesSkew", trigger.State{Now: now, LastSuccess: now.Add(time.Hour)}, false,
			[]string{"clock skew?", "need 50 more samples or 30 more days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.Default(), tt.s)
			check(t, d, tt.retrain, tt.phrases...)
			if len(d.Reasons) != 4 {
				t.Errorf("got %d reasons, want 4 (any, force, min_new_samples, max_age)", len(d.Reasons))
			}
		})
	}
	t.Run("CustomThresholds", func(t *testing.T) {
		s := trigger.State{Now: now, LastSuccess: now.Add(-14 * day), NewSamples: 24}
		check(t, decide(t, trigger.Seed(14, 25), s), true, "Overdue - last retrain 14 days ago (limit 14 days)")
		check(t, decide(t, trigger.Seed(15, 25), s), false, "need 1 more sample or 1 more day")
	})
}
