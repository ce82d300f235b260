package retrain_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/retrain"
)

// flipped is the wrong label a poisoner gives each intent.
var flipped = map[string]string{"emotion_sad": "emotion_happy", "emotion_happy": "emotion_sad",
	"weather_rainy": "goal_comfort", "goal_comfort": "weather_rainy"}

// offset returns moodSamples-like samples whose texts differ from the
// base set's (a different number in each).
func offset(ss []dataset.Sample, by int, src dataset.Source) []dataset.Sample {
	out := make([]dataset.Sample, len(ss))
	for i, s := range ss {
		s.Text = fmt.Sprintf("%s x%d", s.Text, by+i)
		s.Source = src
		out[i] = s
	}
	return out
}

// TestRun_PoisoningFlood: 5,000 feedback samples with wrong labels (from
// one session, from a new session each, or without sessions) neither deploy
// a worse model nor stop the next honest month's deploy: the run that sees
// them finds that they pulled the candidate down and sets them aside.
func TestRun_PoisoningFlood(t *testing.T) {
	const flood = 5000
	floods := map[string]func(i int) string{
		"one session": func(int) string { return "attacker" },
		"sessions":    func(i int) string { return fmt.Sprintf("bot%d", i) },
		"anonymous":   func(int) string { return "" },
	}
	worse, stalled := 0, 0
	for name, session := range floods {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			root, r, best := deployedMoodRoot(t)

			training := filepath.Join(root, "data", "logs", "training_dataset.jsonl")
			var poison []dataset.Sample
			for i, s := range offset(moodSamples(flood/4, dataset.SourceFeedback), 10000, dataset.SourceFeedback) {
				s.Labels = []string{flipped[s.Labels[0]]}
				s.SessionID = session(i)
				poison = append(poison, s)
			}
			appendSamples(t, training, poison)
			// Honest users keep talking in the same month.
			appendSamples(t, training, offset(moodSamples(10, dataset.SourceLLM), 40000, dataset.SourceLLM))
			res, err := r.Run(ctx, retrain.RunOptions{Force: true})
			if err != nil {
				t.Fatalf("flooded run: %v", err)
			}
			if acc := res.Record.NewMetrics["golden_accuracy"]; res.Deployed && acc < best-0.01-1e-9 {
				worse++
				t.Errorf("the flooded run deployed a worse model: golden accuracy %.3f, was %.3f", acc, best)
			}
			if res.Deployed && res.Record.DatasetQuality.SetAside != flood {
				t.Errorf("set aside %d samples (%s), want the %d poisoned ones", res.Record.DatasetQuality.SetAside, res.Record.SetAside, flood)
			}
			t.Logf("flooded run: %s; set aside %d (%s); quarantined %d", res.Reason, res.Record.DatasetQuality.SetAside,
				res.Record.SetAside, res.Record.DatasetQuality.Quarantined)

			// The next month: honest samples only.
			appendSamples(t, training, offset(moodSamples(30, dataset.SourceLLM), 50000, dataset.SourceLLM))
			res, err = r.Run(ctx, retrain.RunOptions{})
			if err != nil || !res.Deployed {
				stalled++
				t.Fatalf("the honest month did not deploy: %s %v (checks %+v)", res.Reason, err, res.Record.Checks)
			}
			if acc := res.Record.NewMetrics["golden_accuracy"]; acc < best-0.01-1e-9 {
				worse++
				t.Errorf("the honest month deployed golden accuracy %.3f, best was %.3f", acc, best)
			}
		})
	}
	t.Logf(`REL {"test": "poisoning_floods", "runs": %d, "bad": %d, "floods": %d, "samples_each": %d, "deployed_worse": %d, "stalled": %d}`,
		len(floods), worse+stalled, len(floods), flood, worse, stalled)
}

// appendSamples appends samples to a JSONL file.
func appendSamples(t *testing.T, path string, ss []dataset.Sample) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var buf []byte
	for _, s := range ss {
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		buf = append(append(buf, b...), '\n')
	}
	if _, err := f.Write(buf); err != nil {
		t.Fatal(err)
	}
}

// TestRun_QuarantinesContradictedFeedback: feedback that labels a text
// against both the trusted samples of that text and a confident deployed
// model is quarantined (written to data/logs/quarantined_samples.jsonl,
// counted) instead of trained on, and stays out of later runs.
func TestRun_QuarantinesContradictedFeedback(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	base := moodSamples(60, dataset.SourceSeed)
	writeSamples(t, filepath.Join(root, "data", "intent_dataset.jsonl"), base)
	r, err := retrain.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if res, err := r.Run(ctx, retrain.RunOptions{}); err != nil || !res.Deployed {
		t.Fatalf("first run: %+v %v", res, err)
	}
	var bad []dataset.Sample
	for _, s := range base[:40] {
		s.Labels, s.Source, s.SessionID = []string{flipped[s.Labels[0]]}, dataset.SourceFeedback, "mallory"
		bad = append(bad, s)
	}
	training := filepath.Join(root, "data", "logs", "training_dataset.jsonl")
	appendSamples(t, training, bad)
	appendSamples(t, training, offset(moodSamples(5, dataset.SourceFeedback), 70000, dataset.SourceFeedback)) // fine feedback
	res, err := r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	q := res.Record.DatasetQuality.Quarantined
	if q < 30 || q > 40 || res.Record.DatasetQuality.NewSamples != 60-q {
		t.Fatalf("quarantined %d of the 40 contradicted samples, %d new samples left (want most quarantined, the 20 good ones kept)", q, res.Record.DatasetQuality.NewSamples)
	}
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", "quarantined_samples.jsonl"))
	if err != nil || bytes.Count(b, []byte("\n")) != q || !bytes.Contains(b, []byte(`"reason":"disagreement"`)) {
		t.Fatalf("quarantine file (%v):\n%.300s", err, b)
	}
	res, err = r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || res.Record.DatasetQuality.Quarantined < q {
		t.Fatalf("next run: %+v %v", res.Record.DatasetQuality, err)
	}
}

// TestRun_AppliesRetention: every run deletes exported samples and
// quarantined samples older than their retention (user text is not kept
// forever).
func TestRun_AppliesRetention(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeSamples(t, filepath.Join(root, "data", "intent_dataset.jsonl"), moodSamples(30, dataset.SourceSeed))
	old := offset(moodSamples(3, dataset.SourceLLM), 80000, dataset.SourceLLM)
	for i := range old {
		old[i].Timestamp = time.Now().AddDate(-2, 0, 0)
	}
	training := filepath.Join(root, "data", "logs", "training_dataset.jsonl")
	writeSamples(t, training, old)
	quarantine := filepath.Join(root, "data", "logs", "quarantined_samples.jsonl")
	if err := os.WriteFile(quarantine, []byte(`{"quarantined_at":"2020-01-01T00:00:00Z","retrain_id":"r","reason":"set_aside","sample":{"text":"old secret","labels":["x"]}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := retrain.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{training, quarantine} {
		b, err := os.ReadFile(p)
		if err != nil || len(b) != 0 {
			t.Errorf("%s after a run: %q, %v; want the old user text gone", filepath.Base(p), b, err)
		}
	}
}

// TestRun_TeacherLabelsNeverSetAside: when a run's new samples all come from
// the teacher (source llm) and the gate rejects the candidate, the run is
// rejected and keeps them for the next run: setting all of them aside would
// always "restore" the gate (the candidate is the deployed model's data
// again) and lose every one of them for good, which on a small, noisy
// evaluation set happened to honest months.
func TestRun_TeacherLabelsNeverSetAside(t *testing.T) {
	ctx := context.Background()
	root, r, _ := deployedMoodRoot(t)
	// A month of wrong teacher labels: the candidate is worse.
	var bad []dataset.Sample
	for _, s := range offset(moodSamples(400, dataset.SourceLLM), 10000, dataset.SourceLLM) {
		s.Labels = []string{flipped[s.Labels[0]]}
		bad = append(bad, s)
	}
	appendSamples(t, filepath.Join(root, "data", "logs", "training_dataset.jsonl"), bad)
	res, err := r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deployed || res.Record.DatasetQuality.SetAside != 0 {
		t.Fatalf("run deployed=%v, set aside %d (%s); want a rejection that sets nothing aside", res.Deployed,
			res.Record.DatasetQuality.SetAside, res.Record.SetAside)
	}
	if b, err := os.ReadFile(filepath.Join(root, "data", "logs", "quarantined_samples.jsonl")); err == nil && len(b) > 0 {
		t.Fatalf("quarantine file holds %d bytes, want none", len(b))
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending < len(bad) {
		t.Errorf("%d new samples pending after the rejection, want the %d kept", st.Pending, len(bad))
	}
}

// deployedMoodRoot returns a root with 60 seed samples per mood and a
// golden set, opened, after a first run deployed a model, and that model's
// golden accuracy.
func deployedMoodRoot(t *testing.T) (string, *retrain.Retrainer, float64) {
	t.Helper()
	root := t.TempDir()
	writeSamples(t, filepath.Join(root, "data", "intent_dataset.jsonl"), moodSamples(60, dataset.SourceSeed))
	writeSamples(t, filepath.Join(root, "data", "golden_dataset.jsonl"), offset(moodSamples(15, dataset.SourceHuman), 90000, dataset.SourceHuman))
	r, err := retrain.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	res, err := r.Run(context.Background(), retrain.RunOptions{})
	if err != nil || !res.Deployed {
		t.Fatalf("first run: %+v %v", res, err)
	}
	return root, r, res.Record.NewMetrics["golden_accuracy"]
}
