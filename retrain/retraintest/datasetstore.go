package retraintest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/retrain"
)

// DatasetHarness is one fresh, empty DatasetStore under test with its
// serving-side query log.
type DatasetHarness struct {
	Store retrain.DatasetStore
	// Log writes qs to the store's query log durably (flushed): the next
	// Snapshot must see them.
	Log func(t *testing.T, qs []dataset.Query)
	// Open, if set, opens one more handle on the same store, as another
	// process would, for the concurrent-exporters case (skipped without).
	Open func(t *testing.T) retrain.DatasetStore
}

// goodQuery is a query the default export policy turns into an "llm"
// sample; badQuery one it rejects.
func goodQuery(i int) dataset.Query {
	return dataset.Query{QueryID: fmt.Sprintf("conf-%06d", i), Timestamp: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Text: fmt.Sprintf("something warm for a rainy evening %d", i), Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}, LLMConfidence: 0.9}
}

func badQuery(i int) dataset.Query {
	q := goodQuery(i)
	q.LLMConfidence = 0.1
	return q
}

// TestDatasetStore runs the retrain.DatasetStore contract against the
// harness newHarness returns, once per subtest: a fresh store has nothing
// new; logged good queries are exported by Snapshot once (New), bad ones
// never; a second Snapshot exports nothing again and returns the same
// mark; Commit moves them to Old and Pending to 0; an older mark is a no-op
// and a mark beyond the data returns dataset.ErrBadMark; concurrent
// exporters on several handles export every query exactly once; a
// canceled context fails.
func TestDatasetStore(t *testing.T, newHarness func(t *testing.T) DatasetHarness) {
	t.Helper()
	ctx := context.Background()
	ids := func(ss []dataset.Sample) map[string]int {
		m := map[string]int{}
		for _, s := range ss {
			m[s.QueryID]++
		}
		return m
	}

	t.Run("Empty", func(t *testing.T) {
		h := newHarness(t)
		snap, err := h.Store.Snapshot(ctx)
		if err != nil || len(snap.New) != 0 || len(snap.Old) != 0 {
			t.Fatalf("Snapshot of an empty store = %d new, %d old, %v", len(snap.New), len(snap.Old), err)
		}
		if n, err := h.Store.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("Pending of an empty store = %d, %v", n, err)
		}
	})

	t.Run("ExportOnceCommitPending", func(t *testing.T) {
		h := newHarness(t)
		var qs []dataset.Query
		for i := range 6 {
			qs = append(qs, goodQuery(i))
		}
		h.Log(t, append(qs, badQuery(100), badQuery(101)))
		if n, err := h.Store.Pending(ctx); err != nil || n < 6 {
			t.Fatalf("Pending = %d, %v; want at least 6", n, err)
		}
		snap, err := h.Store.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(snap.New)
		if len(snap.New) != 6 || len(got) != 6 || got["conf-000100"] != 0 {
			t.Fatalf("Snapshot exported %v; want the 6 good queries once", got)
		}
		again, err := h.Store.Snapshot(ctx)
		if err != nil || len(again.New) != 6 || again.Mark != snap.Mark {
			t.Fatalf("second Snapshot: %d new, mark %+v (was %+v), %v", len(again.New), again.Mark, snap.Mark, err)
		}
		if err := h.Store.Commit(ctx, snap.Mark); err != nil {
			t.Fatal(err)
		}
		if n, err := h.Store.Pending(ctx); err != nil || n != 0 {
			t.Fatalf("Pending after Commit = %d, %v", n, err)
		}
		if err := h.Store.Commit(ctx, dataset.Mark{}); err != nil {
			t.Fatalf("Commit of an older mark: %v", err)
		}
		bad := snap.Mark
		bad.Offset += 1 << 40
		bad.Count += 1 << 20
		if err := h.Store.Commit(ctx, bad); !errors.Is(err, dataset.ErrBadMark) {
			t.Fatalf("Commit beyond the data = %v, want ErrBadMark", err)
		}
		h.Log(t, []dataset.Query{goodQuery(7)})
		if n, err := h.Store.Pending(ctx); err != nil || n < 1 {
			t.Fatalf("Pending after one more = %d, %v", n, err)
		}
		snap, err = h.Store.Snapshot(ctx)
		if err != nil || len(snap.Old) != 6 || len(snap.New) != 1 || snap.New[0].QueryID != "conf-000007" {
			t.Fatalf("after Commit: %d old, %d new, %v", len(snap.Old), len(snap.New), err)
		}
	})

	t.Run("ConcurrentExporters", func(t *testing.T) {
		h := newHarness(t)
		if h.Open == nil {
			t.Skip("the harness opens no second handle")
		}
		const n = 200
		var qs []dataset.Query
		for i := range n {
			qs = append(qs, goodQuery(i))
		}
		h.Log(t, qs)
		var wg sync.WaitGroup
		for range 4 {
			s := h.Open(t)
			wg.Go(func() {
				if _, err := s.Snapshot(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		snap, err := h.Store.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := ids(append(snap.Old, snap.New...))
		for i := range n {
			if c := got[fmt.Sprintf("conf-%06d", i)]; c != 1 {
				t.Fatalf("query %d exported %d times", i, c)
			}
		}
	})

	t.Run("Canceled", func(t *testing.T) {
		h := newHarness(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := h.Store.Snapshot(cctx); err == nil {
			t.Error("Snapshot with a canceled context succeeded")
		}
	})
}
