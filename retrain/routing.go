package retrain

import (
	"math"
	"slices"
	"sort"

	"moodfood/model"
)

// Manifest metric keys of a version's routing: the threshold it earned and
// what it promised on the samples the threshold was derived from. Package
// serve reads MetricRoutingThreshold from the version it serves.
const (
	// MetricRoutingThreshold is the lowest RoutingScore at which the
	// version's ML-route precision reached the target with the bound.
	MetricRoutingThreshold = "routing_threshold"
	// MetricRoutingCoverage is the share of the evaluation samples routed
	// to the model at that threshold.
	MetricRoutingCoverage = "routing_coverage"
	// MetricRoutingPrecision is the observed precision of those samples.
	MetricRoutingPrecision = "routing_precision"
	// MetricRoutingLower is the lower confidence bound of that precision.
	MetricRoutingLower = "routing_precision_lower"
	// MetricRoutingTarget is the target precision the threshold was
	// derived for.
	MetricRoutingTarget = "routing_target_precision"
	// MetricRoutingSamples is the number of samples it was derived on.
	MetricRoutingSamples = "routing_samples"
)

// Defaults of RoutingOptions.
const (
	// DefaultTargetPrecision is the share of ML-route answers that must be
	// right.
	DefaultTargetPrecision = 0.95
	// DefaultRoutingDelta is the probability, over the draw of the
	// evaluation samples, that the derived threshold over-promises: the
	// bound is a one-sided 95% Wilson lower bound.
	DefaultRoutingDelta = 0.05
)

// RoutingOptions tunes DeriveRouting. The zero value means the defaults.
type RoutingOptions struct {
	// TargetPrecision is the precision the ML route must reach (0 =
	// DefaultTargetPrecision).
	TargetPrecision float64
	// Delta is the one-sided error probability of the precision bound (0 =
	// DefaultRoutingDelta).
	Delta float64
	// Ambiguity, when positive, routes a prediction whose Margin is below it
	// to the fallback whatever its score, as serve does with its Ambiguity
	// option; the threshold is derived among the others.
	Ambiguity float64
}

func (o RoutingOptions) withDefaults() RoutingOptions {
	if o.TargetPrecision <= 0 || o.TargetPrecision > 1 {
		o.TargetPrecision = DefaultTargetPrecision
	}
	if o.Delta <= 0 || o.Delta >= 1 {
		o.Delta = DefaultRoutingDelta
	}
	return o
}

// Routing is the threshold a model earned on samples it did not train on
// and what it promises there.
type Routing struct {
	// Threshold is the lowest RoutingScore at which the ML route's
	// precision bound reaches the target: predictions scoring at least
	// Threshold go to the model. 1 when no threshold does (Met false):
	// nearly everything then falls back.
	Threshold float64 `json:"threshold"`
	// Coverage is the share of the samples routed to the model at
	// Threshold; Precision is the share of those the model got right and
	// Lower its lower confidence bound.
	Coverage  float64 `json:"coverage"`
	Precision float64 `json:"precision"`
	Lower     float64 `json:"lower"`
	// Target is the target precision; Samples the number of samples.
	Target  float64 `json:"target"`
	Samples int     `json:"samples"`
	// Met says a threshold reached the target.
	Met bool `json:"met"`
}

// Metrics returns the routing as manifest metrics (the MetricRouting* keys).
func (r Routing) Metrics() map[string]float64 {
	return map[string]float64{
		MetricRoutingThreshold: r.Threshold,
		MetricRoutingCoverage:  r.Coverage,
		MetricRoutingPrecision: finite0(r.Precision),
		MetricRoutingLower:     r.Lower,
		MetricRoutingTarget:    r.Target,
		MetricRoutingSamples:   float64(r.Samples),
	}
}

// RoutingScore is the confidence a prediction is routed on: the
// probability of its weakest decision. For a single-label prediction that
// is its Confidence (the top probability, which is never below one minus
// the runner-up's). For a multi-label prediction it is the least of the
// probabilities of the predicted labels and one minus that of the best
// ranked label left out, so that a set is only as sure as its least sure
// member; an empty set (no intent) scores one minus the top probability.
func RoutingScore(p model.Prediction) float64 {
	if len(p.Labels) == 1 && p.Labels[0] == p.Label {
		// Single-label, or a one-label set: its own probability, capped by
		// the best label left out.
		s := p.Confidence
		for _, r := range p.Ranked {
			if r.Label != p.Label {
				return min(s, 1-r.Prob)
			}
		}
		return s
	}
	s := 1.0
	for _, r := range p.Ranked {
		if slices.Contains(p.Labels, r.Label) {
			s = min(s, r.Prob)
		} else {
			return min(s, 1-r.Prob)
		}
	}
	if len(p.Labels) == 0 && len(p.Ranked) == 0 {
		return 1 - p.Confidence
	}
	return s
}

// Margin is the gap between p's top label and the best ranked label outside
// p's predicted set, or p.Confidence when there is none: for a single-label
// prediction the margin to the runner-up (what an ambiguity threshold
// tests).
func Margin(p model.Prediction) float64 {
	for _, r := range p.Ranked {
		if r.Label == p.Label || slices.Contains(p.Labels, r.Label) {
			continue
		}
		return p.Confidence - r.Prob
	}
	return p.Confidence
}

// ExactMatch reports whether a predicted label set equals the true one
// (order ignored): the ML route's answer is right only when it is.
func ExactMatch(pred, truth []string) bool {
	if len(pred) != len(truth) {
		return false
	}
	for _, l := range truth {
		if !slices.Contains(pred, l) {
			return false
		}
	}
	return true
}

// DeriveRouting finds the lowest routing threshold at which the ML route is
// right often enough on labelled samples the model did not train on:
// preds[i] is the model's prediction for ex[i]. A sample is routed to the
// model when its RoutingScore is at least the threshold (and its Margin at
// least o.Ambiguity, when set); it is right when the predicted label set is
// exactly the true one.
//
// Every distinct score is a candidate threshold. At each, the routed
// samples' precision must have a one-sided Wilson lower bound (at
// confidence 1 − o.Delta) of at least o.TargetPrecision; the lowest
// threshold that passes wins. The bound is what keeps a small sample from
// over-promising: k right out of n passes only when
// n ≥ z²·p/(1−p) even at k = n (52 samples for 0.95 at δ = 0.05), and a
// handful of errors near the threshold pushes it up. Ties are never split:
// all samples with the threshold's score are routed together, as serve
// would route them.
func DeriveRouting(preds []model.Prediction, ex []model.Example, o RoutingOptions) Routing {
	o = o.withDefaults()
	out := Routing{Threshold: 1, Target: o.TargetPrecision, Samples: len(ex), Precision: math.NaN()}
	type item struct {
		s     float64
		right bool
	}
	items := make([]item, 0, len(ex))
	for i, e := range ex {
		p := preds[i]
		s := RoutingScore(p)
		if !isFinite(s) || (o.Ambiguity > 0 && Margin(p) < o.Ambiguity-1e-9) {
			continue
		}
		items = append(items, item{s, ExactMatch(p.Labels, e.Labels)})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].s > items[b].s })
	z := math.Sqrt2 * math.Erfinv(1-2*o.Delta)
	right := 0
	for i := 0; i < len(items); {
		j := i
		for j < len(items) && items[j].s == items[i].s {
			if items[j].right {
				right++
			}
			j++
		}
		i = j
		if lo := WilsonLower(right, i, z); lo >= o.TargetPrecision {
			out.Threshold, out.Lower, out.Met = items[i-1].s, lo, true
			out.Coverage = float64(i) / float64(max(1, len(ex)))
			out.Precision = float64(right) / float64(i)
		}
	}
	if !out.Met {
		// Nothing passes: report what routing at 1 would do.
		n, k := 0, 0
		for _, it := range items {
			if it.s >= 1 {
				n++
				if it.right {
					k++
				}
			}
		}
		out.Coverage = float64(n) / float64(max(1, len(ex)))
		if n > 0 {
			out.Precision = float64(k) / float64(n)
		}
		out.Lower = WilsonLower(k, n, z)
	}
	return out
}

// WilsonLower is the lower end of the Wilson score interval for k
// successes in n trials at normal quantile z (1.645 for a one-sided 95%
// bound); 0 when n is 0.
func WilsonLower(k, n int, z float64) float64 {
	if n <= 0 {
		return 0
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	center := p + z2/(2*nf)
	spread := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, (center-spread)/(1+z2/nf))
}

// RouteStats is what routing at one threshold does on labelled samples.
type RouteStats struct {
	// Routed samples went to the model; Right of them had exactly the
	// true label set.
	Routed, Right, Samples int
}

// Coverage is the share of samples routed to the model (NaN for none).
func (s RouteStats) Coverage() float64 { return ratio(s.Routed, s.Samples) }

// Precision is the share of routed samples the model got right (NaN when
// none was routed).
func (s RouteStats) Precision() float64 { return ratio(s.Right, s.Routed) }

// RouteAt applies a routing rule to predictions of labelled samples: a
// sample goes to the model when its RoutingScore is at least threshold and
// its Margin at least ambiguity (each check off when negative), as package
// serve routes, with the same rounding allowance of 1e-9.
func RouteAt(preds []model.Prediction, ex []model.Example, threshold, ambiguity float64) RouteStats {
	st := RouteStats{Samples: len(ex)}
	for i, e := range ex {
		p := preds[i]
		s := RoutingScore(p)
		if math.IsNaN(s) || s < threshold-1e-9 || Margin(p) < ambiguity-1e-9 {
			continue
		}
		st.Routed++
		if ExactMatch(p.Labels, e.Labels) {
			st.Right++
		}
	}
	return st
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
