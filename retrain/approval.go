package retrain

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/trigger"
)

// Errors of Approve, Reject and Promote.
var (
	// ErrNoCandidate: the history has no run with that id that stored a
	// candidate (staged, or rejected under RunOptions.RequireApproval).
	ErrNoCandidate = errors.New("retrain: no stored candidate for that run id")
	// ErrDecided: a person already approved, rejected or promoted that
	// run's candidate (the error names the decision's run id).
	ErrDecided = errors.New("retrain: the candidate was already decided")
	// ErrNotStaged: Approve and Reject act on staged candidates only; a
	// rejected one can be promoted.
	ErrNotStaged = errors.New("retrain: the candidate is not staged")
	// ErrNotRejected: Promote acts on rejected candidates only; a staged one
	// is approved.
	ErrNotRejected = errors.New("retrain: the candidate was not rejected")
	// ErrReasonRequired: Promote needs a person's reason.
	ErrReasonRequired = errors.New("retrain: a reason is required")
)

// Approve deploys the candidate that run runID staged (RunOptions.
// RequireApproval), under the run lock: the version is verified and decoded
// before the deploy, the canaries are checked after it (a failure deploys
// the previous version again, as in Run), and the staged run's data
// watermark is committed. The decision is a history record (Status
// deployed, Decides = runID, reason as given) and an EventModelDeployed
// notification. It returns ErrBusy while another run holds the lock,
// ErrNoCandidate, ErrNotStaged or ErrDecided when there is nothing to
// approve.
func (r *Retrainer) Approve(ctx context.Context, runID, reason string) (Result, error) {
	return r.decideStored(ctx, runID, func(run *run, target *Record, decision *Record) (Result, error) {
		if decision != nil {
			return Result{}, fmt.Errorf("%w: %s by %s", ErrDecided, decision.Status, decision.RetrainID)
		}
		if target.Status != trigger.OutcomeStaged {
			return Result{}, fmt.Errorf("%w: run %s ended %s", ErrNotStaged, target.RetrainID, target.Status)
		}
		why := "approved by a person: " + string(target.NewVersion) + ", staged by " + target.RetrainID
		return run.deployStored(ctx, target, withReason(why, reason))
	})
}

// Reject drops the candidate that run runID staged: it is never deployed
// by Approve (it stays stored until retention prunes it, and can still be
// promoted on purpose). The decision is a history record (Status rejected,
// Decides = runID) and an EventCandidateRejected notification; like a
// candidate the gate rejected, it makes the default trigger cool down.
// Errors as for Approve.
func (r *Retrainer) Reject(ctx context.Context, runID, reason string) (Result, error) {
	return r.decideStored(ctx, runID, func(run *run, target *Record, decision *Record) (Result, error) {
		if decision != nil {
			return Result{}, fmt.Errorf("%w: %s by %s", ErrDecided, decision.Status, decision.RetrainID)
		}
		if target.Status != trigger.OutcomeStaged {
			return Result{}, fmt.Errorf("%w: run %s ended %s", ErrNotStaged, target.RetrainID, target.Status)
		}
		cur, err := r.cfg.Models.Current(ctx)
		if err != nil && !errors.Is(err, backup.ErrNoCurrent) {
			return Result{}, err
		}
		run.rec.OldVersion, run.rec.NewVersion = cur, target.NewVersion
		run.rec.NewMetrics = target.NewMetrics
		why := "rejected by a person: " + string(target.NewVersion) + ", staged by " + target.RetrainID
		return run.finish(context.WithoutCancel(ctx), trigger.OutcomeRejected, withReason(why, reason), EventCandidateRejected)
	})
}

// Promote deploys, on purpose, a candidate that was rejected: by the gate in
// a run with RunOptions.RequireApproval (which stores it), or by a person
// with Reject. reason is required and recorded: a promotion is never silent.
// Otherwise it works as Approve. It returns ErrReasonRequired,
// ErrNoCandidate, ErrNotRejected or ErrDecided when there is nothing to
// promote, and ErrBusy while another run holds the lock.
func (r *Retrainer) Promote(ctx context.Context, runID, reason string) (Result, error) {
	if strings.TrimSpace(reason) == "" {
		return Result{}, ErrReasonRequired
	}
	return r.decideStored(ctx, runID, func(run *run, target *Record, decision *Record) (Result, error) {
		rejectedBy := ""
		switch {
		case decision != nil && decision.Status == trigger.OutcomeRejected:
			rejectedBy = decision.Reason
		case decision != nil:
			return Result{}, fmt.Errorf("%w: %s by %s", ErrDecided, decision.Status, decision.RetrainID)
		case target.Status == trigger.OutcomeRejected:
			rejectedBy = target.Reason
		default:
			return Result{}, fmt.Errorf("%w: run %s ended %s", ErrNotRejected, target.RetrainID, target.Status)
		}
		why := fmt.Sprintf("promoted by a person: %s, stored by %s, although %s", target.NewVersion, target.RetrainID, rejectedBy)
		return run.deployStored(ctx, target, withReason(why, reason))
	})
}

func withReason(what, reason string) string {
	if reason = strings.TrimSpace(reason); reason != "" {
		return what + " (reason: " + reason + ")"
	}
	return what
}

// decideStored runs op under the run lock with the record of the run that stored
// runID's candidate and the latest decision about it (nil if none).
func (r *Retrainer) decideStored(ctx context.Context, runID string, op func(run *run, target, decision *Record) (Result, error)) (Result, error) {
	if !r.running.TryLock() {
		return Result{}, ErrBusy
	}
	defer r.running.Unlock()
	now := r.cfg.Now()
	run := &run{r: r, start: now}
	run.rec = Record{RetrainID: newRunID(now), Timestamp: now.UTC(), Forced: true, Decides: runID, PID: os.Getpid(),
		Trigger: &trigger.Decision{Retrain: true, Reasons: []trigger.Reason{{Policy: PolicyManual, Fired: true, Text: "Manual - a person's decision about a stored candidate"}}}}
	run.log = r.cfg.Logger.With("retrain_id", run.rec.RetrainID, "decides", runID)
	if lk := r.cfg.Locker; lk != nil {
		unlock, dead, err := lk.Lock(ctx, run.holder())
		if errors.Is(err, ErrBusy) {
			return Result{}, ErrBusy
		}
		if err != nil {
			return Result{}, fmt.Errorf("retrain: lock: %w", err)
		}
		defer unlock()
		if dead != nil {
			run.reap(ctx, dead)
		}
	}
	page, err := r.hist.List(ctx, HistoryFilter{})
	if err != nil {
		return Result{}, fmt.Errorf("retrain: history: %w", err)
	}
	var target, decision *Record
	for i := range page.Records { // newest first
		rec := &page.Records[i]
		switch {
		case rec.Decides == runID && decision == nil:
			decision = rec
		case rec.RetrainID == runID && rec.Decides == "" && target == nil:
			target = rec
		}
	}
	if target == nil || target.NewVersion == "" || target.DryRun ||
		(target.Status != trigger.OutcomeStaged && target.Status != trigger.OutcomeRejected) {
		return Result{}, fmt.Errorf("%w: %s", ErrNoCandidate, runID)
	}
	return op(run, target, decision)
}

// deployStored deploys the candidate target stored, as Run deploys one:
// checked before (checksum and decode), canaries after (a failure rolls back
// to the version deployed before), then target's watermark is committed.
func (run *run) deployStored(ctx context.Context, target *Record, reason string) (Result, error) {
	r := run.r
	cur, err := r.cfg.Models.Current(ctx)
	if err != nil && !errors.Is(err, backup.ErrNoCurrent) {
		return Result{}, err
	}
	v := target.NewVersion
	run.rec.OldVersion, run.rec.NewVersion, run.rec.NewMetrics = cur, v, target.NewMetrics
	run.rec.DatasetQuality = target.DatasetQuality
	run.begin(ctx, "deploy")
	md, err := r.deployMark(ctx, v, target.Mark, true)
	if err != nil {
		run.end(ctx)
		return Result{}, &StageError{Stage: "deploy", Err: err}
	}
	run.end(ctx)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postDeployTimeout)
	defer cancel()
	run.begin(pctx, "verify")
	fails, verr := r.verify(pctx, v)
	run.rec.Canaries = fails
	if (verr != nil || len(fails) > 0) && cur != "" {
		run.end(pctx)
		if err := r.rollback(pctx, cur, md); err != nil {
			return run.fail(pctx, "rollback", err)
		}
		run.rec.RolledBackTo = cur
		why := fmt.Sprintf("%d of %d canaries failed after deploy", len(fails), len(r.cfg.Canaries))
		if verr != nil {
			why = "the deployed version cannot be loaded back: " + verr.Error()
		}
		return run.finish(pctx, trigger.OutcomeRolledBack, reason+"; "+why+"; rolled back to "+string(cur), EventModelRolledBack)
	}
	run.end(pctx)
	if target.Mark != nil && !md.marked {
		if err := r.cfg.Data.Commit(pctx, *target.Mark); err != nil {
			run.warn("committing the data watermark failed (the same samples will count as new next time): " + err.Error())
		}
	}
	return run.finish(pctx, trigger.OutcomeDeployed, reason, EventModelDeployed)
}

// keepRejected stores a candidate the gate rejected, in a run with
// RunOptions.RequireApproval, so that a person can Promote it; it is not
// deployed. A failure to store it is a warning: the run's outcome stays
// "rejected".
func (run *run) keepRejected(ctx context.Context, c Classifier, metrics map[string]float64, trained []model.Example, dep *deployedModel, mark dataset.Mark) {
	man := backup.Manifest{
		Metrics:            metrics,
		DatasetFingerprint: model.Fingerprint(trained),
		Replaces:           dep.version,
		TrainerConfig:      run.r.cfg.TrainerConfig,
		RunID:              run.rec.RetrainID,
	}
	if ms, ok := c.(interface{ SetMetrics(map[string]float64) }); ok {
		ms.SetMetrics(man.Metrics)
	}
	put, err := run.r.put(ctx, man, c)
	if err != nil {
		run.warn("storing the rejected candidate (for a possible promote) failed: " + err.Error())
		return
	}
	run.rec.NewVersion, run.rec.Mark = put.Version, &mark
}
