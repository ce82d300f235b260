package model

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parallelSGDMin is the number of training examples from which SGD runs the
// forward pass of each mini-batch on two goroutines. Below it a Trainer
// trains its calibration model beside the final one (see crossFit), which
// already keeps two cores busy. A variable so that tests can lower it.
var parallelSGDMin = calLarge

// sgdHelper computes part of each mini-batch's forward pass on a second
// goroutine. The split is fixed (the helper always takes the second half of
// the batch) and every example's forward pass is independent of the others,
// so the result is bit-identical to computing the whole batch on one
// goroutine, whatever the scheduling.
//
// A batch is ~0.1 ms of work, too short to hand over through channels,
// whose wake-ups cost tens of microseconds: the two goroutines hand jobs
// over through atomics and spin (yielding the processor) while they wait;
// the helper blocks on a condition variable after spinning for a while, so
// it does not burn a core while the main goroutine does the rest of the
// step.
type sgdHelper struct {
	posted atomic.Uint64 // sequence number of the latest job
	done   atomic.Uint64 // sequence number of the latest finished job
	job    func()        // written before posted is incremented

	mu       sync.Mutex
	cond     sync.Cond
	sleeping bool
	stop     bool
}

// helperSpins is how many times a waiting goroutine polls (yielding in
// between) before the helper goes to sleep.
const helperSpins = 2000

func newSGDHelper() *sgdHelper {
	h := &sgdHelper{}
	h.cond.L = &h.mu
	go h.loop()
	return h
}

func (h *sgdHelper) loop() {
	var last uint64
	for {
		for spins := 0; h.posted.Load() == last; spins++ {
			if spins < helperSpins {
				runtime.Gosched()
				continue
			}
			h.mu.Lock()
			for h.posted.Load() == last && !h.stop {
				h.sleeping = true
				h.cond.Wait()
			}
			h.sleeping = false
			h.mu.Unlock()
		}
		h.mu.Lock()
		stop := h.stop
		h.mu.Unlock()
		if stop {
			return
		}
		last = h.posted.Load()
		h.job()
		h.done.Store(last)
	}
}

// run runs mine on the calling goroutine and theirs on the helper, and
// returns when both are done.
func (h *sgdHelper) run(mine, theirs func()) {
	h.job = theirs
	seq := h.posted.Add(1)
	h.mu.Lock()
	if h.sleeping {
		h.cond.Signal()
	}
	h.mu.Unlock()
	mine()
	for h.done.Load() != seq {
		runtime.Gosched()
	}
}

// close stops the helper goroutine.
func (h *sgdHelper) close() {
	h.mu.Lock()
	h.stop = true
	h.posted.Add(1)
	h.cond.Signal()
	h.mu.Unlock()
}
