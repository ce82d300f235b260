package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"moodfood/dataset"
	"moodfood/retrain/serve"
)

// ServingSource is where the serving collector reads, at each scrape.
type ServingSource struct {
	// Stats returns the serving counters (serve.Server.Stats); required.
	Stats func() serve.Stats
	// QueryLog returns the query logger's counters (dataset.Logger.Stats);
	// nil when there is none. Its Lost count (records accepted but not
	// written) is reported as query-log drops with reason write_failed.
	QueryLog func() dataset.LoggerStats
}

// ServingCollector is the prometheus.Collector of a serving process. It
// keeps no state: every scrape reads ServingSource.
type ServingCollector struct {
	src ServingSource

	requests, duration, llm, feedback, corrections, info, threshold, reloads, dropped *prometheus.Desc
	canaryReq, canaryFb, canaryFrac                                                   *prometheus.Desc
	shadowQ, shadowDis, shadowCmp, shadowAgree                                        *prometheus.Desc
}

// NewServingCollector returns the collector of the serving metrics:
//
//	moodfood_classify_requests_total{route}          queries answered, by route (ml, llm, ml_degraded)
//	moodfood_classify_duration_seconds{route}        histogram of the answer latency (serve.LatencyBuckets)
//	moodfood_llm_calls_total{outcome}                LLM fallback calls: answered, error, timeout
//	moodfood_feedback_total{positive}                user feedback received
//	moodfood_corrections_total                       rejected ML answers asked again of the LLM (serve.Server.Correct)
//	moodfood_model_info{version}                     1 for the version serving
//	moodfood_routing_threshold{version}              the confidence below which it asks the LLM (serve.Stats.Threshold)
//	moodfood_model_reloads_total{result}             model swaps (ok) and refused versions (refused)
//	moodfood_query_log_dropped_total{reason}         queries not logged: refused (queue full, too large) or write_failed
//	moodfood_canary_requests_total{arm,version,route}  queries per canary arm (canary, control)
//	moodfood_canary_feedback_total{arm,version,positive}
//	moodfood_canary_fraction{version}                share of traffic the canary gets
//	moodfood_shadow_queries_total{version}           queries the shadow model predicted on
//	moodfood_shadow_disagreements_total{version}     ... where it disagreed with the serving model
//	moodfood_shadow_compared_total{version}          ... that the LLM also labelled
//	moodfood_shadow_agreed_total{version,model}      ... where the shadow's or the serving model's top label was the LLM's
//
// Canary and shadow series exist while one runs; their counts start at zero
// with it.
func NewServingCollector(src ServingSource) *ServingCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &ServingCollector{src: src,
		requests:    d("moodfood_classify_requests_total", "Queries answered, by route.", "route"),
		duration:    d("moodfood_classify_duration_seconds", "Time to answer a query, by route.", "route"),
		llm:         d("moodfood_llm_calls_total", "LLM fallback calls by outcome.", "outcome"),
		feedback:    d("moodfood_feedback_total", "User feedback received.", "positive"),
		corrections: d("moodfood_corrections_total", "Rejected ML answers asked again of the LLM (serve.Server.Correct)."),
		info:        d("moodfood_model_info", "The model version serving (value 1).", "version"),
		threshold:   d("moodfood_routing_threshold", "Confidence below which the serving version asks the LLM.", "version"),
		reloads:     d("moodfood_model_reloads_total", "Model swaps (ok) and versions refused (refused).", "result"),
		dropped:     d("moodfood_query_log_dropped_total", "Queries that did not reach the query log.", "reason"),
		canaryReq:   d("moodfood_canary_requests_total", "Queries answered per canary arm.", "arm", "version", "route"),
		canaryFb:    d("moodfood_canary_feedback_total", "Feedback per canary arm.", "arm", "version", "positive"),
		canaryFrac:  d("moodfood_canary_fraction", "Share of traffic routed to the canary.", "version"),
		shadowQ:     d("moodfood_shadow_queries_total", "Queries the shadow model predicted on.", "version"),
		shadowDis:   d("moodfood_shadow_disagreements_total", "Shadow predictions that disagreed with the serving model.", "version"),
		shadowCmp:   d("moodfood_shadow_compared_total", "Shadowed queries the LLM also labelled.", "version"),
		shadowAgree: d("moodfood_shadow_agreed_total", "Compared queries whose top label was among the LLM's, per model.", "version", "model"),
	}
}

// RegisterServing registers a ServingCollector for src on reg.
func RegisterServing(reg prometheus.Registerer, src ServingSource) error {
	return reg.Register(NewServingCollector(src))
}

// Describe sends the descriptors of every metric.
func (c *ServingCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.requests, c.duration, c.llm, c.feedback, c.corrections, c.info, c.threshold, c.reloads, c.dropped,
		c.canaryReq, c.canaryFb, c.canaryFrac, c.shadowQ, c.shadowDis, c.shadowCmp, c.shadowAgree} {
		ch <- d
	}
}

var routes = []serve.Route{serve.RouteML, serve.RouteLLM, serve.RouteDegraded}

func routeCount(c serve.Counts, r serve.Route) int64 {
	switch r {
	case serve.RouteML:
		return c.ML
	case serve.RouteLLM:
		return c.LLM
	default:
		return c.Degraded
	}
}

// Collect reads the source and sends the metrics.
func (c *ServingCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	var all serve.Counts
	for _, v := range st.Versions {
		all.ML += v.ML
		all.LLM += v.LLM
		all.Degraded += v.Degraded
		all.Positive += v.Positive
		all.Negative += v.Negative
	}
	for _, r := range routes {
		counter(c.requests, routeCount(all, r), string(r))
		h := st.Latency[r]
		buckets := make(map[float64]uint64, len(h.Bounds))
		var cum uint64
		for i, b := range h.Bounds {
			cum += h.Counts[i]
			buckets[b] = cum
		}
		if len(h.Bounds) == 0 { // a Stats without latency: empty buckets
			for _, b := range serve.LatencyBuckets {
				buckets[b] = 0
			}
		}
		ch <- prometheus.MustNewConstHistogram(c.duration, h.Count, h.Sum, buckets, string(r))
	}
	counter(c.llm, all.LLM, "answered")
	counter(c.llm, st.LLMErrors, "error")
	counter(c.llm, st.LLMTimeouts, "timeout")
	counter(c.feedback, all.Positive, "true")
	counter(c.feedback, all.Negative, "false")
	counter(c.corrections, st.Corrections)
	if st.Deployed != "" {
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, string(st.Deployed))
		ch <- prometheus.MustNewConstMetric(c.threshold, prometheus.GaugeValue, st.Threshold, string(st.Deployed))
	}
	counter(c.reloads, st.Reloads, "ok")
	counter(c.reloads, st.Refused, "refused")
	counter(c.dropped, st.LogErrors, "refused")
	if c.src.QueryLog != nil {
		counter(c.dropped, int64(c.src.QueryLog().Lost), "write_failed")
	}
	if cs := st.Canary; cs != nil {
		for _, arm := range []struct {
			name    string
			version string
			n       serve.Counts
		}{{"canary", string(cs.Version), cs.Canary}, {"control", string(cs.ControlVersion), cs.Control}} {
			for _, r := range routes {
				counter(c.canaryReq, routeCount(arm.n, r), arm.name, arm.version, string(r))
			}
			counter(c.canaryFb, arm.n.Positive, arm.name, arm.version, "true")
			counter(c.canaryFb, arm.n.Negative, arm.name, arm.version, "false")
		}
		ch <- prometheus.MustNewConstMetric(c.canaryFrac, prometheus.GaugeValue, cs.Fraction, string(cs.Version))
	}
	if sh := st.Shadow; sh != nil {
		v := string(sh.Version)
		counter(c.shadowQ, sh.Queries, v)
		counter(c.shadowDis, sh.Disagreements, v)
		counter(c.shadowCmp, sh.Compared, v)
		counter(c.shadowAgree, sh.Agreed, v, "shadow")
		counter(c.shadowAgree, sh.ServingAgreed, v, "serving")
	}
}
