package trigger

import (
	"math"
	"slices"
)

// JSDistance returns the Jensen-Shannon distance between two distributions
// given as label -> weight: the square root of the Jensen-Shannon divergence
// computed with base-2 logarithms, so it lies in [0, 1]. It is 0 for equal
// distributions and 1 for distributions with disjoint support, and it is
// symmetric (exactly: JSDistance(p, q) == JSDistance(q, p)).
//
// Weights need not sum to 1: each side is normalized. Negative, NaN and
// infinite weights count as 0. A side with no positive weight is empty: two
// empty sides are at distance 0, an empty and a non-empty side at distance 1.
func JSDistance(p, q map[string]float64) float64 {
	pn, qn := normalize(p), normalize(q)
	switch {
	case pn == nil && qn == nil:
		return 0
	case pn == nil || qn == nil:
		return 1
	}
	keys := make([]string, 0, len(pn)+len(qn))
	for k := range pn {
		keys = append(keys, k)
	}
	for k := range qn {
		if _, ok := pn[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys) // a fixed summation order makes the result deterministic
	var sum float64
	for _, k := range keys {
		a, b := pn[k], qn[k]
		m := (a + b) / 2
		sum += klTerm(a, m) + klTerm(b, m)
	}
	return math.Sqrt(min(max(sum/2, 0), 1))
}

// klTerm is x·log2(x/m), 0 when x is 0. x/m is at most 2 in exact arithmetic;
// the clamp guards against underflow of m.
func klTerm(x, m float64) float64 {
	if x <= 0 {
		return 0
	}
	if m <= 0 {
		return x
	}
	return x * math.Log2(min(x/m, 2))
}

// normalize returns the positive finite weights of w scaled to sum to 1, or
// nil if there are none. It scales by the largest weight first so the sum
// cannot overflow.
func normalize(w map[string]float64) map[string]float64 {
	keys := make([]string, 0, len(w))
	var top float64
	for k, v := range w {
		if v > 0 && !math.IsInf(v, 0) {
			keys = append(keys, k)
			top = max(top, v)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	slices.Sort(keys)
	var total float64
	for _, k := range keys {
		total += w[k] / top
	}
	out := make(map[string]float64, len(keys))
	for _, k := range keys {
		if v := w[k] / top / total; v > 0 {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
