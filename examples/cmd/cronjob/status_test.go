package main

import (
	"strings"
	"testing"
	"time"

	"moodfood/retrain"
)

// For a multi-label model the status line leads with micro-F1 and names
// exact-match accuracy as such, instead of a bare "accuracy 0.299".
func TestPrintStatus_MultiLabelMetrics(t *testing.T) {
	var b strings.Builder
	printStatus(&b, "/r", retrain.Status{Now: time.Now(), Deployed: &retrain.DeployedStatus{Version: "v1", Intact: true,
		Metrics: map[string]float64{"accuracy": 0.299, "subset_accuracy": 0.299, "micro_f1": 0.691, "macro_f1": 0.648}}})
	if want := "multi-label: micro-F1 0.691, macro-F1 0.648, exact-match accuracy 0.299, intact"; !strings.Contains(b.String(), want) {
		t.Fatalf("status:\n%s\nlacks %q", b.String(), want)
	}
	b.Reset()
	printStatus(&b, "/r", retrain.Status{Now: time.Now(), Deployed: &retrain.DeployedStatus{Version: "v1", Intact: true,
		Metrics: map[string]float64{"accuracy": 0.93, "macro_f1": 0.92}}})
	if want := "accuracy 0.930, macro-F1 0.920, intact"; !strings.Contains(b.String(), want) {
		t.Fatalf("status:\n%s\nlacks %q", b.String(), want)
	}
}
