package retrain_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"moodfood/retrain"
)

// TestStatus_BigQueryLog measures Status over a root whose query log has
// RETRAIN_STATUS_LINES lines (default 1,000,000), spread over 30 days, with
// a deployed model. Set RETRAIN_STATUS_BIG=1 to run it (it writes ~250 MB).
func TestStatus_BigQueryLog(t *testing.T) {
	if os.Getenv("RETRAIN_STATUS_BIG") == "" {
		t.Skip("set RETRAIN_STATUS_BIG=1 to run")
	}
	ctx := context.Background()
	root := t.TempDir()
	if d := os.Getenv("RETRAIN_STATUS_ROOT"); d != "" {
		root = d
	}
	writeSamples(t, filepath.Join(root, "data", "intent_dataset.jsonl"), moodSamples(60, "seed"))
	r, err := retrain.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Run(ctx, retrain.RunOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	lines := 1_000_000
	fmt.Sscan(os.Getenv("RETRAIN_STATUS_LINES"), &lines)
	f, err := os.Create(filepath.Join(root, "data", "logs", "query_logs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	start := time.Now().Add(-30 * 24 * time.Hour)
	step := 30 * 24 * time.Hour / time.Duration(lines)
	for i := range lines {
		ts := start.Add(time.Duration(i) * step).UTC().Format(time.RFC3339Nano)
		if i%10 == 0 {
			fmt.Fprintf(w, `{"schema":1,"query_id":"q%d","timestamp":"%s","text_input":"i feel sad %d","classification_method":"llm_fallback","primary_intent":"emotion_sad","confidence":0.4,"llm_labels":["emotion_sad"],"llm_confidence":0.9}`+"\n", i, ts, i)
		} else {
			fmt.Fprintf(w, `{"schema":1,"query_id":"q%d","timestamp":"%s","text_input":"i feel happy %d","classification_method":"ml","primary_intent":"emotion_happy","confidence":0.9}`+"\n", i, ts, i)
		}
	}
	w.Flush()
	f.Close()
	for i := range 2 {
		t0 := time.Now()
		st, err := r.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("Status %d with a %d-line query log: %v (pending %d, problems %v)", i, lines, time.Since(t0), st.Pending, st.Problems)
	}
}
