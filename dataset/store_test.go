package dataset_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"moodfood/dataset"
)

// datasetStore is retrain.DatasetStore's method set, asserted locally so the
// test does not import retrain.
type datasetStore interface {
	Snapshot(ctx context.Context) (dataset.Snapshot, error)
	Commit(ctx context.Context, m dataset.Mark) error
	Pending(ctx context.Context) (int, error)
}

var (
	_ datasetStore = (*dataset.FileStore)(nil)
	_ datasetStore = (*dataset.MemStore)(nil)
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func openStore(t testing.TB, opts *dataset.FileStoreOptions) *dataset.FileStore {
	t.Helper()
	s, err := dataset.OpenFileStore(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func writeLines(t testing.TB, path string, v ...any) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o700)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, x := range v {
		b, _ := json.Marshal(x)
		f.Write(append(b, '\n'))
	}
}

func logAll(t testing.TB, s *dataset.FileStore, qs ...dataset.Query) {
	t.Helper()
	l, err := s.Logger()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if err := l.Log(q); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func llmQuery(id, text string, labels ...string) dataset.Query {
	return dataset.Query{QueryID: id, Timestamp: t0, Text: text, Method: dataset.MethodLLM,
		PrimaryIntent: "goal_comfort", Confidence: 0.4, LLMLabels: labels, LLMConfidence: 0.9}
}

func TestFileStore_SnapshotCommitPending(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, nil)
	writeLines(t, filepath.Join(s.Root(), "data", "intent_dataset.jsonl"),
		dataset.Sample{Text: "warm soup please", Labels: []string{"goal_comfort"}},
		dataset.Sample{Text: "golden text", Labels: []string{"x"}})
	writeLines(t, filepath.Join(s.Root(), "data", "golden_dataset.jsonl"),
		dataset.Sample{Text: "Golden text!", Labels: []string{"x"}})
	l, _ := s.Logger()
	logAll(t, s,
		llmQuery("q1", "something spicy", "goal_spicy"),
		dataset.Query{QueryID: "q2", Timestamp: t0, Text: "i want pizza", Method: dataset.MethodML, PrimaryIntent: "meal_dinner", Confidence: 0.95},
		dataset.Query{QueryID: "q3", Timestamp: t0, Text: "sad day", Method: dataset.MethodML, PrimaryIntent: "goal_comfort", Confidence: 0.8},
		llmQuery("q4", "golden text", "x"),
	)
	l.Feedback(dataset.Feedback{QueryID: "q3", Positive: true})
	l.Flush(ctx)

	n, err := s.Pending(ctx)
	if err != nil || n < 2 {
		t.Fatalf("Pending = %d, %v; want >= 2 before export", n, err)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Base) != 1 || len(snap.Old) != 0 || len(snap.New) != 2 || len(snap.Golden) != 1 || snap.GoldenExcluded != 2 {
		t.Fatalf("snapshot base %d old %d new %d golden %d excluded %d", len(snap.Base), len(snap.Old), len(snap.New), len(snap.Golden), snap.GoldenExcluded)
	}
	if snap.Export.Exported != 3 || snap.Export.Rejected[dataset.ReasonUnconfirmed] != 1 {
		t.Fatalf("export stats %+v", snap.Export)
	}
	if n, _ := s.Pending(ctx); n != 3 {
		t.Fatalf("Pending after export = %d, want 3", n)
	}
	t.Run("Commit", func(t *testing.T) {
		if err := s.Commit(ctx, snap.Mark); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.Pending(ctx); n != 0 {
			t.Fatalf("Pending after commit = %d", n)
		}
		if err := s.Commit(ctx, dataset.Mark{}); err != nil {
			t.Fatalf("older mark: %v", err)
		}
		if n, _ := s.Pending(ctx); n != 0 {
			t.Fatalf("older commit moved the mark back")
		}
	})
	t.Run("ErrBadMark", func(t *testing.T) {
		if err := s.Commit(ctx, dataset.Mark{Offset: 1 << 40}); err == nil {
			t.Fatal("want ErrBadMark")
		}
	})
	t.Run("SecondSnapshot", func(t *testing.T) {
		logAll(t, s, llmQuery("q5", "noodles tonight", "meal_dinner"))
		snap, err := s.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(snap.Old) != 2 || len(snap.New) != 1 || snap.New[0].QueryID != "q5" {
			t.Fatalf("old %d new %v", len(snap.Old), snap.New)
		}
	})
}

func TestMemStore(t *testing.T) {
	ctx := context.Background()
	m := dataset.NewMemStore([]dataset.Sample{{Text: "a b c", Labels: []string{"x"}}})
	m.SetGolden([]dataset.Sample{{Text: "gold", Labels: []string{"y"}}})
	m.Add(dataset.Sample{Text: "one", Labels: []string{"x"}}, dataset.Sample{Text: "GOLD", Labels: []string{"y"}})
	snap, _ := m.Snapshot(ctx)
	if len(snap.New) != 1 || snap.GoldenExcluded != 1 {
		t.Fatalf("new %v excluded %d", snap.New, snap.GoldenExcluded)
	}
	if n, _ := m.Pending(ctx); n != 2 {
		t.Fatalf("pending %d", n)
	}
	m.Commit(ctx, snap.Mark)
	m.Commit(ctx, dataset.Mark{})
	if n, _ := m.Pending(ctx); n != 0 {
		t.Fatalf("pending after commit %d", n)
	}
}
