package dataset_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"moodfood/dataset"
)

// TestFileStore_ApplyRetention: exported samples older than SampleRetention
// leave training_dataset.jsonl, and the committed mark moves with them: the
// samples that were old stay old, the new ones stay new.
func TestFileStore_ApplyRetention(t *testing.T) {
	ctx := context.Background()
	now := t0.Add(400 * 24 * time.Hour)
	var clock atomic.Int64 // the logger's goroutine reads it too
	clock.Store(t0.UnixNano())
	s := openStore(t, &dataset.FileStoreOptions{Now: func() time.Time { return time.Unix(0, clock.Load()).UTC() }})
	var qs []dataset.Query
	for i := range 10 { // a year and more ago
		q := llmQuery(fmt.Sprintf("old%d", i), fmt.Sprintf("old question %d", i), "goal_spicy")
		qs = append(qs, q)
	}
	logAll(t, s, qs...)
	snap, err := s.Snapshot(ctx)
	if err != nil || len(snap.New) != 10 {
		t.Fatalf("snapshot: %d new, %v", len(snap.New), err)
	}
	if err := s.Commit(ctx, snap.Mark); err != nil {
		t.Fatal(err)
	}
	qs = nil
	for i := range 4 { // recent, committed
		q := llmQuery(fmt.Sprintf("mid%d", i), fmt.Sprintf("recent question %d", i), "goal_spicy")
		q.Timestamp = now.Add(-time.Hour)
		qs = append(qs, q)
	}
	logAll(t, s, qs...)
	snap, err = s.Snapshot(ctx)
	if err != nil || len(snap.New) != 4 {
		t.Fatalf("snapshot: %d new, %v", len(snap.New), err)
	}
	if err := s.Commit(ctx, snap.Mark); err != nil {
		t.Fatal(err)
	}
	q := llmQuery("new0", "a brand new question", "goal_spicy") // exported, not committed
	q.Timestamp = now.Add(-time.Minute)
	logAll(t, s, q)
	if est, err := s.Export(ctx); err != nil || est.Exported != 1 {
		t.Fatalf("export of the new query: %+v, %v", est, err)
	}

	clock.Store(now.UnixNano())
	st, err := s.ApplyRetention(ctx)
	if err != nil || st.Samples != 10 {
		t.Fatalf("ApplyRetention = %+v, %v; want the 10 old samples deleted", st, err)
	}
	b, _ := os.ReadFile(filepath.Join(s.Root(), "data", "logs", "training_dataset.jsonl"))
	if strings.Contains(string(b), "old question") || strings.Count(string(b), "\n") != 5 {
		t.Fatalf("training file after retention (%d lines):\n%s", strings.Count(string(b), "\n"), b)
	}
	snap, err = s.Snapshot(ctx)
	if err != nil || len(snap.Old) != 4 || len(snap.New) != 1 || snap.New[0].QueryID != "new0" {
		t.Fatalf("after retention: %d old, %d new (%v)", len(snap.Old), len(snap.New), err)
	}
	if st, err := s.ApplyRetention(ctx); err != nil || st.Samples != 0 {
		t.Fatalf("second ApplyRetention = %+v, %v", st, err)
	}
}
