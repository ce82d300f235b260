package metrics

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"moodfood/retrain"
	"moodfood/retrain/report"
	"moodfood/trigger"
)

// RetrainCollector is the prometheus.Collector of the retraining loop. At
// each scrape it calls its load function (a report.Loader's Load fits: it
// caches the parsed history and the pending count) and derives the metrics
// from the Data.
type RetrainCollector struct {
	load    func(ctx context.Context) (*report.Data, error)
	timeout time.Duration

	runs, lastRun, lastDeploy, duration, score, samples, sources, pending, damaged, fails *prometheus.Desc
}

// NewRetrainCollector returns the collector of the retraining metrics:
//
//	moodfood_retrain_runs_total{outcome}                 runs in the history by outcome (skipped, failed, rejected, deployed, rolled_back)
//	moodfood_retrain_last_run_timestamp_seconds          when the last run ended (absent before the first)
//	moodfood_retrain_last_deploy_timestamp_seconds       when the last deploy happened (absent before the first)
//	moodfood_retrain_duration_seconds{stage}             the last trained run's duration: whole run (stage "run") and each stage
//	moodfood_deployed_model_score{metric}                the deployed version's held-out scores (accuracy, macro_f1, micro_f1, ece, ...)
//	moodfood_dataset_samples{kind}                       the last trained run's data: total, train, holdout, golden, base, old, new, duplicates, conflicts
//	moodfood_dataset_samples_by_source{source}           ... by label source (seed, human, llm, feedback, model)
//	moodfood_pending_samples                             new samples waiting for the next run (absent when unknown)
//	moodfood_retrain_history_damaged_lines               history lines that could not be read
//	moodfood_retrain_consecutive_failures                failed runs since the last one that did not fail (manual rollbacks skipped)
//
// load is called with a context bounded by 10 s.
func NewRetrainCollector(load func(ctx context.Context) (*report.Data, error)) *RetrainCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &RetrainCollector{load: load, timeout: 10 * time.Second,
		runs:       d("moodfood_retrain_runs_total", "Retraining runs in the history, by outcome.", "outcome"),
		lastRun:    d("moodfood_retrain_last_run_timestamp_seconds", "Unix time of the last retraining run."),
		lastDeploy: d("moodfood_retrain_last_deploy_timestamp_seconds", "Unix time of the last deploy by a retraining run."),
		duration:   d("moodfood_retrain_duration_seconds", "Duration of the last run that trained, whole (stage=run) and per stage.", "stage"),
		score:      d("moodfood_deployed_model_score", "Held-out scores of the deployed model version.", "metric"),
		samples:    d("moodfood_dataset_samples", "Samples of the last run that trained, by kind.", "kind"),
		sources:    d("moodfood_dataset_samples_by_source", "Samples read by the last run that trained, by label source.", "source"),
		pending:    d("moodfood_pending_samples", "New samples waiting for the next run."),
		damaged:    d("moodfood_retrain_history_damaged_lines", "Run history lines that could not be read."),
		fails:      d("moodfood_retrain_consecutive_failures", "Failed runs since the last run that did not fail (manual rollbacks not counted)."),
	}
}

// RegisterRetrain registers a RetrainCollector for load on reg.
func RegisterRetrain(reg prometheus.Registerer, load func(ctx context.Context) (*report.Data, error)) error {
	return reg.Register(NewRetrainCollector(load))
}

// Describe sends the descriptors of every metric.
func (c *RetrainCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.runs, c.lastRun, c.lastDeploy, c.duration, c.score, c.samples, c.sources, c.pending, c.damaged, c.fails} {
		ch <- d
	}
}

var runOutcomes = []trigger.Outcome{trigger.OutcomeSkipped, trigger.OutcomeFailed, trigger.OutcomeRejected,
	trigger.OutcomeDeployed, trigger.OutcomeRolledBack}

// Collect loads the data and sends the metrics; a failed load is reported
// as an invalid metric (the scrape shows the error).
func (c *RetrainCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	d, err := c.load(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.runs, err)
		return
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	counts := map[trigger.Outcome]int{}
	var last, lastDeploy, lastTrained *retrain.Record
	for i := range d.Runs {
		r := &d.Runs[i]
		counts[r.Status]++
		last = r
		if r.Status == trigger.OutcomeDeployed {
			lastDeploy = r
		}
		if !r.Manual && !r.DryRun && r.Status != trigger.OutcomeSkipped && r.DatasetQuality.TotalEntries > 0 {
			lastTrained = r
		}
	}
	for _, o := range runOutcomes {
		ch <- prometheus.MustNewConstMetric(c.runs, prometheus.CounterValue, float64(counts[o]), string(o))
	}
	if last != nil {
		gauge(c.lastRun, unixSeconds(last.Timestamp))
	}
	if lastDeploy != nil {
		gauge(c.lastDeploy, unixSeconds(lastDeploy.Timestamp))
	}
	if r := lastTrained; r != nil {
		gauge(c.duration, r.DurationSeconds, "run")
		for _, s := range r.Durations {
			gauge(c.duration, s.Seconds, s.Stage)
		}
		q := r.DatasetQuality
		for _, k := range []struct {
			kind string
			n    int
		}{{"total", q.TotalEntries}, {"train", q.TrainSamples}, {"holdout", q.HoldoutSamples}, {"golden", q.GoldenSamples},
			{"base", q.BaseSamples}, {"old", q.OldSamples}, {"new", q.NewSamples}, {"duplicates", q.Duplicates}, {"conflicts", q.Conflicts}} {
			gauge(c.samples, float64(k.n), k.kind)
		}
		for _, src := range slices.Sorted(maps.Keys(q.Sources)) {
			gauge(c.sources, float64(q.Sources[src]), src)
		}
	}
	if m := d.Deployed; m != nil {
		for _, k := range slices.Sorted(maps.Keys(m.Metrics)) {
			if isScore(k) {
				gauge(c.score, m.Metrics[k], k)
			}
		}
	}
	if d.Pending >= 0 {
		gauge(c.pending, float64(d.Pending))
	}
	gauge(c.damaged, float64(d.HistoryDamaged))
	fails := 0
	for i := len(d.Runs) - 1; i >= 0; i-- {
		if r := &d.Runs[i]; !r.Manual {
			if r.Status != trigger.OutcomeFailed {
				break
			}
			fails++
		}
	}
	gauge(c.fails, float64(fails))
}

// isScore keeps the manifest metrics that are scores (not the training
// shares or sample counts the Retrainer also stores there).
func isScore(k string) bool {
	for _, c := range k {
		if c == '/' {
			return false
		}
	}
	return k != "n" && k != "train_samples"
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
