package trigger_test

import (
	"context"
	"errors"
	"testing"

	"moodfood/trigger"
)

// fb builds windows with the given fallback rates over q queries each.
func fb(q int, rates ...float64) []trigger.Signals {
	ws := make([]trigger.Signals, len(rates))
	for i, r := range rates {
		ws[i] = trigger.Signals{Queries: q, FallbackRate: r}
	}
	return ws
}

func TestFallbackRate(t *testing.T) {
	tests := []struct {
		name    string
		opts    *trigger.DriftOptions
		windows []trigger.Signals
		retrain bool
		phrases []string
	}{
		{"NoWindows", nil, nil, false, []string{"[ ] fallback_rate: No data - no signal windows yet"}},
		{"AllGood", nil, fb(200, 0.05, 0.08, 0.10), false,
			[]string{"OK - fallback rate 10.0% (limit 15.0%); 0 of the last 3 windows breached (need 2)"}},
		{"OneSpike", nil, fb(200, 0.05, 0.30, 0.10), false, []string{"Watching - fallback rate 10.0%", "1 of the last 3 windows"}},
		{"TwoOfThree", nil, fb(200, 0.30, 0.05, 0.20), true,
			[]string{"[x] fallback_rate: Degraded - fallback rate 20.0% (limit 15.0%); 2 of the last 3 windows breached (need 2)"}},
		{"OldBreachesOutOfRange", nil, fb(200, 0.30, 0.30, 0.05, 0.05, 0.20), false, []string{"1 of the last 3 windows"}},
		{"EqualIsNoBreach", nil, fb(200, 0.15, 0.15, 0.15), false, []string{"0 of the last 3"}},
		{"TooFewQueries", nil, fb(49, 0.50, 0.50, 0.50), false,
			[]string{"Not enough data - only 49 queries in the current window (need 50); 0 of the last 3 windows breached (need 2), 3 too small to judge"}},
		{"SmallWindowSkipped", nil, append(fb(200, 0.30), append(fb(10, 0.9), fb(200, 0.05)...)...), false,
			[]string{"1 of the last 3 windows breached (need 2), 1 too small"}},
		{"SingleWindowFewerThanN", nil, fb(200, 0.5), false, []string{"1 of the last 1 window breached (need 2)"}},
		{"KOfNCustom", &trigger.DriftOptions{K: 1, N: 1, MinSamples: 10}, fb(10, 0.05, 0.5), true, []string{"1 of the last 1 window"}},
		{"KThreeOfFive", &trigger.DriftOptions{K: 3, N: 5}, fb(100, 0.2, 0.2, 0.01, 0.01, 0.2), true, []string{"3 of the last 5 windows breached (need 3)"}},
		{"KOnlyGrowsN", &trigger.DriftOptions{K: 4}, fb(100, 0.2, 0.2, 0.2, 0.01), false, []string{"3 of the last 4 windows breached (need 4)"}},
		{"NOnly", &trigger.DriftOptions{N: 1}, fb(100, 0.01, 0.2), true, []string{"1 of the last 1 window breached (need 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.FallbackRate(0.15, tt.opts), trigger.State{Windows: tt.windows})
			check(t, d, tt.retrain, tt.phrases...)
		})
	}
}

func TestAgreementDrop(t *testing.T) {
	w := func(n int, a float64) trigger.Signals {
		return trigger.Signals{Queries: 1000, Fallbacks: n, Agreement: a}
	}
	tests := []struct {
		name    string
		windows []trigger.Signals
		retrain bool
		phrase  string
	}{
		{"Healthy", []trigger.Signals{w(100, 0.9), w(100, 0.85)}, false, "OK - ML-LLM agreement 85.0% (limit 80.0%)"},
		{"Dropped", []trigger.Signals{w(100, 0.9), w(100, 0.7), w(100, 0.6)}, true, "[x] agreement: Degraded - ML-LLM agreement 60.0%"},
		{"FewFallbacks", []trigger.Signals{w(20, 0.1), w(20, 0.1), w(20, 0.1)}, false, "only 20 fallbacks in the current window (need 50)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check(t, decide(t, trigger.AgreementDrop(0.8, nil), trigger.State{Windows: tt.windows}), tt.retrain, tt.phrase)
		})
	}
}

func TestVocabularyDrift(t *testing.T) {
	w := func(r float64) trigger.Signals { return trigger.Signals{Tokens: 5000, OOVRate: r} }
	base := trigger.Baseline{OOVRate: 0.04}
	tests := []struct {
		name          string
		limit, margin float64
		windows       []trigger.Signals
		retrain       bool
		phrase        string
	}{
		{"Stable", 0.2, 0.05, []trigger.Signals{w(0.05), w(0.06)}, false, "OK - OOV rate 6.0% (limit 20.0%, baseline 4.0% + 5.0%)"},
		{"UpByMargin", 0.2, 0.05, []trigger.Signals{w(0.10), w(0.12)}, true, "[x] vocabulary_drift: Drifted - OOV rate 12.0%"},
		{"AboveLimit", 0.1, 0, []trigger.Signals{w(0.11), w(0.12)}, true, "(limit 10.0%)"},
		{"MarginOff", 0.2, 0, []trigger.Signals{w(0.10), w(0.12)}, false, "OK"},
		{"LimitOff", 0, 0.05, []trigger.Signals{w(0.10), w(0.12)}, true, "(baseline 4.0% + 5.0%)"},
		{"FewTokens", 0.1, 0, []trigger.Signals{{Tokens: 3, OOVRate: 1}, {Tokens: 3, OOVRate: 1}}, false, "only 3 tokens"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.VocabularyDrift(tt.limit, tt.margin, nil), trigger.State{Windows: tt.windows, Baseline: base})
			check(t, d, tt.retrain, tt.phrase)
		})
	}
}

func TestLabelShift(t *testing.T) {
	base := trigger.Baseline{Intents: map[string]float64{"goal_comfort": 0.5, "meal_dinner": 0.5}}
	same := trigger.Signals{Queries: 100, Intents: map[string]float64{"goal_comfort": 0.5, "meal_dinner": 0.5}}
	// JS distance from base: 0.383 (see TestJSDistance).
	shifted := trigger.Signals{Queries: 100, Intents: map[string]float64{"goal_comfort": 0.9, "meal_dinner": 0.1}}
	tests := []struct {
		name    string
		base    trigger.Baseline
		windows []trigger.Signals
		retrain bool
		phrase  string
	}{
		{"Same", base, []trigger.Signals{same, same}, false, "OK - intent JS distance 0.000 from training (limit 0.300)"},
		{"Shifted", base, []trigger.Signals{shifted, same, shifted}, true, "[x] label_shift: Drifted - intent JS distance 0.383"},
		{"NoBaseline", trigger.Baseline{}, []trigger.Signals{shifted, shifted}, false, "No baseline - no training intent distribution"},
		{"NoIntents", base, []trigger.Signals{{Queries: 500}, {Queries: 500}}, false, "only 0 classified queries in the current window"},
		{"FewQueries", base, []trigger.Signals{{Queries: 5, Intents: shifted.Intents}, {Queries: 5, Intents: shifted.Intents}}, false, "Not enough data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, trigger.LabelShift(0.3, nil), trigger.State{Windows: tt.windows, Baseline: tt.base})
			check(t, d, tt.retrain, tt.phrase)
		})
	}
}

func TestDrift_Invalid(t *testing.T) {
	tests := []struct {
		name string
		tr   trigger.Trigger
	}{
		{"NegativeMinSamples", trigger.FallbackRate(0.1, &trigger.DriftOptions{MinSamples: -1})},
		{"KAboveN", trigger.FallbackRate(0.1, &trigger.DriftOptions{K: 3, N: 2})},
		{"NegativeN", trigger.AgreementDrop(0.8, &trigger.DriftOptions{N: -1})},
		{"LimitAboveOne", trigger.FallbackRate(1.5, nil)},
		{"NegativeLimit", trigger.AgreementDrop(-0.1, nil)},
		{"NaNLimit", trigger.LabelShift(nan(), nil)},
		{"VocabularyNothing", trigger.VocabularyDrift(0, 0, nil)},
		{"VocabularyNaNMargin", trigger.VocabularyDrift(0.1, nan(), nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.tr.ShouldRetrain(context.Background(), trigger.State{Now: now}); !errors.Is(err, trigger.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}
