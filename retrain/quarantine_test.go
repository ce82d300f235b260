package retrain_test

import (
	"path/filepath"
	"testing"

	"moodfood/retrain"
	"moodfood/retrain/retraintest"
)

func TestFileQuarantine(t *testing.T) {
	retraintest.TestQuarantine(t, func(t *testing.T) func() retrain.Quarantine {
		path := filepath.Join(t.TempDir(), "logs", "quarantined_samples.jsonl")
		return func() retrain.Quarantine { return retrain.NewFileQuarantine(path) }
	})
}

func TestMemQuarantine(t *testing.T) {
	retraintest.TestQuarantine(t, func(t *testing.T) func() retrain.Quarantine {
		q := retrain.NewMemQuarantine()
		return func() retrain.Quarantine { return q }
	})
}
