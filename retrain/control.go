package retrain

import (
	"context"
	"errors"
	"fmt"
	"os"

	"moodfood/backup"
	"moodfood/trigger"
)

// EventOperatorControl: an operator started, changed or stopped a canary or
// a shadow model (Record.Action says which). A promoted canary is reported
// as EventModelDeployed and a manual rollback as EventModelRolledBack, both
// with Record.Manual set.
const EventOperatorControl = "operator.control"

// The operator actions Control records (Record.Action).
const (
	ActionCanaryStart    = "canary.start"
	ActionCanaryFraction = "canary.fraction"
	ActionCanaryPromote  = "canary.promote"
	ActionCanaryAbort    = "canary.abort"
	ActionShadowStart    = "shadow.start"
	ActionShadowStop     = "shadow.stop"
	// ActionRollback is what RollbackAs records.
	ActionRollback = "rollback"
)

// Control is one operator action on what serves, made outside a run.
type Control struct {
	// Action is one of the Action constants.
	Action string
	// Version is the candidate the action is about (empty when it names
	// none, for example a shadow stop).
	Version backup.Version
	// Actor says who asked: an operator name, a token's label, an address.
	Actor string
	// Detail is a short free text added to the record's reason (a
	// fraction, for example).
	Detail string
}

// Control applies an operator action and records it like a run: apply runs
// first (for ActionCanaryPromote under the same lock as Run, so that a
// promote and a retrain never deploy at once: ErrBusy at once while a run
// holds it); when it succeeds, one history Record with Manual set, Actor
// and Action is appended and the Notifier hears EventModelDeployed for a
// promote and EventOperatorControl for every other action. A failed apply
// changed nothing: it is returned, wrapped in a *StageError with Stage
// "control", and neither recorded nor notified.
//
// The record of a promote has status deployed, OldVersion the version
// deployed before and NewVersion the promoted one; the others have status
// skipped (nothing was deployed). Like a manual rollback, none of them is a
// retraining attempt for the trigger or for Status.LastAttempt and
// Status.LastSuccess.
func (r *Retrainer) Control(ctx context.Context, c Control, apply func(context.Context) error) (Result, error) {
	switch c.Action {
	case ActionCanaryStart, ActionCanaryFraction, ActionCanaryPromote, ActionCanaryAbort, ActionShadowStart, ActionShadowStop:
	default:
		return Result{}, fmt.Errorf("retrain: control: unknown action %q", c.Action)
	}
	run, release, err := r.manualRun(ctx, c.Actor, c.Action, c.Action == ActionCanaryPromote)
	if err != nil {
		return Result{}, err
	}
	defer release()
	if cur, err := r.cfg.Models.Current(ctx); err == nil {
		run.rec.OldVersion = cur
	}
	run.begin(ctx, "control")
	err = apply(ctx)
	run.end(ctx)
	if err != nil {
		run.log.Error("operator action refused", "action", c.Action, "actor", c.Actor, "err", err.Error())
		return Result{RunID: run.rec.RetrainID, Outcome: trigger.OutcomeFailed, Reason: c.Action + " refused: " + err.Error(),
			OldVersion: run.rec.OldVersion}, &StageError{Stage: "control", Err: err}
	}
	reason := fmt.Sprintf("%s %s by %s", c.Action, orNone(c.Version), orNobody(c.Actor))
	if c.Detail != "" {
		reason += " (" + c.Detail + ")"
	}
	run.rec.Trigger = &trigger.Decision{Reasons: []trigger.Reason{{Policy: PolicyManual, Fired: true, Text: "Manual - " + c.Action + " requested by an operator"}}}
	ctx = context.WithoutCancel(ctx)
	if c.Action == ActionCanaryPromote {
		run.rec.NewVersion = c.Version
		return run.finish(ctx, trigger.OutcomeDeployed, reason, EventModelDeployed)
	}
	run.rec.NewVersion = run.rec.OldVersion
	return run.finish(ctx, trigger.OutcomeSkipped, reason, EventOperatorControl)
}

// manualRun starts the record of an operator action; with lock set it takes
// the run lock first (ErrBusy at once when it is held). release undoes what
// it took.
func (r *Retrainer) manualRun(ctx context.Context, actor, action string, lock bool) (*run, func(), error) {
	if !r.running.TryLock() {
		return nil, nil, ErrBusy
	}
	releases := []func(){r.running.Unlock}
	release := func() {
		for i := len(releases) - 1; i >= 0; i-- {
			releases[i]()
		}
	}
	now := r.cfg.Now()
	run := &run{r: r, start: now}
	run.rec = Record{RetrainID: newRunID(now), Timestamp: now.UTC(), Forced: true, Manual: true, PID: os.Getpid(),
		Actor: actor, Action: action}
	run.log = r.cfg.Logger.With("retrain_id", run.rec.RetrainID)
	if lk := r.cfg.Locker; lock && lk != nil {
		unlock, dead, err := lk.Lock(ctx, run.holder())
		if err != nil {
			release()
			if errors.Is(err, ErrBusy) {
				return nil, nil, ErrBusy
			}
			return nil, nil, fmt.Errorf("retrain: %s: lock: %w", action, err)
		}
		releases = append(releases, func() { unlock() })
		if dead != nil {
			run.reap(ctx, dead)
		}
	}
	return run, release, nil
}

func orNobody(s string) string {
	if s == "" {
		return "an unnamed operator"
	}
	return s
}
