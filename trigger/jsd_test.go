package trigger_test

import (
	"math"
	"testing"

	"moodfood/trigger"
)

func nan() float64 { return math.NaN() }

func TestJSDistance(t *testing.T) {
	// Hand computations, base 2, JSD = (KL(P||M) + KL(Q||M)) / 2, M = (P+Q)/2:
	//   {a:1} vs {a:.5,b:.5}: M = {.75,.25}; KL(P||M) = log2(4/3) = 0.415037;
	//     KL(Q||M) = .5·log2(2/3) + .5·log2(2) = 0.207519; JSD = 0.311278;
	//     distance = sqrt = 0.557923.
	//   {a:.5,b:.5} vs {a:.9,b:.1}: M = {.7,.3};
	//     KL(P||M) = .5·log2(5/7) + .5·log2(5/3) = 0.125743;
	//     KL(Q||M) = .9·log2(9/7) + .1·log2(1/3) = 0.167827;
	//     JSD = 0.146785; distance = 0.383136.
	tests := []struct {
		name string
		p, q map[string]float64
		want float64
	}{
		{"Equal", map[string]float64{"a": 0.3, "b": 0.7}, map[string]float64{"a": 0.3, "b": 0.7}, 0},
		{"Disjoint", map[string]float64{"a": 1}, map[string]float64{"b": 1}, 1},
		{"HalfOverlap", map[string]float64{"a": 1}, map[string]float64{"a": 0.5, "b": 0.5}, 0.557923},
		{"Skewed", map[string]float64{"a": 0.5, "b": 0.5}, map[string]float64{"a": 0.9, "b": 0.1}, 0.383136},
		{"Unnormalized", map[string]float64{"a": 5, "b": 5}, map[string]float64{"a": 90, "b": 10}, 0.383136},
		{"ZeroEntryIgnored", map[string]float64{"a": 1, "c": 0}, map[string]float64{"a": 0.5, "b": 0.5}, 0.557923},
		{"BadWeightsIgnored", map[string]float64{"a": 1, "x": -3, "y": math.NaN(), "z": math.Inf(1)}, map[string]float64{"a": 2}, 0},
		{"BothEmpty", nil, map[string]float64{"a": 0}, 0},
		{"OneEmpty", nil, map[string]float64{"a": 1}, 1},
		{"Huge", map[string]float64{"a": math.MaxFloat64, "b": math.MaxFloat64}, map[string]float64{"a": 1, "b": 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := trigger.JSDistance(tt.p, tt.q)
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("JSDistance = %.7f, want %.6f", got, tt.want)
			}
			if back := trigger.JSDistance(tt.q, tt.p); back != got {
				t.Errorf("not symmetric: %v vs %v", got, back)
			}
		})
	}
}

// FuzzJSDistance checks the metric's properties: in [0, 1], symmetric,
// zero on equal inputs, never NaN, whatever the weights.
func FuzzJSDistance(f *testing.F) {
	f.Add(0.5, 0.5, 0.0, 0.9, 0.1, 0.0)
	f.Add(1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
	f.Add(5e-324, 0.0, 1.0, 0.0, 1e308, 1e308)
	f.Add(-1.0, math.NaN(), math.Inf(1), 0.0, 0.0, 0.0)
	f.Fuzz(func(t *testing.T, a, b, c, x, y, z float64) {
		p := map[string]float64{"a": a, "b": b, "c": c}
		q := map[string]float64{"a": x, "b": y, "d": z}
		d := trigger.JSDistance(p, q)
		if !(d >= 0 && d <= 1) {
			t.Fatalf("JSDistance(%v, %v) = %v, outside [0, 1]", p, q, d)
		}
		if back := trigger.JSDistance(q, p); back != d {
			t.Fatalf("not symmetric: %v vs %v", d, back)
		}
		if self := trigger.JSDistance(p, p); self != 0 {
			t.Fatalf("JSDistance(p, p) = %v for %v", self, p)
		}
	})
}
