package dataset_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/internal/flock"
	"moodfood/retrain"
	"moodfood/retrain/retraintest"
)

// TestFileStore_Conformance runs the retrain.DatasetStore suite on the file
// store, with its Logger as the query log and a second FileStore on the
// same root as another process.
func TestFileStore_Conformance(t *testing.T) {
	retraintest.TestDatasetStore(t, func(t *testing.T) retraintest.DatasetHarness {
		root := t.TempDir()
		open := func(t *testing.T) *dataset.FileStore {
			s, err := dataset.OpenFileStore(root, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		s := open(t)
		return retraintest.DatasetHarness{
			Store: s,
			Log:   func(t *testing.T, qs []dataset.Query) { logAll(t, s, qs...) },
			Open:  func(t *testing.T) retrain.DatasetStore { return open(t) },
		}
	})
}

// TestLogger_Conformance runs the query log suite on the file Logger: each
// Open is one more Logger on the same file (as one more process), Read
// parses the file, and Stall holds the file's append lock.
func TestLogger_Conformance(t *testing.T) {
	retraintest.TestQueryLog(t, func(t *testing.T) retraintest.QueryLogHarness {
		path := filepath.Join(t.TempDir(), "logs", "queries.jsonl")
		return retraintest.QueryLogHarness{
			Open: func(t *testing.T, queue int) retraintest.QueryLog {
				l, err := dataset.OpenLogger(path, &dataset.LoggerOptions{QueueRecords: queue, FlushInterval: 50 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				return l
			},
			Read: func(t *testing.T) ([]dataset.Query, []dataset.Feedback) {
				return readLogFile(t, path)
			},
			Stall: func(t *testing.T) func() {
				l, err := flock.LockWait(path + ".lock")
				if err != nil {
					t.Fatal(err)
				}
				return func() { l.Unlock() }
			},
		}
	})
}

// readLogFile parses the query and feedback records of a query-log file.
func readLogFile(t *testing.T, path string) ([]dataset.Query, []dataset.Feedback) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var qs []dataset.Query
	var fbs []dataset.Feedback
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var kind struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(line, &kind); err != nil {
			t.Fatalf("%s: %v: %q", path, err, line)
		}
		switch kind.Type {
		case dataset.TypeQuery:
			var q dataset.Query
			if err := json.Unmarshal(line, &q); err != nil {
				t.Fatal(err)
			}
			qs = append(qs, q)
		case dataset.TypeFeedback:
			var f dataset.Feedback
			if err := json.Unmarshal(line, &f); err != nil {
				t.Fatal(err)
			}
			fbs = append(fbs, f)
		}
	}
	return qs, fbs
}
