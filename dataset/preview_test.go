package dataset_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"moodfood/dataset"
	"moodfood/internal/treehash"
)

// treeHash is treehash.Of, failing the test on error.
func treeHash(t testing.TB, root string) []string {
	t.Helper()
	out, err := treehash.Of(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFileStore_Preview checks that Preview returns what the Snapshot taken
// right after it returns, and that it leaves every file and directory under
// the root as it was.
func TestFileStore_Preview(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		opts  dataset.FileStoreOptions
		setup func(t *testing.T, s *dataset.FileStore) // logs, exports, damages
	}{
		{name: "FirstExport", setup: func(t *testing.T, s *dataset.FileStore) {
			logSome(t, s, "a")
		}},
		{name: "AfterCommit", setup: func(t *testing.T, s *dataset.FileStore) {
			logSome(t, s, "a")
			snap, err := s.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Commit(ctx, snap.Mark); err != nil {
				t.Fatal(err)
			}
			logSome(t, s, "b")
		}},
		{name: "NothingNew", setup: func(t *testing.T, s *dataset.FileStore) {
			logSome(t, s, "a")
			if _, err := s.Export(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "CrashRecovery", setup: func(t *testing.T, s *dataset.FileStore) {
			logSome(t, s, "a")
			state := filepath.Join(s.Root(), "data", "logs", "export_state.json")
			if _, err := s.Export(ctx); err != nil {
				t.Fatal(err)
			}
			os.Remove(state) // the watermark was never saved
			logSome(t, s, "b")
		}},
		{name: "TornTrainingTail", setup: func(t *testing.T, s *dataset.FileStore) {
			logSome(t, s, "a")
			if _, err := s.Export(ctx); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(filepath.Join(s.Root(), "data", "logs", "training_dataset.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString(`{"text":"torn`)
			f.Close()
			logSome(t, s, "b")
		}},
		{name: "ModelShare", opts: dataset.FileStoreOptions{Policy: dataset.ExportPolicy{ModelShare: 0.25}},
			setup: func(t *testing.T, s *dataset.FileStore) {
				logSome(t, s, "a")
				for i := range 10 {
					logAll(t, s, dataset.Query{QueryID: fmt.Sprint("m", i), Timestamp: t0, Text: fmt.Sprint("model answer ", i),
						Method: dataset.MethodML, PrimaryIntent: "meal_dinner", Confidence: 0.97})
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeLines(t, filepath.Join(root, "data", "intent_dataset.jsonl"),
				dataset.Sample{Text: "warm soup please", Labels: []string{"goal_comfort"}},
				dataset.Sample{Text: "golden text", Labels: []string{"x"}})
			writeLines(t, filepath.Join(root, "data", "golden_dataset.jsonl"),
				dataset.Sample{Text: "Golden text!", Labels: []string{"x"}})
			w, err := dataset.OpenFileStore(root, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			tt.setup(t, w)
			w.Close() // stops the Logger: nothing writes under root any more
			s, err := dataset.OpenFileStore(root, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()

			before := treeHash(t, root)
			prev, err := s.Preview(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, treeHash(t, root)); diff != "" {
				t.Fatalf("Preview changed the tree (-before +after):\n%s", diff)
			}
			snap, err := s.Snapshot(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Nothing may differ: both read the same data with the same clock.
			if diff := cmp.Diff(snap, prev); diff != "" {
				t.Fatalf("Preview differs from Snapshot (-snapshot +preview):\n%s", diff)
			}
			if tt.name != "NothingNew" && (prev.Export.Exported == 0 || len(prev.New) == 0) {
				t.Fatalf("nothing to export: the case tests nothing (%+v)", prev.Export)
			}
		})
	}
}

// logSome logs a mix of queries (LLM answers, confirmed, rejected and
// unconfirmed ML answers, a golden text, damage) with ids prefixed by p.
func logSome(t *testing.T, s *dataset.FileStore, p string) {
	t.Helper()
	logAll(t, s,
		llmQuery(p+"1", "something spicy "+p, "goal_spicy"),
		dataset.Query{QueryID: p + "2", Timestamp: t0, Text: "i want pizza " + p, Method: dataset.MethodML, PrimaryIntent: "meal_dinner", Confidence: 0.95},
		dataset.Query{QueryID: p + "3", Timestamp: t0, Text: "sad day " + p, Method: dataset.MethodML, PrimaryIntent: "goal_comfort", Confidence: 0.8},
		dataset.Query{QueryID: p + "4", Timestamp: t0, Text: "cold day " + p, Method: dataset.MethodML, PrimaryIntent: "goal_comfort", Confidence: 0.8},
		llmQuery(p+"5", "golden text", "x"),
	)
	l, err := s.Logger()
	if err != nil {
		t.Fatal(err)
	}
	l.Feedback(dataset.Feedback{QueryID: p + "3", Positive: true})
	l.Feedback(dataset.Feedback{QueryID: p + "4", Positive: false})
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}
