package retrain_test

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"moodfood/retrain"
	"moodfood/trigger"
)

// utcMicros is the timestamp layout docs/ARCHITECTURE.md §3 asks for: UTC RFC 3339 with
// sub-second precision (microseconds, as the query log writes them).
var utcMicros = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

// TestRun_HistoryLine: a deployed run's history line carries the seed's
// fields and everything docs/ARCHITECTURE.md §3 adds, with a UTC sub-second timestamp
// even when the clock reads a whole second in another zone.
func TestRun_HistoryLine(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2025, 8, 20, 5, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	e := newEnv(t, func(c *retrain.Config) { c.Now = func() time.Time { return clock } })
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Hour)
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(e.dir + "/retrain_history.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d history lines", len(lines))
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &line); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(lines[1], `{"retrain_id":"retrain_20250820_040000_`) {
		t.Errorf("line does not start with the seed's retrain_id (UTC): %.60s", lines[1])
	}
	if ts, _ := line["timestamp"].(string); ts != "2025-08-20T04:00:00.000000Z" || !utcMicros.MatchString(ts) {
		t.Errorf("timestamp %q, want 2025-08-20T04:00:00.000000Z", line["timestamp"])
	}
	if line["status"] != string(trigger.OutcomeDeployed) || line["old_version"] == nil || line["new_version"] == nil ||
		line["old_version"] == line["new_version"] || line["peak_memory_bytes"] == nil {
		t.Errorf("status, versions or peak memory missing: %s", lines[1])
	}
	q, _ := line["dataset_quality"].(map[string]any)
	for _, k := range []string{"total_entries", "new_samples", "accuracy_improvement"} {
		if _, ok := q[k]; !ok {
			t.Errorf("dataset_quality lacks %s", k)
		}
	}
	if tr, _ := line["trigger"].(map[string]any); tr == nil || len(tr["reasons"].([]any)) == 0 {
		t.Errorf("trigger reasons missing: %v", line["trigger"])
	}
	checks, _ := line["checks"].([]any)
	names := map[string]bool{}
	for _, c := range checks {
		c := c.(map[string]any)
		for _, k := range []string{"name", "value", "threshold", "op", "passed"} {
			if _, ok := c[k]; !ok {
				t.Errorf("check %v lacks %s", c, k)
			}
		}
		names[c["name"].(string)] = true
	}
	if !names["accuracy_delta"] || !names["macro_f1_delta"] {
		t.Errorf("checks %v lack the deltas against the deployed model", names)
	}
	durs, _ := line["durations"].([]any)
	var stages []string
	for _, d := range durs {
		stages = append(stages, d.(map[string]any)["stage"].(string))
	}
	if strings.Join(stages, ",") != "trigger,load,merge,train,evaluate,gate,save,deploy,verify,commit" {
		t.Errorf("durations of stages %v", stages)
	}
	// The line reads back into a Record with the same instant.
	var rec retrain.Record
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || !rec.Timestamp.Equal(clock) {
		t.Errorf("read back timestamp %v, %v; want %v", rec.Timestamp, err, clock)
	}
}

func TestEvent_MarshalJSON(t *testing.T) {
	e := retrain.Event{Type: retrain.EventRunFailed, RunID: "retrain_x", Time: time.Date(2025, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -3600))}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"run.failed","retrain_id":"retrain_x","time":"2025-01-02T04:04:05.000000Z"}`; string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestRecord_Summary(t *testing.T) {
	tests := []struct {
		name string
		rec  retrain.Record
		want string
	}{
		{"single-label", retrain.Record{RetrainID: "r1", Status: trigger.OutcomeDeployed, NewVersion: "v2", OldVersion: "v1",
			NewMetrics:     map[string]float64{"accuracy": 0.9, "micro_f1": 0.9},
			DatasetQuality: retrain.DatasetQuality{TotalEntries: 100, NewSamples: 10, AccuracyImprovement: 0.02}},
			"r1 deployed: v2 deployed replacing v1, accuracy 0.9000 (+0.0200), 100 samples (10 new)"},
		{"multi-label", retrain.Record{RetrainID: "r1", Status: trigger.OutcomeDeployed, NewVersion: "v2", OldVersion: "v1",
			NewMetrics:     map[string]float64{"accuracy": 0.4, "subset_accuracy": 0.4, "micro_f1": 0.85},
			OldMetrics:     map[string]float64{"accuracy": 0.45, "subset_accuracy": 0.45, "micro_f1": 0.84},
			DatasetQuality: retrain.DatasetQuality{TotalEntries: 100, NewSamples: 10, AccuracyImprovement: -0.05}},
			"r1 deployed: v2 deployed replacing v1, micro-F1 0.8500 (+0.0100), 100 samples (10 new)"},
		{"no threshold earned", retrain.Record{RetrainID: "r1", Status: trigger.OutcomeDeployed, NewVersion: "v1",
			NewMetrics:     map[string]float64{"accuracy": 0.8, retrain.MetricRoutingThreshold: 1},
			Refit:          &retrain.Refit{Deployed: true, Threshold: 1, ThresholdFrom: "golden set"},
			DatasetQuality: retrain.DatasetQuality{TotalEntries: 100, NewSamples: 10, AccuracyImprovement: 0.8}},
			"r1 deployed: v1 deployed, accuracy 0.8000 (+0.8000), refit on all samples, routing threshold 1.000 (from the golden set): too few held-out samples show the target precision yet, so the LLM answers (nearly) every query, 100 samples (10 new)"},
		{"rejected", retrain.Record{RetrainID: "r1", Status: trigger.OutcomeRejected, Reason: "gate rejected the candidate: x"},
			"r1 rejected: gate rejected the candidate: x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rec.Summary(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
