package retrain_test

import (
	"context"
	"strings"
	"testing"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/trigger"
)

// checkNamed returns the record's check called name.
func checkNamed(t *testing.T, rec retrain.Record, name string) retrain.Check {
	t.Helper()
	for _, c := range rec.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", name, rec.Checks)
	return retrain.Check{}
}

// manifestOf returns the manifest of version v.
func manifestOf(t *testing.T, ms retrain.ModelStore, v backup.Version) backup.Manifest {
	t.Helper()
	m, rc, err := ms.Open(context.Background(), v)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	return m
}

func TestRun_RoutingThreshold(t *testing.T) {
	ctx := context.Background()
	// The fake env's hold-out has about 22 samples: a target of 0.8 is
	// one they can show.
	target := func(c *retrain.Config) { c.TargetPrecision = 0.8 }

	t.Run("StoredWithTheVersion", func(t *testing.T) {
		e := newEnv(t, target)
		e.trainer.Mode = "unsurewrong:5" // wrong at 0.2, right at 0.9
		res, err := e.r.Run(ctx, retrain.RunOptions{})
		if err != nil || !res.Deployed {
			t.Fatalf("Run = %+v, %v", res, err)
		}
		m := manifestOf(t, e.models, res.NewVersion)
		if got := m.Metrics[retrain.MetricRoutingThreshold]; got != 0.9 {
			t.Errorf("manifest threshold %v, want 0.9 (the right answers' confidence)", got)
		}
		if got := m.Metrics[retrain.MetricRoutingTarget]; got != 0.8 {
			t.Errorf("manifest target %v, want 0.8", got)
		}
		if res.Record.NewMetrics[retrain.MetricRoutingThreshold] != 0.9 || res.Record.NewMetrics[retrain.MetricRoutingCoverage] <= 0 {
			t.Errorf("record metrics %v lack the routing", res.Record.NewMetrics)
		}
		if h := e.history(t); h[len(h)-1].NewMetrics[retrain.MetricRoutingThreshold] != 0.9 {
			t.Errorf("history line lacks the threshold: %v", h[len(h)-1].NewMetrics)
		}
	})

	t.Run("CoverageDropRejects", func(t *testing.T) {
		e := newEnv(t, target)
		e.trainer.Mode = "unsurewrong:5"
		if res, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil || !res.Deployed {
			t.Fatalf("setup: %+v, %v", res, err)
		}
		v0, _ := deployedSum(t, e.models)
		// Same answers, so the same accuracy and F1, but the wrong ones
		// are the most confident: no threshold reaches the target.
		e.trainer.Mode = "surewrong:5"
		res, err := e.r.Run(ctx, retrain.RunOptions{Force: true})
		if err != nil || res.Outcome != trigger.OutcomeRejected {
			t.Fatalf("Run = %+v, %v; want rejected", res, err)
		}
		for _, name := range []string{"accuracy_delta", "macro_f1_delta"} {
			if c := checkNamed(t, res.Record, name); !c.Passed || c.Value != 0 {
				t.Errorf("%s = %+v; the answers are the same", name, c)
			}
		}
		c := checkNamed(t, res.Record, "coverage_at_target_delta")
		if c.Passed || c.Threshold != -0.05 || c.Op != ">=" || c.Value >= -0.5 {
			t.Errorf("coverage check %+v; want a failed drop of most of the coverage against -0.05", c)
		}
		if !strings.Contains(c.Detail, "target precision 0.80") || !strings.Contains(c.Detail, "no threshold reaches") {
			t.Errorf("coverage detail %q", c.Detail)
		}
		if !strings.Contains(res.Reason, "coverage_at_target_delta") {
			t.Errorf("reason %q does not name the coverage check", res.Reason)
		}
		if v1, _ := deployedSum(t, e.models); v1 != v0 {
			t.Errorf("deployed %s -> %s after a rejection", v0, v1)
		}
		// The check is configurable: off, the candidate passes.
		e.r2(t, func(c *retrain.Config) { target(c); c.Gate.MaxCoverageDrop = -1 })
		if res, err := e.r.Run(ctx, retrain.RunOptions{Force: true}); err != nil || !res.Deployed {
			t.Fatalf("with the coverage check off: %+v, %v", res, err)
		}
	})

	t.Run("SelfConfirmedSamplesDoNotCount", func(t *testing.T) {
		// Exported samples that are the model's own confirmed answers
		// (source feedback) keep only its right answers, so they cannot
		// vouch for its precision: the threshold rests on the rest.
		e := newEnv(t, target)
		for i := range e.data.new {
			e.data.new[i].Source = dataset.SourceFeedback
		}
		res, err := e.r.Run(ctx, retrain.RunOptions{})
		if err != nil || !res.Deployed {
			t.Fatalf("Run = %+v, %v", res, err)
		}
		seedHeld := 0
		for _, s := range e.data.base {
			if model.InHoldout(dataset.Normalize(s.Text), 0.2) {
				seedHeld++
			}
		}
		held := res.Record.DatasetQuality.HoldoutSamples
		if got := res.Record.NewMetrics[retrain.MetricRoutingSamples]; int(got) != seedHeld || seedHeld == held {
			t.Fatalf("routing rests on %v samples; want the %d seed samples of the %d held out", got, seedHeld, held)
		}
	})

	t.Run("ConfirmedSamplesCountWithCorrections", func(t *testing.T) {
		// With rejected answers corrected, confirmed answers are routing
		// samples too (the model's own unconfirmed ones never are); the
		// refit carries the candidate's threshold when it rests on more
		// samples than the golden set.
		e := newEnv(t, func(c *retrain.Config) { target(c); c.CorrectionsLogged = true; c.NoRefit = false })
		e.data.golden = samples(2, dataset.SourceHuman, "happy", "sad", "hungry")
		for i := range e.data.new {
			e.data.new[i].Source = []dataset.Source{dataset.SourceFeedback, dataset.SourceModel}[i%2]
		}
		res, err := e.r.Run(ctx, retrain.RunOptions{})
		if err != nil || !res.Deployed {
			t.Fatalf("Run = %+v, %v", res, err)
		}
		want := len(e.data.golden)
		for _, s := range append(append([]dataset.Sample(nil), e.data.base...), e.data.new...) {
			if s.Source != dataset.SourceModel && model.InHoldout(dataset.Normalize(s.Text), 0.2) {
				want++
			}
		}
		if got := res.Record.NewMetrics[retrain.MetricRoutingSamples]; int(got) != want {
			t.Fatalf("routing rests on %v samples; want %d (held-out seed and feedback samples, and the golden set)", got, want)
		}
		if rf := res.Record.Refit; rf == nil || rf.ThresholdFrom != "candidate" {
			t.Errorf("refit %+v; want the candidate's threshold, earned on more samples than the golden set's %d", rf, len(e.data.golden))
		}
	})
}

func TestRun_Refit(t *testing.T) {
	ctx := context.Background()
	refitOn := func(c *retrain.Config) { c.NoRefit = false; c.TargetPrecision = 0.8 }

	e := newEnv(t, refitOn)
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.Deployed {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	q := res.Record.DatasetQuality
	rf := res.Record.Refit
	if rf == nil || !rf.Deployed || rf.Samples != q.TrainSamples+q.HoldoutSamples || rf.Error != "" {
		t.Fatalf("refit record %+v; want deployed, on %d+%d samples", rf, q.TrainSamples, q.HoldoutSamples)
	}
	if rf.Threshold != res.Record.NewMetrics[retrain.MetricRoutingThreshold] || rf.ThresholdFrom != "candidate" {
		t.Errorf("refit threshold %v, candidate's %v", rf.Threshold, res.Record.NewMetrics[retrain.MetricRoutingThreshold])
	}
	// Two trainings: the candidate and the refit; the refit saw every
	// sample (the fake's Known labels come from its data).
	if e.trainer.calls != 2 {
		t.Errorf("trainer called %d times, want 2", e.trainer.calls)
	}
	m := manifestOf(t, e.models, res.NewVersion)
	if m.Metrics[retrain.MetricRefit] != 1 || m.Metrics["train_samples"] != float64(rf.Samples) {
		t.Errorf("manifest metrics %v; want refit 1 and train_samples %d", m.Metrics, rf.Samples)
	}
	if m.Metrics["accuracy"] != res.Record.NewMetrics["accuracy"] || m.Metrics[retrain.MetricRoutingThreshold] != rf.Threshold {
		t.Errorf("manifest carries %v, want the gated candidate's accuracy and threshold", m.Metrics)
	}
	h := e.history(t)
	if last := h[len(h)-1]; last.Refit == nil || last.Refit.Samples != rf.Samples || last.NewMetrics["accuracy"] != res.Record.NewMetrics["accuracy"] {
		t.Errorf("history line: refit %+v, metrics %v", last.Refit, last.NewMetrics)
	}
	stages := ""
	for _, d := range res.Record.Durations {
		stages += d.Stage + " "
	}
	if !strings.Contains(stages, "gate refit save") {
		t.Errorf("stages %q lack refit between gate and save", stages)
	}

	// The next run compares the candidate with the deployed version's twin
	// (the same trainer on the earlier samples' training side), not with
	// a model that trained on the hold-out.
	e.data.new = append(e.data.new, samples(5, "llm", "happy", "sad", "hungry")...)
	res, err = e.r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !res.Deployed {
		t.Fatalf("second Run = %+v, %v", res, err)
	}
	if e.trainer.calls != 5 {
		t.Errorf("trainer called %d times over two runs, want 5 (candidate, refit; candidate, twin, refit)", e.trainer.calls)
	}
	if d := checkNamed(t, res.Record, "coverage_at_target_delta").Detail; !strings.Contains(d, "twin") || !strings.Contains(d, "match its dataset fingerprint") {
		t.Errorf("coverage detail %q does not say the twin reproduces the deployed candidate", d)
	}
}

func TestRun_RefitFailsItsSanityCheck(t *testing.T) {
	// A refit model that scores below the gated candidate on the
	// held-out samples (which it trained on) is broken: it is not
	// deployed, the gated candidate is, and the record says why.
	ctx := context.Background()
	e := newEnv(t, func(c *retrain.Config) { c.NoRefit = false; c.TargetPrecision = 0.8 })
	tr := &refitBreaker{fakeTrainer: e.trainer}
	e.r2(t, func(c *retrain.Config) { c.NoRefit, c.TargetPrecision, c.Trainer = false, 0.8, tr })
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.Deployed {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	rf := res.Record.Refit
	if rf == nil || rf.Deployed || !strings.Contains(rf.Error, "scores below the gated candidate") || rf.HoldoutAccuracy >= rf.CandidateAccuracy {
		t.Fatalf("refit record %+v; want not deployed, the sanity check's error", rf)
	}
	if m := manifestOf(t, e.models, res.NewVersion); m.Metrics[retrain.MetricRefit] == 1 {
		t.Errorf("the refit was stored: %v", m.Metrics)
	}
	if len(res.Record.Warnings) == 0 || !strings.Contains(strings.Join(res.Record.Warnings, " "), "deploying the gated candidate") {
		t.Errorf("warnings %q", res.Record.Warnings)
	}
}

// refitBreaker trains fakeTrainer's model, but a broken one on its second
// call (the refit).
type refitBreaker struct {
	*fakeTrainer
	n int
}

func (b *refitBreaker) Train(ctx context.Context, data []model.Example, progress func(model.Progress)) (retrain.Classifier, error) {
	b.n++
	c, err := b.fakeTrainer.Train(ctx, data, progress)
	if err == nil && b.n == 2 {
		c.(*ruleClassifier).Mode = "const:sad"
	}
	return c, err
}

func TestRun_RefitEarnsItsThresholdOnGolden(t *testing.T) {
	// The golden set never trains, so the refit model earns its own
	// threshold there; without one it carries the candidate's.
	ctx := context.Background()
	e := newEnv(t, func(c *retrain.Config) { c.NoRefit, c.TargetPrecision = false, 0.8 })
	e.data.golden = samples(40, dataset.SourceHuman, "happy", "sad", "hungry")
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.Deployed {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	rf := res.Record.Refit
	if rf == nil || rf.ThresholdFrom != "golden set" {
		t.Fatalf("refit %+v; want its threshold from the golden set", rf)
	}
	m := manifestOf(t, e.models, res.NewVersion)
	if got := m.Metrics[retrain.MetricRoutingSamples]; got != 120 {
		t.Errorf("manifest routing rests on %v samples, want the 120 golden ones", got)
	}
	if got := m.Metrics[retrain.MetricRoutingCoverage]; got != 1 {
		t.Errorf("manifest routing coverage %v, want 1", got)
	}
	// The candidate's routing, on the held-out and golden samples, stays
	// in the record.
	if got := res.Record.NewMetrics[retrain.MetricRoutingSamples]; got <= 120 {
		t.Errorf("candidate routing rests on %v samples, want the held-out ones and the golden ones", got)
	}
}
