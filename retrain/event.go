package retrain

import (
	"context"
	"encoding/json"
	"slices"
	"time"
)

// The event types. The first six (and EventOperatorControl) go to the Notifier and to Config.OnEvent;
// the stage events go to Config.OnEvent only.
const (
	// EventRunStarted: the trigger said yes (or the run was forced) and the
	// run is about to load data and train.
	EventRunStarted = "run.started"
	// EventRunSkipped: the trigger said no; the record carries its reasons.
	EventRunSkipped = "run.skipped"
	// EventRunFailed: a stage failed or the run was canceled.
	EventRunFailed = "run.failed"
	// EventGateRejected: the candidate failed a gate check; the deployed
	// model is unchanged.
	EventGateRejected = "gate.rejected"
	// EventModelDeployed: a new version is deployed and passed its canaries.
	EventModelDeployed = "model.deployed"
	// EventModelRolledBack: a new version failed its canaries after deploy
	// and the previous version is deployed again, or a person rolled back
	// with Retrainer.Rollback (Record.Manual set).
	EventModelRolledBack = "model.rolled_back"
	// EventModelStaged: the candidate passed the gate and waits for a
	// person's approval (RunOptions.RequireApproval); see Approve.
	EventModelStaged = "model.staged"
	// EventCandidateRejected: a person rejected a staged candidate
	// (Retrainer.Reject).
	EventCandidateRejected = "candidate.rejected"

	EventStageStarted  = "stage.started"
	EventStageFinished = "stage.finished"
)

// Event is something that happened during a run. Record is a copy of the
// run's decision record as it stood at the time: complete for the final
// events (the same content as the history line), partial for run.started and
// the stage events.
type Event struct {
	Type  string    `json:"type"`
	RunID string    `json:"retrain_id"`
	Time  time.Time `json:"time"`
	// Stage is set on stage events.
	Stage string `json:"stage,omitempty"`
	// Record is the run's decision record.
	Record *Record `json:"record,omitempty"`
}

// MarshalJSON writes Time in UTC RFC 3339 with microseconds, like every
// timestamp of the package.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event // without this method
	return json.Marshal(struct {
		Type  string `json:"type"`
		RunID string `json:"retrain_id"`
		Time  string `json:"time"`
		plain
	}{e.Type, e.RunID, formatTime(e.Time), plain(e)})
}

// notifierEvent reports whether t goes to the Notifier.
func notifierEvent(t string) bool {
	switch t {
	case EventRunStarted, EventRunSkipped, EventRunFailed, EventGateRejected, EventModelDeployed, EventModelRolledBack,
		EventModelStaged, EventCandidateRejected, EventOperatorControl:
		return true
	}
	return false
}

// clone copies the record deeply enough that a notifier holding on to it
// never sees later changes.
func (r *Record) clone() *Record {
	c := *r
	c.Checks = slices.Clone(r.Checks)
	c.Durations = slices.Clone(r.Durations)
	c.Warnings = slices.Clone(r.Warnings)
	c.Canaries = slices.Clone(r.Canaries)
	if r.Trigger != nil {
		d := *r.Trigger
		d.Reasons = slices.Clone(d.Reasons)
		c.Trigger = &d
	}
	if r.Refit != nil {
		rf := *r.Refit
		c.Refit = &rf
	}
	return &c
}

// emit delivers an event: to OnEvent (synchronously, panics recovered) and,
// for the notifier's event types outside dry runs, to the Notifier with a
// bounded time.
func (run *run) emit(ctx context.Context, typ, stage string) {
	r := run.r
	e := Event{Type: typ, RunID: run.rec.RetrainID, Time: r.cfg.Now().UTC(), Stage: stage, Record: run.rec.clone()}
	if f := r.cfg.OnEvent; f != nil {
		func() {
			defer func() {
				if p := recover(); p != nil {
					run.log.Warn("OnEvent panicked", "event", typ, "panic", p)
				}
			}()
			f(ctx, e)
		}()
	}
	if r.cfg.Notifier == nil || run.opts.DryRun || !notifierEvent(typ) {
		return
	}
	r.notify(ctx, e, run)
}

// notify calls the Notifier with a context bounded by NotifyTimeout and
// detached from the run's cancellation (a canceled run still reports that it
// failed). It returns when Notify returns or the timeout expires, whichever
// is first; a Notifier that ignores its context is left to finish on its own
// and Close waits for it at most NotifyTimeout.
func (r *Retrainer) notify(ctx context.Context, e Event, run *run) {
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.NotifyTimeout)
	defer cancel()
	r.closeMu.Lock()
	if r.closed {
		r.closeMu.Unlock()
		run.log.Warn("notification dropped: the Retrainer is closed", "event", e.Type)
		return
	}
	r.wg.Add(1)
	r.closeMu.Unlock()
	done := make(chan error, 1)
	go func() {
		defer r.wg.Done()
		defer func() {
			if p := recover(); p != nil {
				done <- &PanicError{Value: p}
			}
		}()
		done <- r.cfg.Notifier.Notify(nctx, e)
	}()
	select {
	case err := <-done:
		if err != nil {
			run.log.Warn("notification failed", "event", e.Type, "err", err.Error())
		}
	case <-nctx.Done():
		run.log.Warn("notification timed out", "event", e.Type, "timeout", r.cfg.NotifyTimeout.String())
	}
}
