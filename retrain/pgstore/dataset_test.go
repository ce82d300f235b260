package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/retrain/retraintest"
)

// llmQuery is a query the default export policy turns into an "llm" sample.
func llmQuery(i int) dataset.Query {
	return dataset.Query{
		QueryID:   fmt.Sprintf("q%07d", i),
		Timestamp: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		Text:      fmt.Sprintf("what should I eat tonight number %d", i),
		Method:    dataset.MethodLLM, LLMLabels: []string{"meal_dinner"}, LLMConfidence: 0.9,
	}
}

func openDataset(t *testing.T) (*pgstore.DB, *pgstore.DatasetStore, string) {
	t.Helper()
	db, url := openDB(t, nil)
	ds, err := db.Dataset(nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, ds, url
}

func logAll(t *testing.T, db *pgstore.DB, qs []dataset.Query, fbs ...dataset.Feedback) {
	t.Helper()
	l := db.QueryLog(nil)
	for _, q := range qs {
		if err := l.Log(q); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fbs {
		if err := l.Feedback(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st.Written != uint64(len(qs)+len(fbs)) {
		t.Fatalf("written %d of %d", st.Written, len(qs)+len(fbs))
	}
}

func TestDatasetStore_SnapshotCommitPending(t *testing.T) {
	ctx := context.Background()
	db, ds, _ := openDataset(t)
	if err := ds.SetBase(ctx, []dataset.Sample{{Text: "i am hungry", Labels: []string{"meal_dinner"}}, {Text: "golden text", Labels: []string{"x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := ds.SetGolden(ctx, []dataset.Sample{{Text: "Golden text!", Labels: []string{"x"}}}); err != nil {
		t.Fatal(err)
	}
	var qs []dataset.Query
	for i := range 10 {
		qs = append(qs, llmQuery(i))
	}
	bad := llmQuery(99)
	bad.LLMConfidence = 0.1 // below the policy's minimum
	logAll(t, db, append(qs, bad))

	if n, err := ds.Pending(ctx); err != nil || n != 10 {
		t.Fatalf("Pending before export = %d, %v; want 10", n, err)
	}
	prev, err := ds.Preview(ctx)
	if err != nil || len(prev.New) != 10 {
		t.Fatalf("Preview = %d new, %v", len(prev.New), err)
	}
	snap, err := ds.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.New) != 10 || len(snap.Old) != 0 || snap.Export.Exported != 10 || snap.Export.Rejected[dataset.ReasonLLMConfidence] != 1 {
		t.Fatalf("Snapshot: %d new, %d old, export %+v", len(snap.New), len(snap.Old), snap.Export)
	}
	if len(snap.Base) != 1 || snap.GoldenExcluded != 1 || len(snap.Golden) != 1 {
		t.Errorf("base %d, golden %d, excluded %d; want 1, 1, 1", len(snap.Base), len(snap.Golden), snap.GoldenExcluded)
	}
	again, err := ds.Snapshot(ctx)
	if err != nil || again.Export.Exported != 0 || len(again.New) != 10 || again.Mark != snap.Mark {
		t.Fatalf("second Snapshot exported %d, %d new, mark %+v vs %+v, %v", again.Export.Exported, len(again.New), again.Mark, snap.Mark, err)
	}
	if err := ds.Commit(ctx, dataset.Mark{Offset: snap.Mark.Offset + 1000, Count: 1}); !errors.Is(err, dataset.ErrBadMark) {
		t.Errorf("Commit beyond the data = %v, want ErrBadMark", err)
	}
	if err := ds.Commit(ctx, snap.Mark); err != nil {
		t.Fatal(err)
	}
	if err := ds.Commit(ctx, dataset.Mark{}); err != nil {
		t.Fatalf("Commit of an older mark: %v", err)
	}
	if n, err := ds.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("Pending after Commit = %d, %v", n, err)
	}
	logAll(t, db, []dataset.Query{llmQuery(10), llmQuery(11)})
	if n, err := ds.Pending(ctx); err != nil || n != 2 {
		t.Fatalf("Pending after 2 more = %d, %v", n, err)
	}
	snap, err = ds.Snapshot(ctx)
	if err != nil || len(snap.Old) != 10 || len(snap.New) != 2 {
		t.Fatalf("Snapshot after Commit: %d old, %d new, %v", len(snap.Old), len(snap.New), err)
	}
}

func TestDatasetStore_Feedback(t *testing.T) {
	ctx := context.Background()
	db, ds, _ := openDataset(t)
	ml := func(id string) dataset.Query {
		return dataset.Query{QueryID: id, Text: "cozy soup please", Method: dataset.MethodML, PrimaryIntent: "goal_comfort", Confidence: 0.8}
	}
	no := false
	logAll(t, db, []dataset.Query{ml("a"), ml("b"), ml("c")},
		dataset.Feedback{QueryID: "a", Positive: true},
		dataset.Feedback{QueryID: "b", Positive: true},
		dataset.Feedback{QueryID: "b", Positive: false, Timestamp: time.Now().Add(time.Second)}, // the latest wins
		dataset.Feedback{QueryID: "c", Positive: true, Success: &no})
	snap, err := ds.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.New) != 1 || snap.New[0].QueryID != "a" || snap.New[0].Source != dataset.SourceFeedback {
		t.Fatalf("exported %+v; want only a, as feedback", snap.New)
	}
	if snap.Export.Rejected[dataset.ReasonNegative] != 1 || snap.Export.Rejected[dataset.ReasonFailure] != 1 {
		t.Errorf("rejected = %v", snap.Export.Rejected)
	}
	logAll(t, db, nil, dataset.Feedback{QueryID: "a", Positive: false})
	snap, err = ds.Snapshot(ctx)
	if err != nil || snap.Export.LateFeedback != 1 || len(snap.New) != 1 {
		t.Fatalf("late feedback: %+v, %d new, %v", snap.Export, len(snap.New), err)
	}
}

// TestDatasetStore_ConcurrentExporters: exporters in several "processes"
// (their own pools) racing with the loggers export every query exactly once.
func TestDatasetStore_ConcurrentExporters(t *testing.T) {
	ctx := context.Background()
	db, _, url := openDataset(t)
	const loggers, perLogger, exporters = 3, 400, 4
	var wg sync.WaitGroup
	for w := range loggers {
		wg.Go(func() {
			l := db.QueryLog(&pgstore.QueryLogOptions{FlushRecords: 37, FlushInterval: time.Millisecond})
			for i := range perLogger {
				l.Log(llmQuery(w*perLogger + i))
			}
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	stop := make(chan struct{})
	var exported [exporters]int
	var ewg sync.WaitGroup
	for e := range exporters {
		other, err := pgstore.Open(ctx, url, &pgstore.Options{Schema: db.Schema()})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		ds, _ := other.Dataset(nil)
		ewg.Go(func() {
			for {
				st, err := ds.Export(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				exported[e] += st.Exported
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	ewg.Wait()
	ds, _ := db.Dataset(nil)
	st, err := ds.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := st.Exported
	for _, n := range exported {
		total += n
	}
	snap, err := ds.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, s := range snap.New {
		ids[s.QueryID] = true
	}
	if total != loggers*perLogger || len(snap.New) != total || len(ids) != total {
		t.Fatalf("exported %d (per exporter %v), %d samples, %d distinct; want %d once each", total, exported, len(snap.New), len(ids), loggers*perLogger)
	}
}

func TestQueryLog_Bounded(t *testing.T) {
	db, _, _ := openDataset(t)
	l := db.QueryLog(&pgstore.QueryLogOptions{QueueRecords: 10, FlushInterval: time.Hour, FlushRecords: 1000})
	var full int
	for i := range 25 {
		if err := l.Log(llmQuery(i)); errors.Is(err, dataset.ErrQueueFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Log(dataset.Query{Text: "  "}); !errors.Is(err, dataset.ErrInvalid) {
		t.Errorf("empty text: %v", err)
	}
	st := l.Stats()
	if full != 15 || st.Dropped != 15 || st.Logged != 10 || st.Queued != 10 {
		t.Fatalf("dropped %d, stats %+v", full, st)
	}
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Log(llmQuery(1)); !errors.Is(err, dataset.ErrClosed) {
		t.Errorf("Log after Close = %v", err)
	}
	if st := l.Stats(); st.Written != 10 || st.Lost != 0 {
		t.Errorf("after Close: %+v", st)
	}
}

func TestDatasetStore_Load(t *testing.T) {
	ctx := context.Background()
	_, ds, _ := openDataset(t)
	base := []dataset.Sample{{Text: "base one", Labels: []string{"a"}}}
	golden := []dataset.Sample{{Text: "golden one", Labels: []string{"a"}}}
	exp := []dataset.Sample{{Text: "exported one", Labels: []string{"b"}, QueryID: "q1"}}
	if ok, err := ds.Load(ctx, base, golden, exp); err != nil || !ok {
		t.Fatalf("Load into an empty store = %v, %v", ok, err)
	}
	if ok, err := ds.Load(ctx, exp, nil, nil); err != nil || ok {
		t.Fatalf("second Load = %v, %v; want a no-op", ok, err)
	}
	snap, err := ds.Snapshot(ctx)
	if err != nil || len(snap.Base) != 1 || len(snap.Golden) != 1 || len(snap.New) != 1 || snap.New[0].QueryID != "q1" {
		t.Fatalf("Snapshot after Load = %+v, %v", snap, err)
	}
}

func TestDatasetStore_Conformance(t *testing.T) {
	retraintest.TestDatasetStore(t, func(t *testing.T) retraintest.DatasetHarness {
		db, ds, url := openDataset(t)
		return retraintest.DatasetHarness{
			Store: ds,
			Log:   func(t *testing.T, qs []dataset.Query) { logAll(t, db, qs) },
			Open: func(t *testing.T) retrain.DatasetStore {
				other, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: db.Schema()})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { other.Close() })
				ds, _ := other.Dataset(nil)
				return ds
			},
		}
	})
}

// TestDatasetStore_Signals: the database measures the same live signals as
// the file store over the same queries.
func TestDatasetStore_Signals(t *testing.T) {
	ctx := context.Background()
	db, ds, _ := openDataset(t)
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	var qs []dataset.Query
	for i := range 60 {
		q := dataset.Query{QueryID: fmt.Sprintf("s%d", i), Timestamp: now.Add(-time.Duration(i) * 73 * time.Minute),
			Text: fmt.Sprintf("soup tonight %d", i), Method: dataset.MethodML, PrimaryIntent: []string{"a", "b", "c"}[i%3], Confidence: 0.5 + float64(i%5)/10}
		if i%4 == 0 {
			q.Method, q.LLMLabels = dataset.MethodLLM, []string{"a"}
		}
		qs = append(qs, q)
	}
	logAll(t, db, qs)
	fs, err := dataset.OpenFileStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	l, _ := fs.Logger()
	for _, q := range qs {
		l.Log(q)
	}
	l.Flush(ctx)
	oov := func(s string) (int, int) { return len(s) % 3, 3 }
	got, err := ds.Signals(ctx, now, 6*time.Hour, 8, oov)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fs.Signals(ctx, now, 6*time.Hour, 8, oov)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(got) != 8 || got[7].Queries == 0 {
		t.Fatalf("Signals:\n got %+v\nwant %+v", got, want)
	}
}
