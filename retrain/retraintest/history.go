package retraintest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"moodfood/retrain"
	"moodfood/trigger"
)

// TestHistory runs the retrain.History contract. newHistory is called once
// per subtest and returns a function that opens one more handle on a fresh,
// empty history, as one more process sharing it would: records appended
// through one handle must be listed by every other. It checks: List is
// newest first in append order and returns the fields it was given; every
// filter (outcomes, since/until, manual, limit) and their combination;
// retrain.Tail (through Tailer or the List fallback) agrees with the
// records; concurrent appends from several handles are all kept, none
// torn; and a canceled context appends nothing.
func TestHistory(t *testing.T, newHistory func(t *testing.T) func() retrain.History) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	rec := func(i int, st trigger.Outcome) retrain.Record {
		return retrain.Record{
			RetrainID: fmt.Sprintf("retrain_20260301_%06d_aaaaaa", i),
			Timestamp: t0.Add(time.Duration(i) * time.Hour),
			Status:    st,
			Reason:    "reason " + fmt.Sprint(i),
			DatasetQuality: retrain.DatasetQuality{
				TotalEntries: 100 + i, NewSamples: i, AccuracyImprovement: 0.01 * float64(i),
			},
			NewMetrics:      map[string]float64{"accuracy": 0.5 + 0.01*float64(i), "macro_f1": 0.4},
			Durations:       []retrain.StageDuration{{Stage: "train", Seconds: float64(i)}},
			DurationSeconds: float64(i) + 0.5,
		}
	}
	// seq is deployed, skipped, rejected, manual rollback, failed, deployed,
	// skipped, manual rollback, skipped (ids 0..8).
	seq := func() []retrain.Record {
		out := []retrain.Record{
			rec(0, trigger.OutcomeDeployed), rec(1, trigger.OutcomeSkipped), rec(2, trigger.OutcomeRejected),
			rec(3, trigger.OutcomeRolledBack), rec(4, trigger.OutcomeFailed), rec(5, trigger.OutcomeDeployed),
			rec(6, trigger.OutcomeSkipped), rec(7, trigger.OutcomeRolledBack), rec(8, trigger.OutcomeSkipped),
		}
		out[3].Manual, out[7].Manual = true, true
		out[0].NewVersion, out[5].NewVersion = "v0", "v5"
		return out
	}
	fill := func(t *testing.T, h retrain.History) []retrain.Record {
		t.Helper()
		recs := seq()
		for _, r := range recs {
			if err := h.Append(ctx, r); err != nil {
				t.Fatalf("Append(%s): %v", r.RetrainID, err)
			}
		}
		return recs
	}
	ids := func(rs []retrain.Record) []string {
		out := make([]string, len(rs))
		for i, r := range rs {
			out[i] = r.RetrainID[len(r.RetrainID)-13 : len(r.RetrainID)-7]
		}
		return out
	}
	want := func(idx ...int) []string {
		out := make([]string, len(idx))
		for i, n := range idx {
			out[i] = fmt.Sprintf("%06d", n)
		}
		return out
	}
	list := func(t *testing.T, h retrain.History, f retrain.HistoryFilter) []string {
		t.Helper()
		p, err := h.List(ctx, f)
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		if p.Damaged != 0 || p.Unrecorded != 0 {
			t.Errorf("List(%+v): damaged %d, unrecorded %d on a clean history", f, p.Damaged, p.Unrecorded)
		}
		return ids(p.Records)
	}
	eq := func(t *testing.T, what string, got, want []string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	t.Run("Empty", func(t *testing.T) {
		h := newHistory(t)()
		eq(t, "List on an empty history", list(t, h, retrain.HistoryFilter{}), []string{})
		tail, err := retrain.Tail(ctx, h)
		if err != nil || tail.Last != nil || tail.LastSuccess != nil {
			t.Errorf("Tail on an empty history = %+v, %v", tail, err)
		}
	})

	t.Run("OrderAndFields", func(t *testing.T) {
		open := newHistory(t)
		a, b := open(), open()
		recs := fill(t, a)
		eq(t, "List", list(t, b, retrain.HistoryFilter{}), want(8, 7, 6, 5, 4, 3, 2, 1, 0))
		p, _ := b.List(ctx, retrain.HistoryFilter{Limit: 4})
		got := p.Records[3] // id 5
		w := recs[5]
		if !got.Timestamp.Equal(w.Timestamp) || got.Status != w.Status || got.Reason != w.Reason ||
			got.NewVersion != w.NewVersion || got.DatasetQuality.TotalEntries != w.DatasetQuality.TotalEntries ||
			got.NewMetrics["accuracy"] != w.NewMetrics["accuracy"] || got.DurationSeconds != w.DurationSeconds ||
			len(got.Durations) != 1 || got.Durations[0].Seconds != 5 {
			t.Errorf("record read back = %+v, want %+v", got, w)
		}
		if p, _ := b.List(ctx, retrain.HistoryFilter{Limit: 4}); !p.Records[1].Manual {
			t.Errorf("Manual lost: %+v", p.Records[1])
		}
	})

	t.Run("Filters", func(t *testing.T) {
		h := newHistory(t)()
		fill(t, h)
		yes, no := true, false
		for _, tt := range []struct {
			name string
			f    retrain.HistoryFilter
			want []string
		}{
			{"Limit", retrain.HistoryFilter{Limit: 2}, want(8, 7)},
			{"Outcome", retrain.HistoryFilter{Outcomes: []trigger.Outcome{trigger.OutcomeDeployed}}, want(5, 0)},
			{"Outcomes", retrain.HistoryFilter{Outcomes: []trigger.Outcome{trigger.OutcomeFailed, trigger.OutcomeRejected}}, want(4, 2)},
			{"Since", retrain.HistoryFilter{Since: t0.Add(6 * time.Hour)}, want(8, 7, 6)},
			{"Until", retrain.HistoryFilter{Until: t0.Add(2 * time.Hour)}, want(1, 0)},
			{"SinceUntil", retrain.HistoryFilter{Since: t0.Add(3 * time.Hour), Until: t0.Add(5 * time.Hour)}, want(4, 3)},
			{"ManualOnly", retrain.HistoryFilter{Manual: &yes}, want(7, 3)},
			{"NoManual", retrain.HistoryFilter{Manual: &no, Outcomes: []trigger.Outcome{trigger.OutcomeRolledBack}}, want()},
			{"Combined", retrain.HistoryFilter{Outcomes: []trigger.Outcome{trigger.OutcomeSkipped}, Since: t0.Add(time.Hour), Limit: 1}, want(8)},
			{"NoMatch", retrain.HistoryFilter{Since: t0.Add(100 * time.Hour)}, want()},
		} {
			t.Run(tt.name, func(t *testing.T) { eq(t, "List", list(t, h, tt.f), tt.want) })
		}
	})

	t.Run("Tail", func(t *testing.T) {
		open := newHistory(t)
		h := open()
		fill(t, h)
		for name, hh := range map[string]retrain.History{"Tailer": open(), "List": listOnly{open()}} {
			tail, err := retrain.Tail(ctx, hh)
			if err != nil {
				t.Fatalf("%s: Tail: %v", name, err)
			}
			got := fmt.Sprint(ids(nonNil(tail.Last, tail.LastSuccess, tail.LastAttempt, tail.LastRollback)))
			if w := fmt.Sprint(want(8, 5, 5, 7)); got != w {
				t.Errorf("%s: Tail last/success/attempt/rollback = %v, want %v", name, got, w)
			}
		}
		// A failure after the last deploy is the last attempt; the manual
		// rollback before that deploy is not "after the last success".
		if err := h.Append(ctx, rec(9, trigger.OutcomeFailed)); err != nil {
			t.Fatal(err)
		}
		tail, _ := retrain.Tail(ctx, listOnly{h})
		tail2, _ := retrain.Tail(ctx, h)
		for _, tl := range []retrain.HistoryTail{tail, tail2} {
			if got := fmt.Sprint(ids(nonNil(tl.Last, tl.LastSuccess, tl.LastAttempt, tl.LastRollback))); got != fmt.Sprint(want(9, 5, 9, 7)) {
				t.Errorf("Tail after a failure = %v", got)
			}
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		open := newHistory(t)
		const writers, each = 4, 10
		var wg sync.WaitGroup
		for w := range writers {
			h := open()
			wg.Go(func() {
				for i := range each {
					if err := h.Append(ctx, rec(100+w*each+i, trigger.OutcomeSkipped)); err != nil {
						t.Errorf("Append: %v", err)
					}
				}
			})
		}
		wg.Wait()
		p, err := open().List(ctx, retrain.HistoryFilter{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, r := range p.Records {
			seen[r.RetrainID] = true
		}
		if len(p.Records) != writers*each || len(seen) != writers*each || p.Damaged != 0 {
			t.Errorf("after %d concurrent appends: %d records, %d distinct, %d damaged", writers*each, len(p.Records), len(seen), p.Damaged)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		h := newHistory(t)()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := h.Append(cctx, rec(1, trigger.OutcomeSkipped)); err == nil {
			t.Error("Append with a canceled context succeeded")
		}
		if got := list(t, h, retrain.HistoryFilter{}); len(got) != 0 {
			t.Errorf("a canceled Append stored %v", got)
		}
	})
}

// listOnly hides a History's Tailer, so Tail takes the List fallback.
type listOnly struct{ retrain.History }

func nonNil(rs ...*retrain.Record) []retrain.Record {
	var out []retrain.Record
	for _, r := range rs {
		if r == nil {
			out = append(out, retrain.Record{RetrainID: "retrain_20260301_-nil--_aaaaaa"})
			continue
		}
		out = append(out, *r)
	}
	return out
}
