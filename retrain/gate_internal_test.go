package retrain

import (
	"math"
	"strings"
	"testing"

	"moodfood/model"
)

// TestGate_Boundary: a drop of exactly the tolerance passes, a hair more
// fails, for accuracy and macro-F1 alike.
func TestGate_Boundary(t *testing.T) {
	tests := []struct {
		name         string
		dep, cand    float64
		accOK, f1OK  bool
		intentDrop   float64
		intentPassed bool
	}{
		{"equal", 0.90, 0.90, true, true, 0, true},
		{"better", 0.90, 0.95, true, true, 0, true},
		{"drop 0.01", 0.90, 0.89, true, true, 0.10, true},
		{"drop 0.0101", 0.90, 0.8899, false, false, 0.1001, false},
		{"drop 0.02", 0.50, 0.48, false, false, 0.2, false},
		{"nan", 0.90, math.NaN(), false, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Gate{}
			g.setDefaults()
			ev := &evaluation{
				hasDep:  true,
				holdout: make([]model.Example, 100),
				cand: model.Report{Accuracy: tt.cand, MacroF1: tt.cand,
					PerLabel: []model.LabelReport{{Label: "a", F1: 0.9 - tt.intentDrop, Support: 20}}},
				dep: model.Report{Accuracy: tt.dep, MacroF1: tt.dep,
					PerLabel: []model.LabelReport{{Label: "a", F1: 0.9, Support: 20}}},
			}
			got := map[string]bool{}
			for _, c := range g.checks(ev) {
				got[c.Name] = c.Passed
			}
			if got["accuracy_delta"] != tt.accOK || got["macro_f1_delta"] != tt.f1OK || got["intent_f1_drop"] != tt.intentPassed {
				t.Errorf("checks %v", got)
			}
		})
	}
}

// TestBootstrapLower: identical models give a zero interval; a clearly
// worse candidate has a negative lower bound; the result is deterministic.
func TestBootstrapLower(t *testing.T) {
	var ex []model.Example
	var good, worse []model.Prediction
	for i := range 400 {
		l := []string{"a", "b", "c", "d"}[i%4]
		ex = append(ex, model.Example{Text: string(rune('A' + i)), Labels: []string{l}})
		good = append(good, model.Prediction{Label: l, Labels: []string{l}})
		w := l
		if i%5 == 0 {
			w = "a"
		}
		worse = append(worse, model.Prediction{Label: w, Labels: []string{w}})
	}
	if lo := bootstrapLower(ex, good, good, 200, 1); lo != 0 {
		t.Errorf("same model: lower bound %v", lo)
	}
	lo1 := bootstrapLower(ex, worse, good, 1000, 7)
	lo2 := bootstrapLower(ex, worse, good, 1000, 7)
	if lo1 >= -0.1 || lo1 != lo2 {
		t.Errorf("worse model: lower bounds %v, %v", lo1, lo2)
	}
}

// TestGate_NoiseTolerance: on a small evaluation a drop of a few samples is
// within the paired sampling noise and passes; a drop the samples can tell
// apart still fails; with NoiseZ off, or a tolerance that demands an
// improvement, the fixed tolerance applies; on a large evaluation the
// fixed tolerance is the wider one and nothing changes.
func TestGate_NoiseTolerance(t *testing.T) {
	tests := []struct {
		name      string
		z, drop   float64
		d         pairedDiff
		cand, dep float64
		want      bool
	}{
		// 40 samples, 3 only the deployed model gets right, 1 only the
		// candidate: -5 points, SE ≈ 4.9 points.
		{"small, two samples", 0, 0, pairedDiff{n: 40, b: 1, c: 3}, 0.80, 0.85, true},
		{"small, noise off", -1, 0, pairedDiff{n: 40, b: 1, c: 3}, 0.80, 0.85, false},
		{"small, must improve", 0, -0.01, pairedDiff{n: 40, b: 1, c: 3}, 0.80, 0.85, false},
		// 40 samples, 12 only the deployed model gets right: -30 points.
		{"small, clear drop", 0, 0, pairedDiff{n: 40, b: 0, c: 12}, 0.55, 0.85, false},
		// 3,000 samples: SE ≈ 0.3 points, the 1-point default rules.
		{"large, 1.5 points", 0, 0, pairedDiff{n: 3000, b: 30, c: 75}, 0.885, 0.90, false},
		{"large, 0.5 points", 0, 0, pairedDiff{n: 3000, b: 30, c: 45}, 0.895, 0.90, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Gate{NoiseZ: tt.z, MaxAccuracyDrop: tt.drop, MaxIntentF1Drop: -1, MaxCoverageDrop: -1}
			g.setDefaults()
			ev := &evaluation{hasDep: true, holdout: make([]model.Example, tt.d.n), holdNoise: tt.d,
				cand: model.Report{Accuracy: tt.cand, MacroF1: 1}, dep: model.Report{Accuracy: tt.dep, MacroF1: 1}}
			for _, c := range g.checks(ev) {
				if c.Name == "accuracy_delta" && c.Passed != tt.want {
					t.Errorf("accuracy_delta %+v, want passed=%v", c, tt.want)
				}
			}
		})
	}
}

// TestRoutingSet: user-confirmed samples join the routing samples only when
// corrections are logged; the model's own unconfirmed answers never do.
func TestRoutingSet(t *testing.T) {
	sp := splitData{
		holdout:      []model.Example{{Text: "llm"}, {Text: "feedback"}, {Text: "model"}},
		selfLabelled: []bool{false, true, true},
		confirmed:    []bool{false, true, false},
		golden:       []model.Example{{Text: "golden"}},
	}
	preds := make([]model.Prediction, 3)
	gold := make([]model.Prediction, 1)
	texts := func(ex []model.Example) []string {
		var out []string
		for _, e := range ex {
			out = append(out, e.Text)
		}
		return out
	}
	for _, tc := range []struct {
		corrected bool
		want      string
	}{{false, "llm golden"}, {true, "llm feedback golden"}} {
		ex, p := routingSet(sp, preds, gold, tc.corrected)
		if got := strings.Join(texts(ex), " "); got != tc.want || len(p) != len(ex) {
			t.Errorf("corrected=%v: %q (%d predictions), want %q", tc.corrected, got, len(p), tc.want)
		}
	}
}
