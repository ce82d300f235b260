package retraintest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moodfood/retrain"
)

// TestLocker runs the retrain.Locker contract. newLock is called once per
// subtest and returns a function that opens one more handle on a fresh lock,
// as one more process (or host) sharing it would: every handle it opens must
// contend for the same lock. It checks: Lock excludes every other handle and
// unlock frees it; unlock may be called twice; Holder reports the holder;
// RLock is refused while an exclusive holder works and keeps Lock out while
// it is held; a clean unlock reports no dead holder; a canceled context
// takes nothing; racing handles never hold the lock together; and, when a
// handle implements io.Closer, that closing it while it holds the lock (as
// its process dying would) frees the lock, within 10 s, and reports that holder dead to
// the next Lock, once.
func TestLocker(t *testing.T, newLock func(t *testing.T) func() retrain.Locker) {
	t.Helper()
	ctx := context.Background()
	holder := func(id string) retrain.Holder {
		return retrain.Holder{RunID: id, PID: 4242, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	}
	mustLock := func(t *testing.T, l retrain.Locker, id string) (func() error, *retrain.Holder) {
		t.Helper()
		unlock, dead, err := l.Lock(ctx, holder(id))
		if err != nil {
			t.Fatalf("Lock(%s): %v", id, err)
		}
		return unlock, dead
	}

	t.Run("Exclusive", func(t *testing.T) {
		open := newLock(t)
		a, b := open(), open()
		unlock, dead := mustLock(t, a, "run-a")
		if dead != nil {
			t.Errorf("first Lock reports a dead holder: %+v", dead)
		}
		if _, _, err := b.Lock(ctx, holder("run-b")); !errors.Is(err, retrain.ErrBusy) {
			t.Fatalf("second handle's Lock while held = %v, want ErrBusy", err)
		}
		if _, _, err := a.Lock(ctx, holder("run-a2")); !errors.Is(err, retrain.ErrBusy) {
			t.Fatalf("the holder's own second Lock = %v, want ErrBusy", err)
		}
		if err := unlock(); err != nil {
			t.Fatalf("unlock: %v", err)
		}
		if err := unlock(); err != nil {
			t.Fatalf("second unlock: %v", err)
		}
		unlock, dead = mustLock(t, b, "run-b")
		if dead != nil {
			t.Errorf("Lock after a clean unlock reports a dead holder: %+v", dead)
		}
		unlock()
	})

	t.Run("Holder", func(t *testing.T) {
		open := newLock(t)
		a, b := open(), open()
		if _, held, err := b.Holder(ctx); err != nil || held {
			t.Fatalf("Holder of a fresh lock = %v, %v; want not held", held, err)
		}
		unlock, _ := mustLock(t, a, "run-h")
		h, held, err := b.Holder(ctx)
		if err != nil || !held {
			t.Fatalf("Holder while held = %v, %v", held, err)
		}
		if h.RunID != "run-h" || h.PID != 4242 {
			t.Errorf("Holder = %+v, want run-h pid 4242", h)
		}
		unlock()
		if _, held, err := b.Holder(ctx); err != nil || held {
			t.Fatalf("Holder after unlock = %v, %v; want not held", held, err)
		}
	})

	t.Run("Shared", func(t *testing.T) {
		open := newLock(t)
		a, b, c := open(), open(), open()
		unlock, _ := mustLock(t, a, "run-s")
		if _, err := b.RLock(ctx); !errors.Is(err, retrain.ErrBusy) {
			t.Fatalf("RLock while an exclusive holder works = %v, want ErrBusy", err)
		}
		unlock()
		r1, err := b.RLock(ctx)
		if err != nil {
			t.Fatalf("RLock: %v", err)
		}
		r2, err := c.RLock(ctx)
		if err != nil {
			t.Fatalf("second RLock: %v", err)
		}
		if _, _, err := a.Lock(ctx, holder("run-x")); !errors.Is(err, retrain.ErrBusy) {
			t.Fatalf("Lock while shared holders read = %v, want ErrBusy", err)
		}
		r1()
		r2()
		if err := r2(); err != nil {
			t.Fatalf("second shared unlock: %v", err)
		}
		unlock, dead := mustLock(t, a, "run-y")
		if dead != nil {
			t.Errorf("shared holders left a dead holder behind: %+v", dead)
		}
		unlock()
	})

	t.Run("Canceled", func(t *testing.T) {
		open := newLock(t)
		a, b := open(), open()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if unlock, _, err := a.Lock(cctx, holder("run-c")); err == nil {
			unlock()
			t.Fatal("Lock with a canceled context succeeded")
		}
		unlock, dead := mustLock(t, b, "run-d")
		if dead != nil {
			t.Errorf("a canceled Lock left a dead holder: %+v", dead)
		}
		unlock()
	})

	t.Run("Race", func(t *testing.T) {
		open := newLock(t)
		const workers, tries = 4, 25
		var inside, overlaps, wins atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			l := open()
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range tries {
					unlock, _, err := l.Lock(ctx, holder(fmt.Sprintf("run-%d-%d", w, i)))
					if errors.Is(err, retrain.ErrBusy) {
						continue
					}
					if err != nil {
						errs <- err
						return
					}
					if inside.Add(1) != 1 {
						overlaps.Add(1)
					}
					wins.Add(1)
					time.Sleep(100 * time.Microsecond)
					inside.Add(-1)
					if err := unlock(); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Lock: %v", err)
		}
		if overlaps.Load() != 0 {
			t.Errorf("%d times two handles held the lock together", overlaps.Load())
		}
		if wins.Load() == 0 {
			t.Error("no handle ever took the lock")
		}
	})

	t.Run("DeadHolder", func(t *testing.T) {
		open := newLock(t)
		a := open()
		c, ok := a.(io.Closer)
		if !ok {
			t.Skip("the Locker does not implement io.Closer; a dying holder cannot be simulated")
		}
		b := open()
		mustLock(t, a, "run-dies")
		if err := c.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// The lock of a dead holder may take a moment to be freed (a
		// server notices a closed connection asynchronously).
		var unlock func() error
		var dead *retrain.Holder
		for start := time.Now(); ; {
			var err error
			unlock, dead, err = b.Lock(ctx, holder("run-next"))
			if err == nil {
				break
			}
			if !errors.Is(err, retrain.ErrBusy) || time.Since(start) > 10*time.Second {
				t.Fatalf("Lock after the holder died: %v", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if dead == nil || dead.RunID != "run-dies" || dead.PID != 4242 {
			t.Fatalf("Lock after the holder died: dead = %+v, want run-dies pid 4242", dead)
		}
		unlock()
		unlock, dead = mustLock(t, b, "run-after")
		if dead != nil {
			t.Errorf("the dead holder was reported twice: %+v", dead)
		}
		unlock()
	})
}
