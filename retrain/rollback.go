package retrain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"moodfood/backup"
	"moodfood/trigger"
)

// Restorer is an optional interface a ModelStore may implement to verify a
// version fully (checksums and a real load) and deploy it in one step under
// its own lock. With v == "" it restores the previous version that passes
// verification, skipping corrupt ones; a named version that fails is refused
// with an error matching backup.ErrCorrupt and the deployed model is
// unchanged. backup.FileStore implements it.
type Restorer interface {
	Restore(ctx context.Context, v backup.Version) error
}

// PolicyManual is the policy name in Record.Trigger of a manual rollback.
const PolicyManual = "manual"

// Rollback deploys an earlier model version by hand and records it like a
// run: it takes the same lock as Run (ErrBusy at once when a run or another
// rollback holds it), appends one history Record with status rolled_back and
// Manual set, sends model.rolled_back to the Notifier, and gives OnEvent the
// stage events of its one stage, "rollback", and the final event. It never
// touches Data: the dataset watermark does not move.
//
// With to == "" it deploys the previous good version: the newest version
// older than the deployed one that passes a full check, skipping corrupt ones
// (through Restorer when Models has it; otherwise backup.Rollback over
// Models, each candidate first checked with backup.Verifier when Models has
// it, else by reading it back and decoding it with the Trainer). With no
// older good version the error matches backup.ErrNoPrevious; with nothing
// deployed, backup.ErrNoCurrent. A named version is checked the same way
// before it is deployed; a corrupt one is refused with an error matching
// backup.ErrCorrupt (a missing one, backup.ErrNotFound) and the deployed
// model keeps serving. Rolling back to the version already deployed changes
// nothing and is not recorded: the Result has Outcome skipped and a nil
// error.
//
// A refused or failed rollback changed nothing, so it writes no history line
// and sends no notification (it is logged, and returned as a *StageError
// with Stage "rollback"): the history holds every change of the deployed
// model, and a mistyped version name does not page anyone or show up in
// monitoring as a failed run.
//
// How the trigger sees a manual rollback: it is not a retraining attempt.
// The next Run's State.LastAttempt and State.LastSuccess skip manual records
// (as Status.LastAttempt and Status.LastSuccess do), so Cooldown neither
// starts nor is cleared by it, and MaxAge still counts from the last
// deployed retrain. Since the watermark did not move, the samples that
// trained the version rolled back from stay "old": the trigger does not
// retrain on the same data at once (which would likely produce the same
// model again), and the next retrain comes from new samples, MaxAge or Force.
// Status.LastRun and Status.LastRollback show the rollback.
func (r *Retrainer) Rollback(ctx context.Context, to backup.Version) (Result, error) {
	return r.RollbackAs(ctx, to, "")
}

// RollbackAs is Rollback with the person or credential that asked recorded
// in Record.Actor (and Record.Action set to ActionRollback).
func (r *Retrainer) RollbackAs(ctx context.Context, to backup.Version, actor string) (Result, error) {
	run, release, err := r.manualRun(ctx, actor, ActionRollback, true)
	if errors.Is(err, ErrBusy) {
		return Result{}, ErrBusy
	}
	if err != nil {
		r.cfg.Logger.Error("manual rollback refused", "err", err.Error())
		return Result{Outcome: trigger.OutcomeFailed, Reason: "manual rollback refused: " + err.Error()},
			&StageError{Stage: "rollback", Err: err}
	}
	defer release()

	ms := r.cfg.Models
	cur, err := ms.Current(ctx)
	if errors.Is(err, backup.ErrNoCurrent) && to != "" {
		cur, err = "", nil // deploying a named version onto nothing is allowed
	}
	if err != nil {
		return run.refuse(err)
	}
	if to != "" && to == cur {
		return Result{RunID: run.rec.RetrainID, Outcome: trigger.OutcomeSkipped, Skipped: true,
			Reason: string(to) + " is already deployed; nothing changed", OldVersion: cur, NewVersion: cur}, nil
	}
	run.rec.OldVersion = cur

	run.begin(ctx, "rollback")
	target := to
	switch rs, ok := ms.(Restorer); {
	case ok:
		err = rs.Restore(ctx, to)
		if err == nil && to == "" {
			target, err = ms.Current(ctx) // the run lock keeps Run and Rollback out
		}
	case to == "":
		target, err = backup.Rollback(ctx, checkedStore{r})
	default:
		err = checkedStore{r}.Deploy(ctx, to)
	}
	if err != nil {
		run.end(ctx)
		return run.refuse(err)
	}
	run.end(ctx)

	run.rec.NewVersion, run.rec.RolledBackTo = target, target
	if ms, err := ms.List(ctx); err == nil {
		for _, m := range ms {
			switch m.Version {
			case cur:
				run.rec.OldMetrics = finiteMetrics(headline(m.Metrics))
			case target:
				run.rec.NewMetrics = finiteMetrics(headline(m.Metrics))
			}
		}
	}
	what := "the previous version " + string(target)
	if to != "" {
		what = string(target)
	}
	reason := fmt.Sprintf("manual rollback to %s (was %s)", what, orNone(cur))
	run.rec.Trigger = &trigger.Decision{Reasons: []trigger.Reason{{Policy: PolicyManual, Fired: true, Text: "Manual - rollback requested by a person"}}}
	return run.finish(context.WithoutCancel(ctx), trigger.OutcomeRolledBack, reason, EventModelRolledBack)
}

// refuse ends a rollback that changed nothing: it is logged and returned,
// and leaves no history line and no notification.
func (run *run) refuse(err error) (Result, error) {
	run.log.Error("manual rollback refused", "err", err.Error(), "deployed", string(run.rec.OldVersion))
	return Result{RunID: run.rec.RetrainID, Outcome: trigger.OutcomeFailed, Reason: "manual rollback refused: " + err.Error(),
		OldVersion: run.rec.OldVersion}, &StageError{Stage: "rollback", Err: err}
}

// checkedStore deploys a version only after checking it: with
// backup.Verifier when Models has it, else by reading it back whole (the
// store checks its checksum) and decoding it with the Trainer. A version
// that fails the check is refused with an error matching backup.ErrCorrupt,
// so backup.Rollback skips it for the next older one.
type checkedStore struct{ r *Retrainer }

func (c checkedStore) List(ctx context.Context) ([]backup.Manifest, error) {
	return c.r.cfg.Models.List(ctx)
}

func (c checkedStore) Current(ctx context.Context) (backup.Version, error) {
	return c.r.cfg.Models.Current(ctx)
}

func (c checkedStore) Deploy(ctx context.Context, v backup.Version) error {
	if err := c.check(ctx, v); err != nil {
		return fmt.Errorf("retrain: rollback to %s refused: %w", v, err)
	}
	return c.r.cfg.Models.Deploy(ctx, v)
}

func (c checkedStore) check(ctx context.Context, v backup.Version) error {
	if vf, ok := c.r.cfg.Models.(backup.Verifier); ok {
		return vf.Verify(ctx, v)
	}
	_, rc, err := c.r.cfg.Models.Open(ctx, v)
	if err != nil {
		return err
	}
	_, derr := safeDecode(c.r.cfg.Trainer, rc)
	_, err = io.Copy(io.Discard, rc) // to the end: the store checks the checksum as it is read
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		return err
	case derr != nil && ctx.Err() != nil:
		return ctx.Err()
	case derr != nil:
		return fmt.Errorf("%w: %s does not decode: %v", backup.ErrCorrupt, v, derr)
	}
	return nil
}

// rollbackLevel is the level of a finished run's log line: a manual
// rollback is a person's choice, not a failure.
func rollbackLevel(rec *Record) slog.Level {
	if rec.Manual {
		return slog.LevelInfo
	}
	return slog.LevelError
}
