package retrain_test

import (
	"fmt"
	"math"
	"testing"

	"moodfood/model"
	"moodfood/retrain"
)

// scored makes n samples of label "a" predicted with confidence conf, right
// or wrong.
func scored(n int, conf float64, right bool) ([]model.Prediction, []model.Example) {
	var preds []model.Prediction
	var ex []model.Example
	for i := range n {
		label := "a"
		if !right {
			label = "b"
		}
		preds = append(preds, model.Prediction{Label: label, Confidence: conf, Labels: []string{label},
			Ranked: []model.Score{{Label: label, Prob: conf}, {Label: "c", Prob: (1 - conf) / 2}}})
		ex = append(ex, model.Example{Text: fmt.Sprint(conf, right, i), Labels: []string{"a"}})
	}
	return preds, ex
}

func join(parts ...func() ([]model.Prediction, []model.Example)) ([]model.Prediction, []model.Example) {
	var preds []model.Prediction
	var ex []model.Example
	for _, p := range parts {
		pp, ee := p()
		preds, ex = append(preds, pp...), append(ex, ee...)
	}
	return preds, ex
}

func TestDeriveRouting(t *testing.T) {
	mk := func(n int, conf float64, right bool) func() ([]model.Prediction, []model.Example) {
		return func() ([]model.Prediction, []model.Example) { return scored(n, conf, right) }
	}
	t.Run("SmallHoldoutIsConservative", func(t *testing.T) {
		// 30 right answers at 0.9: a raw precision of 1, but 30 samples
		// cannot show 0.95 at 95% confidence (that takes 52), so no
		// threshold is earned. Dropping the bound would route all 30.
		preds, ex := scored(30, 0.9, true)
		r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{})
		if r.Met || r.Threshold != 1 || r.Coverage != 0 {
			t.Fatalf("30 samples earned %+v; want no threshold (threshold 1, coverage 0)", r)
		}
		if r.Lower != 0 {
			t.Errorf("lower bound with nothing routed = %v, want 0", r.Lower)
		}
		// 60 are enough.
		preds, ex = scored(60, 0.9, true)
		if r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{}); !r.Met || r.Threshold != 0.9 || r.Coverage != 1 {
			t.Fatalf("60 right answers: %+v; want threshold 0.9, coverage 1", r)
		}
	})
	t.Run("LowestThresholdWhoseBoundPasses", func(t *testing.T) {
		// 200 right at 0.95; 100 at 0.8 with 4 wrong; 100 at 0.6 with 30
		// wrong. Precision: 1 at 0.95, 0.987 at 0.8 (bound ≈ 0.97), 0.9
		// at 0.6.
		preds, ex := join(mk(200, 0.95, true), mk(96, 0.8, true), mk(4, 0.8, false), mk(70, 0.6, true), mk(30, 0.6, false))
		r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{})
		if !r.Met || r.Threshold != 0.8 {
			t.Fatalf("threshold %v (met %v), want 0.8", r.Threshold, r.Met)
		}
		if want := 300.0 / 400; math.Abs(r.Coverage-want) > 1e-12 {
			t.Errorf("coverage %v, want %v", r.Coverage, want)
		}
		if want := 296.0 / 300; math.Abs(r.Precision-want) > 1e-12 {
			t.Errorf("precision %v, want %v", r.Precision, want)
		}
		if r.Lower < 0.95 || r.Lower >= r.Precision {
			t.Errorf("lower bound %v not in [0.95, %v)", r.Lower, r.Precision)
		}
		// A looser target goes lower; a stricter one higher.
		if r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{TargetPrecision: 0.85}); r.Threshold != 0.6 {
			t.Errorf("target 0.85: threshold %v, want 0.6", r.Threshold)
		}
		if r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{TargetPrecision: 0.98}); r.Threshold != 0.95 {
			t.Errorf("target 0.98: threshold %v, want 0.95", r.Threshold)
		}
	})
	t.Run("TiesAreNotSplit", func(t *testing.T) {
		// 100 at 0.7 of which 10 wrong: the right ones cannot be routed
		// without the wrong ones that share their score.
		preds, ex := join(mk(100, 0.9, true), mk(90, 0.7, true), mk(10, 0.7, false))
		if r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{}); r.Threshold != 0.9 {
			t.Fatalf("threshold %v, want 0.9", r.Threshold)
		}
	})
	t.Run("AmbiguousSamplesFallBack", func(t *testing.T) {
		preds, ex := scored(100, 0.9, true)
		for i := range preds {
			preds[i].Ranked[1].Prob = 0.85 // margin 0.05
		}
		if r := retrain.DeriveRouting(preds, ex, retrain.RoutingOptions{Ambiguity: 0.1}); r.Met {
			t.Fatalf("ambiguous samples routed: %+v", r)
		}
	})
}

func TestWilsonLower(t *testing.T) {
	for _, tt := range []struct {
		k, n int
		want float64
	}{
		{0, 0, 0},
		{10, 10, 10.0 / (10 + 1.6448536269514722*1.6448536269514722)}, // p̂ = 1: n/(n+z²)
		{95, 100, 0.9008},
		{50, 100, 0.4188},
	} {
		if got := retrain.WilsonLower(tt.k, tt.n, 1.6448536269514722); math.Abs(got-tt.want) > 5e-4 {
			t.Errorf("WilsonLower(%d, %d) = %.4f, want %.4f", tt.k, tt.n, got, tt.want)
		}
	}
}

func TestRoutingScore(t *testing.T) {
	for _, tt := range []struct {
		name string
		p    model.Prediction
		want float64
	}{
		{"single", model.Prediction{Label: "a", Confidence: 0.7, Labels: []string{"a"}, Ranked: []model.Score{{Label: "a", Prob: 0.7}, {Label: "b", Prob: 0.2}}}, 0.7},
		{"set: weakest member", model.Prediction{Label: "a", Confidence: 0.9, Labels: []string{"a", "b"}, Ranked: []model.Score{{Label: "a", Prob: 0.9}, {Label: "b", Prob: 0.6}, {Label: "c", Prob: 0.1}}}, 0.6},
		{"set: best left out", model.Prediction{Label: "a", Confidence: 0.9, Labels: []string{"a"}, Ranked: []model.Score{{Label: "a", Prob: 0.9}, {Label: "b", Prob: 0.45}}}, 0.55},
		{"no intent", model.Prediction{Label: "a", Confidence: 0.2, Labels: []string{}, Ranked: []model.Score{{Label: "a", Prob: 0.2}, {Label: "b", Prob: 0.1}}}, 0.8},
	} {
		if got := retrain.RoutingScore(tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: RoutingScore = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRouteAt(t *testing.T) {
	preds, ex := join(
		func() ([]model.Prediction, []model.Example) { return scored(8, 0.9, true) },
		func() ([]model.Prediction, []model.Example) { return scored(2, 0.9, false) },
		func() ([]model.Prediction, []model.Example) { return scored(10, 0.4, true) },
	)
	st := retrain.RouteAt(preds, ex, 0.5, -1)
	if st.Routed != 10 || st.Right != 8 || st.Coverage() != 0.5 || st.Precision() != 0.8 {
		t.Fatalf("RouteAt = %+v", st)
	}
	if st := retrain.RouteAt(preds, ex, 0.95, -1); st.Routed != 0 || !math.IsNaN(st.Precision()) {
		t.Fatalf("nothing routed: %+v, precision %v", st, st.Precision())
	}
}
