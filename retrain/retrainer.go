package retrain

import (
	"errors"
	"io"
	"sync"
	"time"

	"moodfood/backup"
	"moodfood/trigger"
)

// A Retrainer runs retraining passes over the stores it was built with. It is
// safe for concurrent use. Runs never overlap: a Run that starts while another
// is in progress, in this process or (with a lock path) in another one,
// returns ErrBusy at once.
type Retrainer struct {
	cfg  Config
	hist History
	// quarantine holds the samples runs left out (see poison.go).
	quarantine Quarantine

	unrecMu    sync.Mutex
	unrecorded *unrecordedRun // the last run whose Append failed, until one succeeds

	running sync.Mutex     // held for the length of a Run
	wg      sync.WaitGroup // notifier goroutines still running

	closeMu sync.Mutex // guards closed, and wg.Add against Close's Wait
	closers []io.Closer
	closed  bool
}

// Result is what one Run did. A skipped run, a rejected candidate and a
// rollback are results, not errors.
type Result struct {
	RunID   string
	Outcome trigger.Outcome
	// Skipped is set when the trigger said no; Record.Trigger has its
	// reasons.
	Skipped bool
	// Deployed is set when a new version is deployed (or, in a dry run,
	// would be).
	Deployed bool
	// RolledBack is set when the new version failed its canaries after
	// deploy and the previous version is deployed again.
	RolledBack bool
	DryRun     bool
	// Reason says why the run ended as it did: the trigger's reasons, the
	// failed gate checks, the failed canaries or the error.
	Reason string
	// OldVersion was deployed when the run started; NewVersion is the
	// version the run stored (empty if it stored none).
	OldVersion, NewVersion backup.Version
	// Plan lists, in a dry run, what a real run would have written.
	Plan []string
	// Record is the full decision record, as written to the history.
	Record Record
}

// New returns a Retrainer over the given pieces. It touches no disk. The
// error names every missing or invalid field (errors.Join).
func New(cfg Config) (*Retrainer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if cfg.Locker == nil && cfg.LockPath != "" {
		cfg.Locker = NewFileLocker(cfg.LockPath)
	}
	if cfg.History == nil {
		if cfg.HistoryPath != "" {
			cfg.History = NewFileHistory(cfg.HistoryPath)
		} else {
			cfg.History = NewMemHistory()
		}
	}
	if cfg.Quarantine == nil {
		if cfg.QuarantinePath != "" {
			cfg.Quarantine = NewFileQuarantine(cfg.QuarantinePath)
		} else {
			cfg.Quarantine = NewMemQuarantine()
		}
	}
	return &Retrainer{cfg: cfg, hist: cfg.History, quarantine: cfg.Quarantine}, nil
}

// Close waits (at most Config.NotifyTimeout) for notifications still in
// flight and closes what Open opened. A Notifier that ignores its context
// cannot be stopped: its goroutine is abandoned, as Notify's is at its
// timeout. Close does not cancel a Run in progress (cancel its context for
// that); such a run sends no more notifications. It is safe to call more
// than once.
func (r *Retrainer) Close() error {
	r.closeMu.Lock()
	if r.closed {
		r.closeMu.Unlock()
		return nil
	}
	r.closed = true // no notify adds to wg from now on
	r.closeMu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	t := time.NewTimer(r.cfg.NotifyTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
	var errs []error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
