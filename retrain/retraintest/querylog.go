package retraintest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"moodfood/dataset"
)

// QueryLog is a query log as a serving process uses it (the
// serve.QueryLogger methods Log and Feedback) with its lifecycle: Flush
// waits until everything logged before the call is persisted, Close
// persists what is queued and stops, Stats counts.
type QueryLog interface {
	Log(q dataset.Query) error
	Feedback(f dataset.Feedback) error
	Flush(ctx context.Context) error
	Close() error
	Stats() dataset.LoggerStats
}

// QueryLogHarness is one fresh store for TestQueryLog.
type QueryLogHarness struct {
	// Open opens one more query log on the store, as one more serving
	// process would, with its in-memory queue bounded to queue records.
	// The suite closes what it opens.
	Open func(t *testing.T, queue int) QueryLog
	// Read returns every query and feedback record persisted in the store,
	// in any order.
	Read func(t *testing.T) ([]dataset.Query, []dataset.Feedback)
	// Stall, if set, makes the store stop accepting writes until the
	// returned function is called (a database that hangs, a disk lock held
	// by someone else); the drop tests are skipped without it.
	Stall func(t *testing.T) (resume func())
}

// logBlockLimit is the longest any Log or Feedback call may take in the
// suite: a generous smoke bound (the contract is "never waits on the
// store"), far above a scheduling hiccup on a loaded machine.
const logBlockLimit = time.Second

// TestQueryLog runs the query log contract. newStore is called once per
// subtest. It checks:
//   - Persisted: every query and feedback logged before Flush is in the
//     store with its fields (text, method, labels, model version,
//     confidence, timestamp to the microsecond, outcome), feedback naming
//     the id of its logged query; Stats counts them logged and written.
//   - Defaults: an empty query id and a zero timestamp are filled (ids
//     unique); an empty text and a feedback without a query id are refused
//     with dataset.ErrInvalid.
//   - CloseFlushes: Close persists what is queued without a Flush; Log
//     after Close returns dataset.ErrClosed; a second Close is harmless.
//   - BoundedNeverBlocks (with Stall): while the store accepts nothing, Log
//     never waits longer than a smoke bound, holds at most twice the queue
//     bound (a full queue and one batch being written), refuses the rest
//     with dataset.ErrQueueFull and counts every refusal in Stats.Dropped;
//     once the store resumes, every accepted record is persisted.
//   - ConcurrentLoggers: several logs on one store, each from several
//     goroutines, persist every record exactly once.
func TestQueryLog(t *testing.T, newStore func(t *testing.T) QueryLogHarness) {
	t.Helper()
	ctx := context.Background()
	open := func(t *testing.T, h QueryLogHarness, queue int) QueryLog {
		t.Helper()
		l := h.Open(t, queue)
		t.Cleanup(func() { l.Close() })
		return l
	}

	t.Run("Persisted", func(t *testing.T) {
		h := newStore(t)
		l := open(t, h, 1024)
		base := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		yes, no := true, false
		var want []dataset.Query
		var wantFb []dataset.Feedback
		for i := range 100 {
			q := dataset.Query{QueryID: fmt.Sprintf("q%03d", i), Timestamp: base.Add(time.Duration(i) * time.Second),
				Text: fmt.Sprintf("warm soup on a rainy day %d", i), Method: dataset.MethodML,
				PrimaryIntent: "goal_comfort", Confidence: 0.75, ModelVersion: "model_backup_20260101_000000_000001"}
			if i%2 == 1 {
				q.Method, q.LLMLabels, q.Success = dataset.MethodLLM, []string{"goal_comfort", "mood_sad"}, &yes
			}
			want = append(want, q)
			checkFast(t, "Log", func() error { return l.Log(q) })
			if i%4 == 0 {
				f := dataset.Feedback{QueryID: q.QueryID, Timestamp: q.Timestamp.Add(time.Minute), Positive: i%8 == 0}
				if i%8 == 4 {
					f.Success = &no
				}
				wantFb = append(wantFb, f)
				checkFast(t, "Feedback", func() error { return l.Feedback(f) })
			}
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		st := l.Stats()
		n := uint64(len(want) + len(wantFb))
		if st.Logged != n || st.Written != n || st.Dropped != 0 || st.Queued != 0 {
			t.Errorf("Stats after Flush = %+v, want %d logged and written, none dropped or queued", st, n)
		}
		qs, fbs := h.Read(t)
		got := byID(t, qs)
		if len(qs) != len(want) {
			t.Errorf("%d queries persisted, want %d", len(qs), len(want))
		}
		for _, w := range want {
			g, ok := got[w.QueryID]
			if !ok {
				t.Errorf("query %s was not persisted", w.QueryID)
				continue
			}
			if d := diffQuery(g, w); d != "" {
				t.Errorf("query %s persisted with %s", w.QueryID, d)
			}
		}
		if len(fbs) != len(wantFb) {
			t.Errorf("%d feedback records persisted, want %d", len(fbs), len(wantFb))
		}
		wantF := map[string]dataset.Feedback{}
		for _, f := range wantFb {
			wantF[f.QueryID] = f
		}
		for _, f := range fbs {
			w, ok := wantF[f.QueryID]
			if _, logged := got[f.QueryID]; !ok || !logged {
				t.Errorf("persisted feedback names %q, not a logged query with feedback", f.QueryID)
				continue
			}
			if f.Positive != w.Positive || !boolPtrEqual(f.Success, w.Success) || !f.Timestamp.Equal(w.Timestamp) {
				t.Errorf("feedback for %s persisted as %+v, want %+v", f.QueryID, f, w)
			}
		}
	})

	t.Run("Defaults", func(t *testing.T) {
		h := newStore(t)
		l := open(t, h, 1024)
		before := time.Now().Add(-time.Minute)
		for range 20 {
			if err := l.Log(dataset.Query{Text: "no id, no time", Method: dataset.MethodML}); err != nil {
				t.Fatalf("Log without id and timestamp: %v", err)
			}
		}
		if err := l.Log(dataset.Query{QueryID: "empty", Method: dataset.MethodML}); !errors.Is(err, dataset.ErrInvalid) {
			t.Errorf("Log of an empty text = %v, want dataset.ErrInvalid", err)
		}
		if err := l.Feedback(dataset.Feedback{Positive: true}); !errors.Is(err, dataset.ErrInvalid) {
			t.Errorf("Feedback without a query id = %v, want dataset.ErrInvalid", err)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatalf("Flush: %v", err)
		}
		qs, fbs := h.Read(t)
		if len(qs) != 20 || len(fbs) != 0 {
			t.Fatalf("persisted %d queries and %d feedback records, want 20 and 0 (refused records are not written)", len(qs), len(fbs))
		}
		byID(t, qs) // ids filled and unique
		for _, q := range qs {
			if q.Timestamp.Before(before) || q.Timestamp.After(time.Now().Add(time.Minute)) {
				t.Errorf("query %s: timestamp %v, want about now", q.QueryID, q.Timestamp)
			}
		}
	})

	t.Run("CloseFlushes", func(t *testing.T) {
		h := newStore(t)
		l := h.Open(t, 1024)
		for i := range 50 {
			if err := l.Log(dataset.Query{QueryID: fmt.Sprintf("c%02d", i), Text: "logged then closed", Method: dataset.MethodML}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Feedback(dataset.Feedback{QueryID: "c07", Positive: true}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if st := l.Stats(); st.Written != 51 || st.Lost != 0 {
			t.Errorf("Stats after Close = %+v, want 51 written, none lost", st)
		}
		if err := l.Log(dataset.Query{Text: "too late", Method: dataset.MethodML}); !errors.Is(err, dataset.ErrClosed) {
			t.Errorf("Log after Close = %v, want dataset.ErrClosed", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		qs, fbs := h.Read(t)
		if len(qs) != 50 || len(fbs) != 1 || fbs[0].QueryID != "c07" {
			t.Fatalf("after Close without Flush: %d queries, %d feedback records persisted; want 50 and 1 (for c07)", len(qs), len(fbs))
		}
	})

	t.Run("BoundedNeverBlocks", func(t *testing.T) {
		h := newStore(t)
		if h.Stall == nil {
			t.Skip("the harness cannot stall its store")
		}
		const queue = 64
		l := open(t, h, queue)
		// One record first, so that the log is known to write before the stall.
		if err := l.Log(dataset.Query{QueryID: "first", Text: "before the stall", Method: dataset.MethodML}); err != nil {
			t.Fatal(err)
		}
		if err := l.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		resume := h.Stall(t)
		resumed := false
		defer func() {
			if !resumed {
				resume()
			}
		}()
		const calls = 4 * queue
		accepted, full := 0, 0
		var slowest time.Duration
		for i := range calls {
			start := time.Now()
			err := l.Log(dataset.Query{QueryID: fmt.Sprintf("s%04d", i), Text: "while the store hangs", Method: dataset.MethodML})
			slowest = max(slowest, time.Since(start))
			switch {
			case err == nil:
				accepted++
			case errors.Is(err, dataset.ErrQueueFull):
				full++
			default:
				t.Fatalf("Log while stalled: %v, want nil or dataset.ErrQueueFull", err)
			}
			if i == queue/2 {
				// Let the writer take what is queued into a batch it cannot write.
				time.Sleep(100 * time.Millisecond)
			}
		}
		if slowest > logBlockLimit {
			t.Errorf("a Log call took %v while the store hung; Log must never wait on the store", slowest)
		}
		if accepted > 2*queue || full == 0 {
			t.Errorf("while stalled %d of %d records were accepted, %d refused; want at most %d held (queue bound %d) and the rest refused",
				accepted, calls, full, 2*queue, queue)
		}
		if st := l.Stats(); st.Dropped != uint64(full) || st.Logged != uint64(accepted+1) {
			t.Errorf("Stats = %+v, want %d logged and %d dropped", st, accepted+1, full)
		}
		resume()
		resumed = true
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := l.Flush(fctx); err != nil {
			t.Fatalf("Flush after the store resumed: %v", err)
		}
		qs, _ := h.Read(t)
		if len(qs) != accepted+1 {
			t.Errorf("%d queries persisted after the stall, want every accepted one (%d)", len(qs), accepted+1)
		}
		if st := l.Stats(); st.Written != uint64(accepted+1) || st.Lost != 0 {
			t.Errorf("Stats after the stall = %+v, want %d written, none lost", st, accepted+1)
		}
	})

	t.Run("ConcurrentLoggers", func(t *testing.T) {
		h := newStore(t)
		const logs, goroutines, each = 3, 4, 150
		var wg sync.WaitGroup
		errs := make(chan error, logs*goroutines)
		var handles []QueryLog
		for li := range logs {
			l := open(t, h, 1<<16)
			handles = append(handles, l)
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range each {
						id := fmt.Sprintf("l%d-g%d-%03d", li, g, i)
						if err := l.Log(dataset.Query{QueryID: id, Text: "concurrent " + id, Method: dataset.MethodML}); err != nil {
							errs <- fmt.Errorf("Log %s: %w", id, err)
							return
						}
						if i%10 == 0 {
							if err := l.Feedback(dataset.Feedback{QueryID: id, Positive: true}); err != nil {
								errs <- fmt.Errorf("Feedback %s: %w", id, err)
								return
							}
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for _, l := range handles {
			if err := l.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
		}
		qs, fbs := h.Read(t)
		got := byID(t, qs)
		if len(got) != logs*goroutines*each {
			t.Errorf("%d distinct queries persisted, want %d", len(got), logs*goroutines*each)
		}
		if len(fbs) != logs*goroutines*each/10 {
			t.Errorf("%d feedback records persisted, want %d", len(fbs), logs*goroutines*each/10)
		}
		for _, f := range fbs {
			if _, ok := got[f.QueryID]; !ok {
				t.Errorf("feedback names %q, not a logged query", f.QueryID)
			}
		}
	})
}

// checkFast runs a Log or Feedback call and fails the test when it errs or
// takes longer than logBlockLimit.
func checkFast(t *testing.T, what string, f func() error) {
	t.Helper()
	start := time.Now()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if d := time.Since(start); d > logBlockLimit {
		t.Errorf("%s took %v", what, d)
	}
}

// byID indexes qs by query id, failing the test on an empty or repeated id.
func byID(t *testing.T, qs []dataset.Query) map[string]dataset.Query {
	t.Helper()
	m := make(map[string]dataset.Query, len(qs))
	for _, q := range qs {
		if q.QueryID == "" {
			t.Errorf("a query was persisted without an id: %+v", q)
		}
		if _, dup := m[q.QueryID]; dup {
			t.Errorf("query %s persisted twice", q.QueryID)
		}
		m[q.QueryID] = q
	}
	return m
}

// diffQuery names the first field of got that differs from want, or "".
func diffQuery(got, want dataset.Query) string {
	switch {
	case got.Text != want.Text:
		return fmt.Sprintf("text %q, want %q", got.Text, want.Text)
	case got.Method != want.Method:
		return fmt.Sprintf("method %q, want %q", got.Method, want.Method)
	case got.PrimaryIntent != want.PrimaryIntent || got.Confidence != want.Confidence:
		return fmt.Sprintf("prediction %s %v, want %s %v", got.PrimaryIntent, got.Confidence, want.PrimaryIntent, want.Confidence)
	case fmt.Sprint(got.LLMLabels) != fmt.Sprint(want.LLMLabels):
		return fmt.Sprintf("LLM labels %v, want %v", got.LLMLabels, want.LLMLabels)
	case got.ModelVersion != want.ModelVersion:
		return fmt.Sprintf("model version %q, want %q", got.ModelVersion, want.ModelVersion)
	case !got.Timestamp.Equal(want.Timestamp):
		return fmt.Sprintf("timestamp %v, want %v", got.Timestamp, want.Timestamp)
	case !boolPtrEqual(got.Success, want.Success):
		return fmt.Sprintf("success %v, want %v", got.Success, want.Success)
	}
	return ""
}

func boolPtrEqual(a, b *bool) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}
