package serve

import (
	"context"
	"fmt"
	"time"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/trigger"
)

// Watchdog states (WatchdogReport.State).
const (
	// WatchDisabled: Options.Watchdog is nil.
	WatchDisabled = "disabled"
	// WatchIdle: no deploy to judge (none since the Server opened, or the
	// last one was already judged).
	WatchIdle = "idle"
	// WatchWatching: the new model has answered fewer than MinQueries.
	WatchWatching = "watching"
	// WatchPassed: the new model was judged no worse than the margins.
	WatchPassed = "passed"
	// WatchNoBaseline: the previous model answered fewer than MinQueries
	// queries here before the deploy, so there is nothing to compare with.
	WatchNoBaseline = "no_baseline"
	// WatchRolledBack: the new model was worse and the previous version was
	// deployed again.
	WatchRolledBack = "rolled_back"
)

// WatchdogReport is the watchdog's view of the last deploy.
type WatchdogReport struct {
	State string `json:"state"`
	// Version is the deploy being (or last) judged and Previous the version
	// it replaced.
	Version  backup.Version `json:"version,omitempty"`
	Previous backup.Version `json:"previous,omitempty"`
	// Live is the new model's window and Baseline the previous model's last
	// window before the deploy.
	Live     WindowStats `json:"live"`
	Baseline WindowStats `json:"baseline"`
	// Reason says in words why the state is what it is.
	Reason string    `json:"reason,omitempty"`
	Time   time.Time `json:"time,omitzero"`
}

// CheckWatchdog runs the post-deploy watchdog once (see WatchdogOptions);
// the poll loop calls it after every poll, and a caller that disabled the
// loop (negative PollInterval) calls it itself. When the deploy under watch
// is worse than the model it replaced it deploys that version again through
// the store, serves it at once, notifies Options.Notifier with a
// retrain.EventModelRolledBack event and reports WatchRolledBack. A deploy
// is judged once. The error is the store's, wrapped, when the rollback
// deploy failed (the check is then repeated at the next call).
func (s *Server) CheckWatchdog(ctx context.Context) (WatchdogReport, error) {
	if s.closed.Load() {
		return WatchdogReport{}, ErrClosed
	}
	w := s.o.Watchdog
	if w == nil {
		return WatchdogReport{State: WatchDisabled}, nil
	}
	s.mu.Lock()
	cur := s.cur.Load()
	if cur == nil || !cur.watch || cur.prev == nil {
		rep := s.report
		if rep.State == "" {
			rep.State = WatchIdle
		}
		s.mu.Unlock()
		return rep, nil
	}
	rep := WatchdogReport{
		State:    WatchWatching,
		Version:  cur.version,
		Previous: cur.prev.version,
		Live:     cur.win.summary(),
		Baseline: cur.baseline,
		Time:     s.o.Now(),
	}
	live, base := rep.Live, rep.Baseline
	switch {
	case live.Queries < w.MinQueries:
		rep.Reason = fmt.Sprintf("%d of %d queries", live.Queries, w.MinQueries)
		s.report = rep
		s.mu.Unlock()
		return rep, nil
	case base.Queries < w.MinQueries:
		rep.State = WatchNoBaseline
		rep.Reason = fmt.Sprintf("previous model answered %d queries here, need %d", base.Queries, w.MinQueries)
		cur.watch = false
		s.report = rep
		s.mu.Unlock()
		return rep, nil
	}
	var why string
	if m := w.FallbackMargin; m >= 0 && live.FallbackRate-base.FallbackRate > m {
		why = fmt.Sprintf("fallback rate %.3f vs %.3f before (margin %.3f)", live.FallbackRate, base.FallbackRate, m)
	} else if m := w.DisagreementMargin; m >= 0 && live.Compared >= w.MinCompared && base.Compared >= w.MinCompared &&
		live.DisagreementRate-base.DisagreementRate > m {
		why = fmt.Sprintf("LLM disagreement rate %.3f vs %.3f before (margin %.3f)", live.DisagreementRate, base.DisagreementRate, m)
	}
	if why == "" {
		rep.State = WatchPassed
		rep.Reason = fmt.Sprintf("fallback rate %.3f vs %.3f, disagreement %.3f (n=%d) vs %.3f (n=%d)",
			live.FallbackRate, base.FallbackRate, live.DisagreementRate, live.Compared, base.DisagreementRate, base.Compared)
		cur.watch = false
		s.report = rep
		s.mu.Unlock()
		return rep, nil
	}
	prev := cur.prev
	if err := s.src.Deploy(ctx, prev.version); err != nil {
		s.mu.Unlock()
		return rep, fmt.Errorf("serve: watchdog: roll back to %s: %w", prev.version, err)
	}
	cur.watch = false
	s.install(&loaded{version: prev.version, manifest: prev.manifest, pred: prev.pred}, false)
	rep.State, rep.Reason = WatchRolledBack, why
	s.report = rep
	s.mu.Unlock()

	s.log.Warn("serve: watchdog rolled back", "from", string(rep.Version), "to", string(rep.Previous), "reason", why)
	s.notifyRollback(ctx, rep, cur.manifest.RunID)
	return rep, nil
}

// notifyRollback tells the Notifier about a rollback. Its failure is logged.
func (s *Server) notifyRollback(ctx context.Context, rep WatchdogReport, runID string) {
	n := s.o.Notifier
	if n == nil {
		return
	}
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.o.NotifyTimeout)
	defer cancel()
	e := retrain.Event{
		Type:  retrain.EventModelRolledBack,
		RunID: runID,
		Time:  rep.Time.UTC(),
		Record: &retrain.Record{
			RetrainID:    runID,
			Timestamp:    rep.Time.UTC(),
			Status:       trigger.OutcomeRolledBack,
			Reason:       "serving watchdog: " + rep.Reason,
			OldVersion:   rep.Previous,
			NewVersion:   rep.Version,
			RolledBackTo: rep.Previous,
		},
	}
	err := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("notifier panicked: %v", v)
			}
		}()
		return n.Notify(nctx, e)
	}()
	if err != nil {
		s.log.Warn("serve: rollback notification failed", "err", err.Error())
	}
}
