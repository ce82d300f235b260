package dataset_test

import (
	"context"
	"testing"

	"moodfood/dataset"
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
			Log: func(t *testing.T, qs []dataset.Query) {
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
			},
			Open: func(t *testing.T) retrain.DatasetStore { return open(t) },
		}
	})
}
