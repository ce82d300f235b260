package serve

import (
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds, in seconds, of the buckets of
// Stats.Latency (the last bucket, above the last bound, is implicit).
var LatencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Histogram is a latency distribution: Counts[i] queries took at most
// Bounds[i] seconds and more than Bounds[i-1]; the last element of Counts,
// one more than Bounds, counts the slower ones. Sum is the total in
// seconds and Count the number of queries.
type Histogram struct {
	Bounds []float64 `json:"bounds"`
	Counts []uint64  `json:"counts"`
	Sum    float64   `json:"sum_seconds"`
	Count  uint64    `json:"count"`
}

// latencyHist is the live form of a Histogram.
type latencyHist struct {
	counts [14]atomic.Uint64 // len(LatencyBuckets)+1
	sumNS  atomic.Int64
	n      atomic.Uint64
}

func (h *latencyHist) observe(d time.Duration) {
	sec := d.Seconds()
	i := 0
	for i < len(LatencyBuckets) && sec > LatencyBuckets[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNS.Add(int64(d))
	h.n.Add(1)
}

func (h *latencyHist) snapshot() Histogram {
	out := Histogram{Bounds: LatencyBuckets, Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
		out.Count += out.Counts[i]
	}
	out.Sum = time.Duration(h.sumNS.Load()).Seconds()
	return out
}

// routeLatency holds one histogram per route.
type routeLatency struct {
	ml, llm, degraded latencyHist
}

func (r *routeLatency) observe(route Route, d time.Duration) {
	switch route {
	case RouteML:
		r.ml.observe(d)
	case RouteLLM:
		r.llm.observe(d)
	default:
		r.degraded.observe(d)
	}
}

func (r *routeLatency) snapshot() map[Route]Histogram {
	return map[Route]Histogram{RouteML: r.ml.snapshot(), RouteLLM: r.llm.snapshot(), RouteDegraded: r.degraded.snapshot()}
}
