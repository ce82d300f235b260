package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/serve"
)

// monthLength is one simulated month.
const monthLength = 30 * 24 * time.Hour

// defaultFeedbackRate is the -feedback-rate default: the share of answers on
// which users say whether the answer was right (see Options.FeedbackRate).
const defaultFeedbackRate = 0.8

// DefaultSeedPerLabel is the -seed-per-label default: the seed set is the
// usual few-shot setting of intent-detection benchmarks, five examples per
// intent, a set a team writes by hand before launch. (With ten per intent
// the first model already answers about two thirds of CLINC150's traffic
// at its target precision; see RESULTS.md.)
const DefaultSeedPerLabel = 5

// maxWallSeconds is the wall-time budget of the default run (12 months of
// CLINC150 on a 2-core machine).
const maxWallSeconds = 180

// Options are the knobs of one simulation (the command's flags). Corpus is
// required; every other zero field means the default in its comment.
type Options struct {
	// Corpus is the data: Train is split into the seed set and the traffic,
	// Val (optional) gives the reference model its routing threshold, Test
	// scores every deployed model and is never used to choose anything.
	Corpus Corpus
	// SeedPerLabel is the number of seed examples per label, the curated
	// base set the first model is trained on (0 = DefaultSeedPerLabel).
	SeedPerLabel int
	// Months is the number of months of traffic; the rest of Train is spread
	// evenly over them (0 = 12).
	Months int
	// Noise is the probability that the fake LLM answers a wrong label.
	Noise float64
	// Seed makes every random choice (seed set, traffic order, LLM noise,
	// feedback) reproducible.
	Seed uint64
	// Threshold, when positive, is a routing threshold fixed for the whole
	// run, overriding the models' own. 0 (the default) lets every model
	// route with the threshold it earned at TargetPrecision on data it did
	// not train on (retrain.Config.TargetPrecision), as serve does.
	Threshold float64
	// TargetPrecision is the ML-route precision each model's threshold is
	// derived for (0 = retrain.DefaultTargetPrecision, 0.95).
	TargetPrecision float64
	// Ambiguity is the serving ambiguity margin (0 = serve.DefaultAmbiguity;
	// negative disables the check).
	Ambiguity float64
	// FeedbackRate is the share of answers (ML or LLM: users do not see the
	// route) on which the user gives feedback: positive when the answer was
	// right, negative when it was wrong.
	FeedbackRate float64
	// NoCorrections turns off what the simulated backend does by default
	// when a user rejects an ML answer: ask the LLM again through
	// serve.Server.Correct, so that the query the model got wrong becomes
	// an LLM-labelled sample (see Month.Corrections).
	NoCorrections bool
	// LLMLatency is the simulated time one LLM call takes; it shows up in the
	// serving latency (0 = 800ms, negative = none).
	LLMLatency time.Duration
	// Root is the retraining root directory; it must be empty or absent.
	// Empty means a temporary directory, removed at the end.
	Root string
	// Start is when month 1 starts (zero = 2025-01-01T00:00:00Z).
	Start time.Time
	// Force makes every monthly run forced; by default the trigger
	// (trigger.Default(): 30 days or 50 new samples) decides.
	Force bool
	// Trainer tunes the trainer, for the retrainer and the reference model
	// alike (nil = model defaults).
	Trainer *model.TrainerOptions
	// HoldoutFraction is the retrainer's held-out share for the gate
	// (0 = retrain's default, 0.2).
	HoldoutFraction float64
	// NoReference skips the reference model trained on all clean training
	// data.
	NoReference bool
	// Progress receives one line per stage (nil = none).
	Progress io.Writer
}

func (o *Options) setDefaults() {
	if o.SeedPerLabel <= 0 {
		o.SeedPerLabel = DefaultSeedPerLabel
	}
	if o.Months <= 0 {
		o.Months = 12
	}
	if o.TargetPrecision == 0 {
		o.TargetPrecision = retrain.DefaultTargetPrecision
	}
	if o.Ambiguity == 0 {
		o.Ambiguity = serve.DefaultAmbiguity
	}
	if o.LLMLatency == 0 {
		o.LLMLatency = 800 * time.Millisecond
	} else if o.LLMLatency < 0 {
		o.LLMLatency = 0
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

func (o *Options) validate() error {
	var errs []error
	if len(o.Corpus.Train) == 0 || len(o.Corpus.Test) == 0 {
		errs = append(errs, errors.New("simulate: the corpus needs train and test examples"))
	}
	if o.Noise < 0 || o.Noise > 1 {
		errs = append(errs, errors.New("simulate: noise must be in [0, 1]"))
	}
	if o.FeedbackRate < 0 || o.FeedbackRate > 1 {
		errs = append(errs, errors.New("simulate: feedback rate must be in [0, 1]"))
	}
	if o.Threshold < 0 || o.Threshold >= 1 {
		errs = append(errs, errors.New("simulate: threshold must be in [0, 1)"))
	}
	if o.TargetPrecision < 0 || o.TargetPrecision > 1 {
		errs = append(errs, errors.New("simulate: target precision must be in [0, 1]"))
	}
	return errors.Join(errs...)
}

// Month is one row of the report. Month 0 is the bootstrap: the run that
// trains the first model on the seed set; it has no traffic. For month k ≥ 1
// the traffic columns describe the queries of month k, served by the model in
// service at its start (the one Month k-1 ended with), and the run columns
// describe the retraining run at the end of month k. Accuracy and the Test*
// columns score the model in service after that run, the one that serves
// month k+1.
type Month struct {
	Month int `json:"month"`
	// Traffic of the month.
	Queries      int    `json:"queries"`
	ServedBy     string `json:"served_by,omitempty"`
	MLAnswers    int    `json:"ml_answers"`
	LLMCalls     int    `json:"llm_calls"`
	FallbackRate Num    `json:"fallback_rate"`
	// MLPrecision is the share of ML-route answers that were right (NaN,
	// written as null, when the ML route answered nothing).
	MLPrecision Num `json:"ml_precision"`
	// LLMWrong counts the fake LLM's deliberately wrong answers.
	LLMWrong int `json:"llm_wrong"`
	// FeedbackPositive and FeedbackNegative count the feedback given.
	FeedbackPositive int `json:"feedback_positive"`
	FeedbackNegative int `json:"feedback_negative"`
	// Corrections counts rejected ML answers the backend asked the LLM
	// about (serve.Server.Correct); they are included in LLMCalls but not
	// in FallbackRate, which is the share of queries routed to the LLM.
	Corrections int `json:"corrections"`
	// LatencyP50MS and LatencyMeanMS are serving latencies: real compute
	// plus the simulated LLM latency on fallbacks.
	LatencyP50MS  Num `json:"latency_p50_ms"`
	LatencyMeanMS Num `json:"latency_mean_ms"`

	// The retraining run at the end of the month.
	RunID    string `json:"retrain_id"`
	Gate     string `json:"gate"`
	Deployed bool   `json:"deployed"`
	Reason   string `json:"reason,omitempty"`
	// Exported is how many samples the run's export added; DatasetSize the
	// number of samples after merge and dedupe (train and held-out parts),
	// carried over from the month before when the trigger skipped the run.
	Exported    int `json:"exported"`
	DatasetSize int `json:"dataset_size"`
	// ExportedTotal and ExportedWrong count every exported sample so far and
	// those whose label is not the true one (the noise that got in).
	ExportedTotal int `json:"exported_total"`
	ExportedWrong int `json:"exported_wrong"`
	// GateAccuracy and GateDelta are the candidate's held-out accuracy and
	// its difference from the deployed model's, as the gate saw them.
	GateAccuracy Num `json:"gate_accuracy"`
	GateDelta    Num `json:"gate_delta"`
	RunSeconds   Num `json:"run_seconds"`

	// The model in service after the run, scored on the test set, and the
	// routing threshold it serves with (its own, or Options.Threshold).
	Version   string `json:"version"`
	Accuracy  Num    `json:"accuracy"`
	Threshold Num    `json:"threshold"`
	// TestFallbackRate and TestMLPrecision apply the routing rule to the test
	// set: the share it would send to the LLM, and the precision of the rest.
	TestFallbackRate Num `json:"test_fallback_rate"`
	TestMLPrecision  Num `json:"test_ml_precision"`
}

// Reference is the model trained on all clean training data with the same
// trainer, scored on the test set.
type Reference struct {
	TrainSamples int `json:"train_samples"`
	Accuracy     Num `json:"accuracy"`
	// Threshold is the routing threshold it earns on val (NaN without a
	// val set, or Options.Threshold when set); the Test* columns route with
	// it.
	Threshold        Num `json:"threshold"`
	TestFallbackRate Num `json:"test_fallback_rate"`
	TestMLPrecision  Num `json:"test_ml_precision"`
	TrainSeconds     Num `json:"train_seconds"`
}

// Summary is a whole simulation.
type Summary struct {
	// The settings that shaped the run.
	// Threshold is Options.Threshold (0: every model routes with its own);
	// TargetPrecision what the models' thresholds are derived for.
	Threshold       float64 `json:"threshold"`
	TargetPrecision float64 `json:"target_precision"`
	Ambiguity       float64 `json:"ambiguity"`
	Noise           float64 `json:"noise"`
	FeedbackRate    float64 `json:"feedback_rate"`
	Corrections     bool    `json:"corrections"`
	SeedSamples     int     `json:"seed_samples"`
	TrafficSamples  int     `json:"traffic_samples"`
	Labels          int     `json:"labels"`
	Root            string  `json:"root,omitempty"`

	Months    []Month    `json:"months"`
	Reference *Reference `json:"reference,omitempty"`
	// Targets are the promises, each with its verdict.
	Targets     []Target `json:"targets"`
	WallSeconds float64  `json:"wall_seconds"`
}

// Simulate runs one simulation (see the package comment) and returns its
// report. It fails on the first error of a store, the server or a
// retraining run; a rejected candidate is a result, not an error.
func Simulate(ctx context.Context, o Options) (*Summary, error) {
	t0 := time.Now()
	o.setDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	seedSet, traffic := splitSeed(o.Corpus.Train, o.SeedPerLabel, o.Seed)
	months := monthSlices(traffic, o.Months)
	sum := &Summary{
		Ambiguity: o.Ambiguity, Noise: o.Noise, FeedbackRate: o.FeedbackRate, Corrections: !o.NoCorrections,
		SeedSamples: len(seedSet), TrafficSamples: len(traffic), Labels: len(labelsOf(o.Corpus.Train)),
	}

	sum.Threshold, sum.TargetPrecision = o.Threshold, o.TargetPrecision
	if o.Threshold > 0 {
		fmt.Fprintf(o.Progress, "routing threshold %.2f for every model (-threshold)\n", o.Threshold)
	} else {
		fmt.Fprintf(o.Progress, "routing: every model with the threshold it earns for precision %.2f on its hold-out\n", o.TargetPrecision)
	}

	// The reference model: the same trainer on all the clean training data.
	if !o.NoReference {
		fmt.Fprintf(o.Progress, "reference: training on all %d clean training samples\n", len(o.Corpus.Train))
		ref, err := reference(ctx, o)
		if err != nil {
			return nil, err
		}
		sum.Reference = ref
	}

	root := o.Root
	if root == "" {
		dir, err := os.MkdirTemp("", "moodfood-simulate-")
		if err != nil {
			return nil, fmt.Errorf("simulate: %w", err)
		}
		defer os.RemoveAll(dir)
		root = dir
	} else {
		sum.Root = root
	}
	w, err := newWorld(ctx, root, o, seedSet)
	if err != nil {
		return nil, err
	}
	defer w.close()

	// Month 0: the bootstrap run trains the first model on the seed set.
	row, err := w.retrain(ctx, 0, true)
	if err != nil {
		return nil, err
	}
	nan := Num(math.NaN())
	row.FallbackRate, row.MLPrecision, row.LatencyP50MS, row.LatencyMeanMS = nan, nan, nan, nan
	sum.Months = append(sum.Months, row)
	fmt.Fprintf(o.Progress, "month  0: seed model %s, test accuracy %.4f\n", row.Version, row.Accuracy)

	for m := 1; m <= o.Months; m++ {
		row, err := w.serveMonth(ctx, m, months[m-1])
		if err != nil {
			return nil, err
		}
		run, err := w.retrain(ctx, m, o.Force)
		if err != nil {
			return nil, err
		}
		run.copyTraffic(row)
		sum.Months = append(sum.Months, run)
		fmt.Fprintf(o.Progress, "month %2d: fallback %.3f, ML precision %.3f, gate %s, test accuracy %.4f (%.1fs)\n",
			m, run.FallbackRate, run.MLPrecision, run.Gate, run.Accuracy, time.Since(t0).Seconds())
	}
	if err := w.close(); err != nil {
		return nil, err
	}
	sum.Targets = checkTargets(sum)
	sum.WallSeconds = time.Since(t0).Seconds()
	sum.Targets = append(sum.Targets, Target{Name: "wall time in seconds", Value: sum.WallSeconds, Op: "<=",
		Limit: maxWallSeconds, Met: sum.WallSeconds <= maxWallSeconds})
	return sum, nil
}

// copyTraffic copies the traffic columns of t into m.
func (m *Month) copyTraffic(t Month) {
	m.Queries, m.ServedBy, m.MLAnswers, m.LLMCalls = t.Queries, t.ServedBy, t.MLAnswers, t.LLMCalls
	m.FallbackRate, m.MLPrecision, m.LLMWrong = t.FallbackRate, t.MLPrecision, t.LLMWrong
	m.FeedbackPositive, m.FeedbackNegative, m.Corrections = t.FeedbackPositive, t.FeedbackNegative, t.Corrections
	m.LatencyP50MS, m.LatencyMeanMS = t.LatencyP50MS, t.LatencyMeanMS
}

// world is the running system: one root directory with the real retrainer
// (retrain.Open), a serving process's view of it (a dataset.FileStore whose
// Logger the server logs through, and the backup.FileStore it loads deployed
// versions from, as a separate serving process would), the server and the
// fake LLM, all on the simulated clock.
type world struct {
	o      Options
	root   string
	clock  *simClock
	llm    *fakeLLM
	r      *retrain.Retrainer
	qid    string // nonce of the next query id (serve.Options.NewQueryID)
	data   *dataset.FileStore
	log    *dataset.Logger
	models *backup.FileStore
	srv    *serve.Server

	lastSize int                 // dataset size after the last run that merged
	truth    map[string][]string // normalized text -> true labels
	scored   map[backup.Version]scores
	closed   bool
}

// newWorld lays out root (docs/ARCHITECTURE.md §2) with the seed set as the base
// dataset and opens every piece.
func newWorld(ctx context.Context, root string, o Options, seedSet []model.Example) (*world, error) {
	if ents, err := os.ReadDir(root); err == nil && len(ents) > 0 {
		return nil, fmt.Errorf("simulate: root %s is not empty; give a new directory", root)
	}
	if err := writeBase(filepath.Join(root, "data", "intent_dataset.jsonl"), seedSet, o.Start); err != nil {
		return nil, err
	}
	if len(o.Corpus.Val) > 0 {
		// val is the curated evaluation set a team keeps: the golden set,
		// which never trains, scores every candidate and, with the
		// held-out samples, gives each model its routing threshold.
		if err := writeSamples(filepath.Join(root, "data", "golden_dataset.jsonl"), o.Corpus.Val, dataset.SourceHuman, o.Start); err != nil {
			return nil, err
		}
	}
	w := &world{o: o, root: root, clock: newSimClock(o.Start), truth: map[string][]string{}, scored: map[backup.Version]scores{}}
	for _, e := range o.Corpus.Train {
		w.truth[dataset.Normalize(e.Text)] = e.Labels
	}
	w.llm = newFakeLLM(o.Corpus, o.Noise, o.Seed, o.LLMLatency, w.clock)
	dsOpts := &dataset.FileStoreOptions{
		Now: w.clock.Now,
		Logger: dataset.LoggerOptions{
			Now: w.clock.Now,
			// The simulation flushes before every run; rotation by age and
			// retention by age would act on simulated months and real
			// file times at once, so both are off here.
			RotateAge: -1,
			Retention: -1,
		},
	}
	var err error
	w.r, err = retrain.Open(root, &retrain.Options{
		Trainer:         o.Trainer,
		Dataset:         dsOpts,
		Models:          &backup.FileStoreOptions{Now: w.clock.Now},
		HoldoutFraction: o.HoldoutFraction,
		TargetPrecision: o.TargetPrecision,
		// The simulated backend corrects rejected answers unless told not to.
		CorrectionsLogged: !o.NoCorrections,
		Now:               w.clock.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if w.data, err = dataset.OpenFileStore(root, dsOpts); err != nil {
		w.close()
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if w.log, err = w.data.Logger(); err != nil {
		w.close()
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if w.models, err = backup.OpenFileStore(filepath.Join(root, "models"), &backup.FileStoreOptions{Now: w.clock.Now}); err != nil {
		w.close()
		return nil, fmt.Errorf("simulate: %w", err)
	}
	w.srv, err = serve.Open(ctx, w.models, &serve.Options{
		QueryLog:     w.log,
		LLM:          w.llm,
		LLMTimeout:   time.Minute, // the fake LLM answers at once; no real timeouts
		Threshold:    o.Threshold, // 0: each version's own
		Ambiguity:    o.Ambiguity,
		PollInterval: -1, // the simulation reloads after each run
		Now:          w.clock.Now,
		// Query ids are issued by the server; a fixed key and the
		// simulation's own nonces keep a run reproducible.
		NewQueryID: func() string { return w.qid },
		QueryIDKey: []byte("moodfood simulate"),
	})
	if err != nil {
		w.close()
		return nil, fmt.Errorf("simulate: %w", err)
	}
	return w, nil
}

// close closes every piece (once), returning the first error.
func (w *world) close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	var errs []error
	if w.srv != nil {
		errs = append(errs, w.srv.Close())
	}
	if w.data != nil {
		errs = append(errs, w.data.Close()) // closes w.log
	}
	if w.models != nil {
		errs = append(errs, w.models.Close())
	}
	if w.r != nil {
		errs = append(errs, w.r.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("simulate: close: %w", err)
	}
	return nil
}

// writeBase writes the seed set as the curated base dataset.
func writeBase(path string, seedSet []model.Example, at time.Time) error {
	return writeSamples(path, seedSet, dataset.SourceSeed, at)
}

// writeSamples writes examples as samples of source src.
func writeSamples(path string, examples []model.Example, src dataset.Source, at time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	bw := bufio.NewWriter(f)
	enc := json.NewEncoder(bw)
	for _, e := range examples {
		if err := enc.Encode(dataset.Sample{Text: e.Text, Labels: e.Labels, Source: src, Timestamp: at}); err != nil {
			f.Close()
			return fmt.Errorf("simulate: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("simulate: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("simulate: %w", err)
	}
	return f.Close()
}

// serveMonth sends month m's queries through the server, one by one, at
// evenly spaced simulated times, gives the feedback the simulated users give,
// and returns the traffic columns of the month.
func (w *world) serveMonth(ctx context.Context, m int, queries []model.Example) (Month, error) {
	row := Month{Month: m, Queries: len(queries)}
	start := w.o.Start.Add(time.Duration(m-1) * monthLength)
	step := monthLength / time.Duration(max(1, len(queries)))
	calls0, wrong0 := w.llm.calls.Load(), w.llm.wrong.Load()
	lat := make([]float64, 0, len(queries))
	var latSum float64
	mlRight := 0
	for i, q := range queries {
		w.clock.Start(start.Add(time.Duration(i) * step))
		qid := fmt.Sprintf("m%02d-q%06d", m, i)
		w.qid = qid
		a, err := w.srv.Classify(ctx, serve.Request{Text: q.Text})
		if err != nil {
			return row, fmt.Errorf("simulate: month %d: %w", m, err)
		}
		if row.ServedBy == "" {
			row.ServedBy = string(a.ModelVersion)
		}
		right := retrain.ExactMatch(a.Labels, q.Labels)
		if a.Route == serve.RouteML {
			row.MLAnswers++
			if right {
				mlRight++
			}
		}
		ms := float64(a.Latency) / float64(time.Millisecond)
		lat = append(lat, ms)
		latSum += ms
		switch {
		case hash01(w.o.Seed, "feedback", qid) >= w.o.FeedbackRate:
			// No feedback on this answer.
		case !right && a.Route == serve.RouteML && !w.o.NoCorrections:
			// The user said no to the model: the backend asks the LLM
			// (Correct records the negative feedback too).
			w.qid = qid + "-c" // the second answer's id
			c, err := w.srv.Correct(ctx, a.QueryID, q.Text)
			if err != nil {
				return row, fmt.Errorf("simulate: month %d: %w", m, err)
			}
			row.FeedbackNegative++
			row.Corrections++
			// The second answer gets feedback as often as any answer: a
			// wrong one (the LLM's noise) is then not exported.
			if hash01(w.o.Seed, "feedback-correction", qid) < w.o.FeedbackRate {
				ok := retrain.ExactMatch(c.Labels, q.Labels)
				if err := w.srv.Feedback(ctx, c.QueryID, ok); err != nil {
					return row, fmt.Errorf("simulate: month %d: %w", m, err)
				}
				if ok {
					row.FeedbackPositive++
				} else {
					row.FeedbackNegative++
				}
			}
		default:
			if err := w.srv.Feedback(ctx, a.QueryID, right); err != nil {
				return row, fmt.Errorf("simulate: month %d: %w", m, err)
			}
			if right {
				row.FeedbackPositive++
			} else {
				row.FeedbackNegative++
			}
		}
	}
	row.LLMCalls = int(w.llm.calls.Load() - calls0)
	row.LLMWrong = int(w.llm.wrong.Load() - wrong0)
	row.FallbackRate = Num(ratio(row.Queries-row.MLAnswers, row.Queries))
	row.MLPrecision = Num(ratio(mlRight, row.MLAnswers))
	row.LatencyP50MS = Num(percentile(lat, 50))
	row.LatencyMeanMS = Num(latSum / float64(max(1, len(lat))))
	return row, nil
}

// retrain runs the retrainer at the end of month m (the start of the
// simulation for m = 0) and scores the model in service afterwards.
func (w *world) retrain(ctx context.Context, m int, force bool) (Month, error) {
	row := Month{Month: m}
	w.clock.Freeze(w.o.Start.Add(time.Duration(m) * monthLength))
	if err := w.log.Flush(ctx); err != nil {
		return row, fmt.Errorf("simulate: month %d: flush query log: %w", m, err)
	}
	t := time.Now()
	res, err := w.r.Run(ctx, retrain.RunOptions{Force: force})
	row.RunSeconds = Num(time.Since(t).Seconds())
	if err != nil {
		return row, fmt.Errorf("simulate: month %d: %w", m, err)
	}
	q := res.Record.DatasetQuality
	row.RunID, row.Gate, row.Deployed, row.Reason = res.RunID, string(res.Outcome), res.Deployed, res.Reason
	row.Exported, row.DatasetSize = q.Exported, q.TotalEntries
	if res.Skipped { // no merge happened: the dataset is what it was
		row.DatasetSize = w.lastSize
	}
	w.lastSize = row.DatasetSize
	row.GateAccuracy, row.GateDelta = Num(res.Record.NewMetrics["accuracy"]), Num(q.AccuracyImprovement)
	if err := w.srv.Reload(ctx); err != nil {
		return row, fmt.Errorf("simulate: month %d: %w", m, err)
	}
	if row.ExportedTotal, row.ExportedWrong, err = w.exportedNoise(); err != nil {
		return row, err
	}
	v, err := w.models.Current(ctx)
	if err != nil {
		return row, fmt.Errorf("simulate: month %d: %w", m, err)
	}
	sc, err := w.score(ctx, v)
	if err != nil {
		return row, fmt.Errorf("simulate: month %d: %w", m, err)
	}
	row.Version = string(v)
	row.Accuracy, row.TestFallbackRate, row.TestMLPrecision = Num(sc.accuracy), Num(sc.fallback), Num(sc.precision)
	row.Threshold = Num(sc.threshold)
	return row, nil
}

// exportedNoise reads data/logs/training_dataset.jsonl and counts the
// exported samples and those whose label is not the true one.
func (w *world) exportedNoise() (total, wrong int, err error) {
	f, err := os.Open(filepath.Join(w.root, "data", "logs", "training_dataset.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("simulate: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var s dataset.Sample
		if json.Unmarshal(sc.Bytes(), &s) != nil {
			continue // a damaged line; the retrainer skips it too
		}
		total++
		if !retrain.ExactMatch(s.Labels, w.truth[dataset.Normalize(s.Text)]) {
			wrong++
		}
	}
	return total, wrong, sc.Err()
}

// scores are a model's test-set numbers with the threshold it routes with.
type scores struct {
	accuracy, fallback, precision, threshold float64
}

// score decodes version v from the model store and scores it on the test
// set with the threshold it serves with (cached: versions are immutable).
func (w *world) score(ctx context.Context, v backup.Version) (scores, error) {
	if sc, ok := w.scored[v]; ok {
		return sc, nil
	}
	man, body, err := w.models.Open(ctx, v)
	if err != nil {
		return scores{}, err
	}
	c, err := model.Decode(body)
	if cerr := body.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return scores{}, err
	}
	th := w.o.Threshold
	if th == 0 {
		th = serve.DefaultThreshold
		if t, ok := man.Metrics[retrain.MetricRoutingThreshold]; ok {
			th = t
		}
	}
	sc := score(c, w.o.Corpus.Test, th, w.o.Ambiguity)
	w.scored[v] = sc
	return sc, nil
}

// reference trains the reference model, the same trainer on all the clean
// training data, and scores it on test with the threshold it earns on val
// (data it did not train on).
func reference(ctx context.Context, o Options) (*Reference, error) {
	t := time.Now()
	c, err := model.NewTrainer(o.Trainer).Train(ctx, o.Corpus.Train, nil)
	if err != nil {
		return nil, fmt.Errorf("simulate: reference model: %w", err)
	}
	ref := &Reference{TrainSamples: len(o.Corpus.Train), TrainSeconds: Num(time.Since(t).Seconds()), Threshold: Num(o.Threshold)}
	if o.Threshold == 0 {
		ref.Threshold = Num(math.NaN())
		if len(o.Corpus.Val) > 0 {
			r := retrain.DeriveRouting(predictAll(c, o.Corpus.Val), o.Corpus.Val, retrain.RoutingOptions{TargetPrecision: o.TargetPrecision})
			ref.Threshold = Num(r.Threshold)
		}
	}
	sc := score(c, o.Corpus.Test, float64(ref.Threshold), o.Ambiguity)
	ref.Accuracy, ref.TestFallbackRate, ref.TestMLPrecision = Num(sc.accuracy), Num(sc.fallback), Num(sc.precision)
	return ref, nil
}

// score computes a predictor's accuracy on test and what the routing rule
// (threshold, ambiguity) does with it; a NaN threshold routes nothing.
func score(p model.Predictor, test []model.Example, threshold, ambiguity float64) scores {
	rep := model.Evaluate(p, test, nil)
	sc := scores{accuracy: rep.Accuracy, threshold: threshold, fallback: math.NaN(), precision: math.NaN()}
	if !math.IsNaN(threshold) {
		st := retrain.RouteAt(predictAll(p, test), test, threshold, ambiguity)
		sc.fallback, sc.precision = 1-st.Coverage(), st.Precision()
	}
	return sc
}

// predictAll predicts every example on every core.
func predictAll(p model.Predictor, data []model.Example) []model.Prediction {
	preds, err := model.PredictAll(context.Background(), p, data, 0)
	if err != nil {
		panic(err) // only a panicking model or a canceled context get here; neither happens
	}
	return preds
}

// ratio is a/b, or NaN when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
