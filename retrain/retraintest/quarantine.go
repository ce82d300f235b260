package retraintest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/retrain"
)

// TestQuarantine runs the retrain.Quarantine contract. newQuarantine is
// called once per subtest and returns a function that opens one more
// handle on a fresh, empty quarantine, as one more process sharing it
// would: samples added through one handle must be in every other's Keys.
// It checks: Keys are exactly retrain.QuarantineKey of the samples added
// (query id, or normalized text and labels); Prune deletes the samples
// added before its cutoff, counts them and keeps the later ones;
// concurrent adds from several handles are all kept; and a canceled
// context adds nothing.
func TestQuarantine(t *testing.T, newQuarantine func(t *testing.T) func() retrain.Quarantine) {
	t.Helper()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	keysOf := func(ss ...dataset.Sample) map[string]bool {
		out := map[string]bool{}
		for i := range ss {
			out[retrain.QuarantineKey(&ss[i])] = true
		}
		return out
	}
	keys := func(t *testing.T, q retrain.Quarantine) map[string]bool {
		t.Helper()
		k, err := q.Keys(ctx)
		if err != nil {
			t.Fatalf("Keys: %v", err)
		}
		return k
	}
	add := func(t *testing.T, q retrain.Quarantine, at time.Time, reason, group string, ss ...dataset.Sample) {
		t.Helper()
		if err := q.Add(ctx, at, "retrain_20260301_020000_aaaaaa", reason, group, ss); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	byID := dataset.Sample{Text: "i feel down", Labels: []string{"emotion_sad"}, Source: dataset.SourceFeedback, QueryID: "q-1"}
	byText := dataset.Sample{Text: "  Warm SOUP please ", Labels: []string{"goal_comfort"}, Source: dataset.SourceFeedback, SessionID: "s1"}
	otherLabels := dataset.Sample{Text: "warm soup please", Labels: []string{"weather_rainy"}, Source: dataset.SourceModel}

	t.Run("KeysAcrossHandles", func(t *testing.T) {
		open := newQuarantine(t)
		a, b := open(), open()
		if k := keys(t, b); len(k) != 0 {
			t.Fatalf("a new quarantine has %d keys", len(k))
		}
		add(t, a, t0, retrain.QuarantineDisagreement, "", byID, byText)
		add(t, a, t0, retrain.QuarantineSetAside, "session=s1", otherLabels)
		add(t, a, t0, retrain.QuarantineSetAside, "source=feedback")
		want := keysOf(byID, byText, otherLabels)
		if got := keys(t, b); !maps.Equal(got, want) {
			t.Fatalf("Keys from another handle = %q, want %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		same := dataset.Sample{Text: "warm soup PLEASE", Labels: []string{"goal_comfort"}, Source: dataset.SourceLLM}
		if !keys(t, b)[retrain.QuarantineKey(&same)] {
			t.Fatal("the same normalized text and labels is not recognized as quarantined")
		}
	})

	t.Run("Prune", func(t *testing.T) {
		open := newQuarantine(t)
		q := open()
		add(t, q, t0, retrain.QuarantineDisagreement, "", byID, byText)
		add(t, q, t0.Add(48*time.Hour), retrain.QuarantineSetAside, "session=s2", otherLabels)
		n, err := q.Prune(ctx, t0.Add(24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("Prune = %d, %v; want the 2 samples added before the cutoff", n, err)
		}
		if got, want := keys(t, open()), keysOf(otherLabels); !maps.Equal(got, want) {
			t.Fatalf("Keys after Prune = %q, want %q", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
		if n, err := q.Prune(ctx, t0.Add(24*time.Hour)); err != nil || n != 0 {
			t.Fatalf("second Prune = %d, %v; want 0", n, err)
		}
	})

	t.Run("ConcurrentAdds", func(t *testing.T) {
		open := newQuarantine(t)
		const handles, each = 4, 25
		var wg sync.WaitGroup
		errs := make([]error, handles)
		var all []dataset.Sample
		for h := range handles {
			var ss []dataset.Sample
			for i := range each {
				ss = append(ss, dataset.Sample{Text: fmt.Sprintf("sample %d of handle %d", i, h), Labels: []string{"x"}, Source: dataset.SourceFeedback})
			}
			all = append(all, ss...)
			q := open()
			wg.Go(func() {
				for i := range ss {
					if err := q.Add(ctx, t0, "r", retrain.QuarantineSetAside, "", ss[i:i+1]); err != nil {
						errs[h] = err
						return
					}
				}
			})
		}
		wg.Wait()
		for h, err := range errs {
			if err != nil {
				t.Fatalf("handle %d: %v", h, err)
			}
		}
		if got, want := keys(t, open()), keysOf(all...); !maps.Equal(got, want) {
			t.Fatalf("%d keys after concurrent adds, want %d", len(got), len(want))
		}
	})

	t.Run("CanceledAddsNothing", func(t *testing.T) {
		open := newQuarantine(t)
		q := open()
		c, cancel := context.WithCancel(ctx)
		cancel()
		if err := q.Add(c, t0, "r", retrain.QuarantineDisagreement, "", []dataset.Sample{byID}); err == nil {
			t.Fatal("Add with a canceled context succeeded")
		}
		if k := keys(t, open()); len(k) != 0 {
			t.Fatalf("a canceled Add kept %d samples", len(k))
		}
	})
}
