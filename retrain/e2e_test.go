package retrain_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/trigger"
)

// writeSamples writes samples as JSONL to path.
func writeSamples(t testing.TB, path string, ss []dataset.Sample) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for _, s := range ss {
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// moodSamples makes a small, learnable single-label dataset.
func moodSamples(n int, src dataset.Source) []dataset.Sample {
	words := map[string][]string{
		"emotion_sad":   {"sad", "down", "blue", "crying", "unhappy", "gloomy"},
		"emotion_happy": {"happy", "great", "joyful", "excited", "cheerful", "glad"},
		"weather_rainy": {"rainy", "raining", "wet", "storm", "drizzle", "umbrella"},
		"goal_comfort":  {"comfort", "cozy", "warm", "soothing", "hearty", "homey"},
	}
	fill := []string{"i feel", "today is", "something for", "what to eat when", "food for", "i am so", "looking for", "any ideas"}
	var out []dataset.Sample
	for label, ws := range words {
		for i := range n {
			text := fmt.Sprintf("%s %s %s %d", fill[i%len(fill)], ws[i%len(ws)], ws[(i/len(ws))%len(ws)], i)
			out = append(out, dataset.Sample{Text: text, Labels: []string{label}, Source: src})
		}
	}
	return out
}

func TestOpen_EndToEnd(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	writeSamples(t, filepath.Join(root, "data", "intent_dataset.jsonl"), moodSamples(60, dataset.SourceSeed))
	var events []string
	r, err := retrain.Open(root, &retrain.Options{
		Canaries: []retrain.Canary{{Text: "i feel sad and blue", Intent: "emotion_sad"}},
		OnEvent: func(_ context.Context, e retrain.Event) {
			if e.Type != retrain.EventStageStarted && e.Type != retrain.EventStageFinished {
				events = append(events, e.Type)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Nothing deployed, nothing new: the default trigger still retrains
	// (never retrained before).
	start := time.Now()
	res, err := r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.Deployed {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	t.Logf("first run: %v, accuracy %.3f, reason %s", time.Since(start), res.Record.NewMetrics["accuracy"], res.Reason)

	// Same data again, forced: the candidate equals the deployed model,
	// byte for byte, and is not stored again.
	res2, err := r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !res2.Skipped || res2.OldVersion != res.NewVersion || !strings.Contains(res2.Reason, "byte-identical") {
		t.Fatalf("second run: %+v, %v", res2, err)
	}
	// Not forced: the default trigger skips (just retrained, nothing new).
	res3, err := r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res3.Skipped {
		t.Fatalf("third run: %+v, %v", res3, err)
	}
	st, err := r.Status(ctx)
	if err != nil || st.Deployed == nil || !st.Deployed.Intact || st.Deployed.Version != res.NewVersion ||
		st.LastSuccess == nil || st.LastRun == nil || st.LastRun.Status != trigger.OutcomeSkipped || len(st.Backups) != 1 || st.BackupBytes == 0 {
		t.Fatalf("status = %+v, %v", st, err)
	}
	h := readHistory(t, filepath.Join(root, "data", "logs", "retrain_history.jsonl"))
	if len(h) != 3 {
		t.Fatalf("%d history lines", len(h))
	}
	if b, err := os.ReadFile(filepath.Join(root, "data", "logs", "retrain.log")); err != nil || len(b) == 0 {
		t.Errorf("retrain.log: %v", err)
	}
	t.Logf("events: %v", events)
}

// readCLINC reads a CLINC150 split from ../shared/data/clinc150 beside the
// module root (the test runs in retrain/), skipping when it is absent.
func readCLINC(t testing.TB, name string, src dataset.Source) []dataset.Sample {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "clinc150", name))
	if err != nil {
		t.Skipf("CLINC150 not available: %v", err)
	}
	var out []dataset.Sample
	dec := json.NewDecoder(bytesReader(b))
	for dec.More() {
		var ex model.Example
		if err := dec.Decode(&ex); err != nil {
			t.Fatal(err)
		}
		out = append(out, dataset.Sample{Text: ex.Text, Labels: ex.Labels, Source: src})
	}
	return out
}

// TestOpen_CLINC150 runs the embedded default on CLINC150-sized data: 15,000
// base samples and 5,000 new ones (val and part of test, as llm samples).
// The first run deploys; the second, forced on the same data, trains the
// same model, so every gate check passes with zero deltas. The stage
// timings are logged; with RETRAIN_BUDGET set (a duration such as 5s, issue
// 6's target) a slower run fails the test.
func TestOpen_CLINC150(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("short or race: run without -race")
	}
	ctx := context.Background()
	root := t.TempDir()
	base := readCLINC(t, "train.jsonl", dataset.SourceSeed)
	newer := append(readCLINC(t, "val.jsonl", dataset.SourceLLM), readCLINC(t, "test.jsonl", dataset.SourceLLM)[:2000]...)
	writeSamples(t, filepath.Join(root, "data", "intent_dataset.jsonl"), base)
	writeSamples(t, filepath.Join(root, "data", "logs", "training_dataset.jsonl"), newer)
	var budget time.Duration
	if b := os.Getenv("RETRAIN_BUDGET"); b != "" {
		var err error
		if budget, err = time.ParseDuration(b); err != nil {
			t.Fatalf("RETRAIN_BUDGET: %v", err)
		}
	}
	r, err := retrain.Open(root, &retrain.Options{Gate: retrain.Gate{Bootstrap: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, opts := range []retrain.RunOptions{{}, {Force: true}} {
		start := time.Now()
		res, err := r.Run(ctx, opts)
		d := time.Since(start)
		// The forced second run trains the same bytes: not stored again.
		if err != nil || (i == 0 && !res.Deployed) || (i == 1 && !(res.Skipped && strings.Contains(res.Reason, "byte-identical"))) {
			t.Fatalf("run %d: %+v, %v", i, res, err)
		}
		if budget > 0 && d > budget {
			t.Errorf("run %d took %v, over RETRAIN_BUDGET %v", i, d, budget)
		}
		for _, c := range res.Record.Checks {
			if i == 1 && strings.HasSuffix(c.Name, "_delta") && c.Value != 0 {
				t.Errorf("same data, same model: %s = %v", c.Name, c.Value)
			}
		}
		var stages string
		for _, s := range res.Record.Durations {
			stages += fmt.Sprintf(" %s=%.2fs", s.Stage, s.Seconds)
		}
		q := res.Record.DatasetQuality
		t.Logf("CLINC run %d: %v total (%d samples, %d new, %d train, %d held out), accuracy %.4f macro-F1 %.4f, peak RSS %d MiB;%s",
			i, d.Round(time.Millisecond), q.TotalEntries, q.NewSamples, q.TrainSamples, q.HoldoutSamples,
			res.Record.NewMetrics["accuracy"], res.Record.NewMetrics["macro_f1"], res.Record.PeakMemoryBytes>>20, stages)
	}
	start := time.Now()
	st, err := r.Status(ctx)
	if err != nil || st.Deployed == nil || !st.Deployed.Intact {
		t.Fatalf("status: %+v %v", st, err)
	}
	t.Logf("CLINC status: %v", time.Since(start))
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
