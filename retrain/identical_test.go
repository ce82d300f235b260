package retrain_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"moodfood/retrain"
	"moodfood/trigger"
)

// A forced run on unchanged data trains the same bytes as the deployed
// version: it is not stored again, and the run says so.
func TestRun_ForcedRunWithNoNewDataStoresNoDuplicate(t *testing.T) {
	root := t.TempDir()
	var data []byte
	for i := range 15 {
		data = fmt.Appendf(data, "{\"text\":\"rainy grey day %d\",\"labels\":[\"weather_rainy\"]}\n", i)
		data = fmt.Appendf(data, "{\"text\":\"bright sunny morning %d\",\"labels\":[\"weather_sunny\"]}\n", i)
	}
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "data", "intent_dataset.jsonl"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := retrain.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	first, err := r.Run(t.Context(), retrain.RunOptions{Force: true})
	if err != nil || !first.Deployed {
		t.Fatalf("first run: %+v, %v", first.Outcome, err)
	}
	for range 2 {
		res, err := r.Run(t.Context(), retrain.RunOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != trigger.OutcomeSkipped || !strings.Contains(res.Reason, "byte-identical to the deployed version "+string(first.NewVersion)) {
			t.Fatalf("forced run on the same data: %s: %s", res.Outcome, res.Reason)
		}
	}
	st, err := r.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Backups) != 1 {
		t.Fatalf("%d versions stored, want 1", len(st.Backups))
	}
}
