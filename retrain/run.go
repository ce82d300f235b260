package retrain

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/internal/procstat"
	"moodfood/model"
	"moodfood/trigger"
)

// The stages of a run, in order, as Progress and StageError name them.
var stages = []string{"trigger", "load", "merge", "train", "evaluate", "gate", "refit", "save", "deploy", "verify", "commit"}

// postDeployTimeout bounds the steps after a successful Deploy (load-back,
// canaries, rollback, watermark commit). They run on a context detached
// from the caller's cancellation: once a version is deployed, the run
// finishes checking it rather than leaving an unverified model behind.
const postDeployTimeout = 2 * time.Minute

// recordTimeout bounds writing the history line of a failed or canceled run.
const recordTimeout = 5 * time.Second

// run is the state of one Run.
type run struct {
	r     *Retrainer
	opts  RunOptions
	log   *slog.Logger
	rec   Record
	start time.Time

	stage      string
	stageStart time.Time
	plan       []string
}

// Run does one retraining pass: it takes the lock, asks the trigger, loads
// and merges the data, splits it on a stable hash, trains a candidate,
// scores it and the deployed model on the same held-out samples, applies the
// gate, and on a pass stores, deploys and verifies the candidate (rolling
// back if its canaries fail after deploy) and commits the data watermark.
// Every run, whatever its outcome, appends one Record to the history (except
// a dry run, which writes nothing at all).
//
// Run returns ErrBusy at once when another run holds the lock. A skipped run,
// a rejected candidate and a rollback are results with a nil error. A failed
// stage returns the Result and a *StageError; cancellation of ctx fails the
// run at the stage it was in, before any deploy, and leaves the deployed
// model untouched.
func (r *Retrainer) Run(ctx context.Context, opts RunOptions) (Result, error) {
	if !r.running.TryLock() {
		return Result{}, ErrBusy
	}
	defer r.running.Unlock()

	now := r.cfg.Now()
	run := &run{r: r, opts: opts, start: now}
	run.rec = Record{
		RetrainID: newRunID(now),
		Timestamp: now.UTC(),
		DryRun:    opts.DryRun,
		Forced:    opts.Force,
		PID:       os.Getpid(),
	}
	if run.opts.DryRun {
		run.log = slog.New(slog.DiscardHandler)
	} else {
		run.log = r.cfg.Logger.With("retrain_id", run.rec.RetrainID)
	}

	if lk := r.cfg.Locker; lk != nil {
		if run.opts.DryRun {
			unlock, err := lk.RLock(ctx)
			if errors.Is(err, ErrBusy) {
				return Result{}, ErrBusy
			}
			if err != nil {
				return run.fail(ctx, "lock", err)
			}
			defer unlock()
		} else {
			unlock, dead, err := lk.Lock(ctx, run.holder())
			if errors.Is(err, ErrBusy) {
				return Result{}, ErrBusy
			}
			if err != nil {
				return run.fail(ctx, "lock", err)
			}
			defer unlock()
			if dead != nil {
				run.reap(ctx, dead)
			}
		}
	}
	return run.execute(ctx)
}

// reap records the run that died holding the lock as failed and removes what
// it left behind.
func (run *run) reap(ctx context.Context, dead *Holder) {
	r := run.r
	id := dead.RunID
	if id == "" {
		id = "unknown"
	}
	run.log.Warn("previous run did not finish; reaping", "dead_run", id, "dead_pid", dead.PID)
	rec := Record{
		RetrainID: id,
		Timestamp: r.cfg.Now().UTC(),
		Status:    trigger.OutcomeFailed,
		Stage:     "interrupted",
		Error:     fmt.Sprintf("retrain: run did not finish: process %d%s died or was killed (found by %s)", dead.PID, onHost(dead.Host), run.rec.RetrainID),
		Reason:    "the run's process died before it finished; the deployed model was not changed by it after its last completed deploy",
		PID:       dead.PID,
	}
	if !dead.Started.IsZero() {
		rec.DurationSeconds = rec.Timestamp.Sub(dead.Started).Seconds()
	}
	if err := r.hist.Append(ctx, rec); err != nil {
		run.warn("recording the dead run: " + err.Error())
	}
	for _, s := range []any{r.cfg.Data, r.cfg.Models} {
		if rp, ok := s.(Reaper); ok {
			if err := rp.Reap(ctx); err != nil {
				run.warn("reap: " + err.Error())
			}
		}
	}
	if fh, ok := r.cfg.History.(*FileHistory); ok {
		d := filepath.Dir(fh.Path())
		if n, err := reapTemps(d); n > 0 || err != nil {
			run.log.Info("removed temp files", "dir", d, "n", n, "err", err)
		}
	}
}

// holder describes this run to the Locker.
func (run *run) holder() Holder {
	host, _ := os.Hostname()
	return Holder{RunID: run.rec.RetrainID, PID: os.Getpid(), Host: host, Started: run.start.UTC()}
}

func onHost(host string) string {
	if host == "" {
		return ""
	}
	return " on " + host
}

func (run *run) warn(msg string) {
	run.rec.Warnings = append(run.rec.Warnings, msg)
	run.log.Warn(msg)
}

// begin starts a stage: its timer, a progress report and a stage event.
func (run *run) begin(ctx context.Context, stage string) {
	run.stage = stage
	run.stageStart = time.Now()
	run.progress(Progress{Stage: stage})
	run.emit(ctx, EventStageStarted, stage)
	run.log.Debug("stage started", "stage", stage)
}

// end closes the current stage and records its duration.
func (run *run) end(ctx context.Context) {
	if run.stage == "" {
		return
	}
	d := time.Since(run.stageStart)
	run.rec.Durations = append(run.rec.Durations, StageDuration{Stage: run.stage, Seconds: d.Seconds()})
	run.emit(ctx, EventStageFinished, run.stage)
	run.log.Debug("stage finished", "stage", run.stage, "seconds", d.Seconds())
	run.stage = ""
}

func (run *run) progress(p Progress) {
	f := run.r.cfg.OnProgress
	if f == nil {
		return
	}
	p.RunID = run.rec.RetrainID
	p.Steps = len(stages)
	p.Step = slices.Index(stages, p.Stage) + 1
	defer func() {
		if v := recover(); v != nil {
			run.log.Warn("OnProgress panicked", "panic", v)
		}
	}()
	f(p)
}

// deployedModel is the model deployed when the run started.
type deployedModel struct {
	version  backup.Version
	manifest *backup.Manifest
	clf      Classifier
	err      error // why clf could not be loaded
}

// loadDeployed finds and decodes the deployed model. Only a failure to ask
// the store what is deployed is an error; a deployed model that cannot be
// read is reported in err (the gate then applies only the absolute floors).
func (r *Retrainer) loadDeployed(ctx context.Context) (*deployedModel, error) {
	cur, err := r.cfg.Models.Current(ctx)
	if errors.Is(err, backup.ErrNoCurrent) {
		return &deployedModel{}, nil
	}
	if err != nil {
		return nil, err
	}
	d := &deployedModel{version: cur}
	m, clf, err := r.openModel(ctx, cur)
	if m.Version != "" || err == nil {
		d.manifest = &m
	}
	d.clf, d.err = clf, err
	return d, nil
}

// openModel decodes a stored version as it streams from the store (no copy
// of the body is held), then reads the body to its end and closes it, so
// that a store which verifies the checksum while the body is read (see
// ModelStore) has seen every byte. A store error wins over the decoded
// classifier: a body that decodes but fails its checksum is not loaded.
func (r *Retrainer) openModel(ctx context.Context, v backup.Version) (backup.Manifest, Classifier, error) {
	m, rc, err := r.cfg.Models.Open(ctx, v)
	if err != nil {
		return m, nil, err
	}
	clf, derr := safeDecode(r.cfg.Trainer, rc)
	_, err = io.Copy(io.Discard, rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = derr
	}
	if err != nil {
		return m, nil, err
	}
	return m, clf, nil
}

func safeDecode(t Trainer, body io.Reader) (c Classifier, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, &PanicError{Value: p}
		}
	}()
	c, err = t.Decode(body)
	if err == nil && c == nil {
		err = errors.New("Trainer.Decode returned no classifier")
	}
	return c, err
}

// gather builds the trigger's State.
func (r *Retrainer) gather(ctx context.Context, now time.Time, force bool, dep *deployedModel) (trigger.State, HistoryTail, []string, error) {
	var warns []string
	tail, err := Tail(ctx, r.hist)
	if err != nil {
		return trigger.State{}, tail, nil, err
	}
	// Pending and Signals both read the query log; they run side by side.
	var (
		windows []trigger.Signals
		sigErr  error
		sigDone = make(chan struct{})
	)
	go func() {
		defer close(sigDone)
		sig, ok := r.cfg.Data.(Signaler)
		if !ok {
			return
		}
		var oov func(string) (int, int)
		if c, ok := dep.clf.(OOVCounter); ok {
			oov = c.OOV
		}
		windows, sigErr = sig.Signals(ctx, now, r.cfg.SignalWindow, r.cfg.SignalWindows, oov)
	}()
	pending, err := r.cfg.Data.Pending(ctx)
	<-sigDone
	if err != nil {
		return trigger.State{}, tail, nil, err
	}
	st := trigger.State{Now: now, Force: force, NewSamples: pending}
	if tail.LastSuccess != nil {
		st.LastSuccess = tail.LastSuccess.Timestamp
	} else if dep.manifest != nil {
		st.LastSuccess = dep.manifest.Created // deployed by hand, no history yet
	}
	if a := tail.LastAttempt; a != nil {
		st.LastAttempt = trigger.Attempt{Time: a.Timestamp, Outcome: a.Status, NewSamples: a.DatasetQuality.NewSamples}
	}
	if dep.manifest != nil {
		st.Metrics = dep.manifest.Metrics
		st.DatasetSize = int(dep.manifest.Metrics[metricTrainSamples])
		st.Baseline = baselineFrom(dep.manifest.Metrics)
	}
	if sigErr != nil {
		warns = append(warns, "signals: "+sigErr.Error())
	} else {
		st.Windows = windows
	}
	return st, tail, warns, nil
}

// decide asks the trigger, recovering a panic; Force overrides a no.
func (r *Retrainer) decide(ctx context.Context, st trigger.State) (d trigger.Decision, err error) {
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &PanicError{Value: p}
			}
		}()
		d, err = r.cfg.Trigger.ShouldRetrain(ctx, st)
	}()
	if err != nil {
		return d, err
	}
	if st.Force && !d.Retrain {
		d.Retrain = true
		d.Reasons = append(d.Reasons, trigger.Reason{Policy: "force", Fired: true, Text: "forced by the caller"})
	}
	return d, nil
}

func (run *run) execute(ctx context.Context) (Result, error) {
	r := run.r
	cfg := &r.cfg

	if !run.opts.DryRun {
		run.applyRetention(ctx)
	}

	// Trigger.
	run.begin(ctx, "trigger")
	dep, err := r.loadDeployed(ctx)
	if err != nil {
		return run.fail(ctx, "trigger", err)
	}
	if dep.err != nil {
		run.warn(fmt.Sprintf("deployed model %s cannot be loaded; only absolute floors apply: %v", dep.version, dep.err))
	}
	run.rec.OldVersion = dep.version
	st, _, warns, err := r.gather(ctx, run.start, run.opts.Force, dep)
	if err != nil {
		return run.fail(ctx, "trigger", err)
	}
	for _, w := range warns {
		run.warn(w)
	}
	run.rec.DatasetQuality.NewSamples = st.NewSamples
	dec, err := r.decide(ctx, st)
	if err != nil {
		return run.fail(ctx, "trigger", err)
	}
	run.rec.Trigger = &dec
	run.end(ctx)
	if !dec.Retrain {
		run.plan = append(run.plan, "nothing: the trigger says no (use Force to train anyway)")
		return run.finish(ctx, trigger.OutcomeSkipped, "not retraining: "+reasonText(dec), EventRunSkipped)
	}
	run.log.Info("retraining", "reasons", reasonText(dec))
	run.emit(ctx, EventRunStarted, "")

	// Load.
	if err := ctx.Err(); err != nil {
		return run.fail(ctx, "load", err)
	}
	run.begin(ctx, "load")
	var snap dataset.Snapshot
	if p, ok := cfg.Data.(Previewer); ok && run.opts.DryRun {
		snap, err = p.Preview(ctx)
	} else {
		snap, err = cfg.Data.Snapshot(ctx)
	}
	if err != nil {
		return run.fail(ctx, "load", err)
	}
	q := &run.rec.DatasetQuality
	if q.Quarantined, err = r.dropQuarantined(ctx, &snap); err != nil {
		return run.fail(ctx, "load", err)
	}
	if keep, bad, err := disagreeing(ctx, dep.clf, &snap); err != nil {
		return run.fail(ctx, "load", err)
	} else if len(bad) > 0 {
		snap.New = keep
		q.Quarantined += len(bad)
		if !run.opts.DryRun {
			if err := r.quarantine.Add(ctx, r.cfg.Now(), run.rec.RetrainID, QuarantineDisagreement, "", bad); err != nil {
				return run.fail(ctx, "load", err)
			}
		}
		run.log.Warn("quarantined new samples that contradict a strong deployed model and trusted samples", "samples", len(bad))
	}
	q.BaseSamples, q.OldSamples, q.GoldenSamples = len(snap.Base), len(snap.Old), len(snap.Golden)
	q.NewSamples = len(snap.New)
	q.Exported, q.Corrupt = snap.Export.Exported, snap.Corrupt+snap.Export.Corrupt
	q.Sources = countSources(snap)
	run.warnCorrupt(&snap)
	run.end(ctx)

	// Merge and split.
	if err := ctx.Err(); err != nil {
		return run.fail(ctx, "merge", err)
	}
	run.begin(ctx, "merge")
	sp := r.split(snap)
	q.TotalEntries, q.Duplicates, q.Conflicts = sp.total, sp.duplicates, sp.conflicts
	q.TrainSamples, q.HoldoutSamples = len(sp.train), len(sp.holdout)
	q.Labels = len(sp.labels)
	run.end(ctx)
	if len(sp.train) == 0 {
		return run.fail(ctx, "merge", errors.New("no training samples after merge and split"))
	}

	// Train.
	if err := ctx.Err(); err != nil {
		return run.fail(ctx, "train", err)
	}
	run.begin(ctx, "train")
	cand, err := run.train(ctx, sp.train)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		return run.fail(ctx, "train", err)
	}
	ref, twinDetail := dep.clf, ""
	if dep.clf != nil && dep.manifest != nil && dep.manifest.Metrics[MetricRefit] == 1 {
		twin, detail, err := run.twin(ctx, snap, dep)
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			return run.fail(ctx, "train", fmt.Errorf("twin of %s: %w", dep.version, err))
		}
		if twin != nil {
			ref, twinDetail = twin, detail
		} else {
			run.warn(detail)
		}
	}
	run.end(ctx)

	// Evaluate.
	run.begin(ctx, "evaluate")
	ev, err := r.evaluate(ctx, cand, ref, dep, sp)
	if err != nil {
		return run.fail(ctx, "evaluate", err)
	}
	ev.twin, ev.twinDetail = twinDetail != "", twinDetail
	run.end(ctx)

	// Gate.
	run.begin(ctx, "gate")
	run.rec.GoldenFingerprint = goldenFingerprint(sp.golden)
	checks := r.gateChecks(ctx, ev, run)
	if failed := failedChecks(checks); len(failed) > 0 && len(snap.New) > 0 {
		// Find what pulled the candidate down, so that it does not block
		// every later run too.
		at, g, removed, ok, err := run.setAside(ctx, snap, dep, ref, twinDetail)
		if err != nil {
			return run.fail(ctx, "gate", err)
		}
		if ok {
			cand, sp, ev, checks = at.cand, at.sp, at.ev, at.checks
			run.rec.SetAside, run.rec.SetAsideReason = g.name, strings.Join(failed, "; ")
			q.SetAside = len(removed)
			q.TotalEntries, q.Duplicates, q.Conflicts = sp.total, sp.duplicates, sp.conflicts
			q.TrainSamples, q.HoldoutSamples, q.Labels = len(sp.train), len(sp.holdout), len(sp.labels)
			if !run.opts.DryRun {
				if err := r.quarantine.Add(ctx, r.cfg.Now(), run.rec.RetrainID, QuarantineSetAside, g.name, removed); err != nil {
					return run.fail(ctx, "gate", err)
				}
			}
			run.log.Warn("set aside the new samples that pulled the candidate down", "group", g.name, "samples", len(removed),
				"failed", run.rec.SetAsideReason)
		}
	}
	dep.clf, ref = nil, nil // scored; let them go before the candidate is stored and read back
	run.rec.Checks = checks
	run.rec.NewMetrics = finiteMetrics(ev.candMetrics)
	run.rec.OldMetrics = finiteMetrics(ev.depMetrics)
	run.rec.Evaluation = newEvaluation(ev.cand, ev.dep, ev.hasDep)
	if ev.hasDep {
		q.AccuracyImprovement = finite0(ev.cand.Accuracy - ev.dep.Accuracy)
		q.MacroF1Improvement = finite0(ev.cand.MacroF1 - ev.dep.MacroF1)
	} else {
		q.AccuracyImprovement = finite0(ev.cand.Accuracy)
		q.MacroF1Improvement = finite0(ev.cand.MacroF1)
	}
	failed := failedChecks(checks)
	run.end(ctx)
	if len(failed) > 0 {
		run.plan = append(run.plan, "nothing: the gate rejects the candidate; "+dep.describe()+" stays deployed")
		if run.opts.RequireApproval && !run.opts.DryRun {
			run.keepRejected(ctx, cand, finiteMetrics(ev.candMetrics), sp.train, dep, snap.Mark)
		}
		return run.finish(ctx, trigger.OutcomeRejected, "gate rejected the candidate: "+strings.Join(failed, "; "), EventGateRejected)
	}
	if run.opts.DryRun {
		if !cfg.NoRefit {
			run.plan = append(run.plan, fmt.Sprintf("train the version to deploy again on all %d samples (training and held-out), check its canaries and held-out sanity; deploy the candidate itself if that fails", len(sp.train)+len(sp.holdout)))
		}
		run.plan = append(run.plan,
			fmt.Sprintf("store the candidate as a new version (metrics, dataset fingerprint, replaces %s, run id %s)", orNone(dep.version), run.rec.RetrainID),
			"deploy it, replacing "+dep.describe(),
			canaryPlan(len(cfg.Canaries), dep.version),
			watermarkPlan(len(snap.New)),
		)
		if fh, ok := cfg.History.(*FileHistory); ok {
			run.plan = append(run.plan, "append the run's record to "+fh.Path())
		} else {
			run.plan = append(run.plan, "append the run's record to the history")
		}
		return run.finish(ctx, trigger.OutcomeDeployed, "gate passed", "")
	}

	// Refit on everything.
	deploy, metrics, trained := cand, finiteMetrics(ev.candMetrics), sp.train
	if !cfg.NoRefit {
		if err := ctx.Err(); err != nil {
			return run.fail(ctx, "refit", err)
		}
		run.begin(ctx, "refit")
		rf, rm, err := run.refit(ctx, sp, ev)
		if ctx.Err() != nil {
			return run.fail(ctx, "refit", ctx.Err())
		}
		if err != nil {
			run.warn("refit: " + err.Error() + "; deploying the gated candidate itself")
		} else {
			deploy, trained = rf, append(slices.Clone(sp.train), sp.holdout...)
			maps.Copy(metrics, rm)
			metrics[metricTrainSamples] = float64(len(trained))
		}
		run.end(ctx)
	}

	// Save.
	if err := ctx.Err(); err != nil {
		return run.fail(ctx, "save", err)
	}
	run.begin(ctx, "save")
	man := backup.Manifest{
		Metrics:            metrics,
		DatasetFingerprint: model.Fingerprint(trained),
		Replaces:           dep.version,
		TrainerConfig:      cfg.TrainerConfig,
		RunID:              run.rec.RetrainID,
	}
	if ms, ok := deploy.(interface{ SetMetrics(map[string]float64) }); ok {
		ms.SetMetrics(man.Metrics) // *model.Classifier carries its metrics in its file
	}
	if same, err := identicalToDeployed(dep, man, deploy); err != nil {
		return run.fail(ctx, "save", err)
	} else if same {
		run.end(ctx)
		return run.finish(ctx, trigger.OutcomeSkipped, "the candidate is byte-identical to the deployed version "+
			string(dep.version)+" (same data, same trainer): nothing stored or deployed", EventRunSkipped)
	}
	put, err := r.put(ctx, man, deploy)
	if err != nil {
		return run.fail(ctx, "save", err)
	}
	run.rec.NewVersion = put.Version
	run.end(ctx)
	if run.opts.RequireApproval {
		run.rec.Mark = &snap.Mark
		return run.finish(ctx, trigger.OutcomeStaged, "gate passed; "+string(put.Version)+" is staged for approval, "+
			dep.describe()+" stays deployed", EventModelStaged)
	}

	// Deploy. The last point at which cancellation is honoured.
	if err := ctx.Err(); err != nil {
		return run.fail(ctx, "deploy", err)
	}
	run.begin(ctx, "deploy")
	md, err := r.deployMark(ctx, put.Version, &snap.Mark, false)
	if err != nil {
		return run.fail(ctx, "deploy", err)
	}
	run.end(ctx)
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), postDeployTimeout)
	defer cancel()

	// Verify: load the deployed version back and check the canaries.
	run.begin(pctx, "verify")
	fails, verr := r.verify(pctx, put.Version)
	run.rec.Canaries = fails
	if verr != nil || len(fails) > 0 {
		why := ""
		if verr != nil {
			why = "the deployed version cannot be loaded back: " + verr.Error()
		} else {
			why = fmt.Sprintf("%d of %d canaries failed after deploy (%s)", len(fails), len(cfg.Canaries), canaryText(fails))
		}
		if dep.version == "" {
			if verr == nil {
				verr = errors.New(why)
			}
			run.warn("no previous version to roll back to; " + string(put.Version) + " stays deployed")
			return run.fail(pctx, "verify", verr)
		}
		run.end(pctx)
		run.begin(pctx, "rollback")
		if err := r.rollback(pctx, dep.version, md); err != nil {
			return run.fail(pctx, "rollback", fmt.Errorf("%s; rolling back to %s: %w", why, dep.version, err))
		}
		run.rec.RolledBackTo = dep.version
		run.end(pctx)
		return run.finish(pctx, trigger.OutcomeRolledBack, why+"; rolled back to "+string(dep.version), EventModelRolledBack)
	}
	run.end(pctx)

	// Commit the watermark (unless the deploy did); prune.
	run.begin(pctx, "commit")
	if !md.marked {
		if err := cfg.Data.Commit(pctx, snap.Mark); err != nil {
			run.warn("committing the data watermark failed (the same samples will count as new next time): " + err.Error())
		}
	}
	run.prune(pctx)
	run.end(pctx)
	reason := "gate passed; deployed " + string(put.Version)
	if run.rec.SetAside != "" {
		reason += fmt.Sprintf(" after setting aside %d new samples (%s) that made the gate fail", q.SetAside, run.rec.SetAside)
	}
	return run.finish(pctx, trigger.OutcomeDeployed, reason, EventModelDeployed)
}

// prune applies Config.Retention to a store that implements backup.Pruner,
// keeping, beyond the deployed version and its rollback target, the
// candidates awaiting a person's decision (see AwaitingApproval). When the
// history cannot be read it prunes nothing: a warning, not a guess.
func (run *run) prune(ctx context.Context) {
	cfg := &run.r.cfg
	p, ok := cfg.Models.(backup.Pruner)
	if !ok || cfg.Retention.DropsNothing() {
		return
	}
	staged, err := AwaitingApproval(ctx, run.r.hist)
	if err != nil {
		run.warn("prune skipped: the history, needed to keep the candidates awaiting approval, cannot be read: " + err.Error())
		return
	}
	policy := cfg.Retention
	policy.Keep = append(slices.Clip(policy.Keep), staged...)
	if removed, err := p.Prune(ctx, policy); err != nil {
		run.warn("prune: " + err.Error())
	} else if len(removed) > 0 {
		run.log.Info("pruned old versions", "removed", len(removed))
	}
}

// AwaitingApproval returns, newest first, the versions that runs of h
// staged for a person's approval (RunOptions.RequireApproval) and that no
// Approve, Reject or Promote has decided yet: the versions retention keeps
// (backup.Policy.Keep) so that Approve can still deploy them. A rejected
// candidate is not among them. A staged run whose record is damaged is not
// found, so its version gets no protection.
func AwaitingApproval(ctx context.Context, h History) ([]backup.Version, error) {
	page, err := h.List(ctx, HistoryFilter{})
	if err != nil {
		return nil, err
	}
	decided := make(map[string]bool)
	for _, rec := range page.Records {
		if rec.Decides != "" {
			decided[rec.Decides] = true
		}
	}
	var out []backup.Version
	for _, rec := range page.Records { // newest first
		if rec.Status == trigger.OutcomeStaged && rec.Decides == "" && !rec.DryRun && rec.NewVersion != "" &&
			!decided[rec.RetrainID] && !slices.Contains(out, rec.NewVersion) {
			out = append(out, rec.NewVersion)
		}
	}
	return out, nil
}

func (d *deployedModel) describe() string {
	if d.version == "" {
		return "nothing (no model deployed)"
	}
	return string(d.version)
}

func orNone(v backup.Version) string {
	if v == "" {
		return "none"
	}
	return string(v)
}

// train runs the trainer, recovering a panic and forwarding its progress.
func (run *run) train(ctx context.Context, data []model.Example) (c Classifier, err error) {
	defer func() {
		if p := recover(); p != nil {
			c, err = nil, &PanicError{Value: p}
		}
	}()
	c, err = run.r.cfg.Trainer.Train(ctx, data, func(p model.Progress) {
		run.progress(Progress{Stage: "train", Train: &p})
	})
	if err == nil && c == nil {
		err = errors.New("trainer returned no classifier")
	}
	return c, err
}

// errPutDone is what the encoder's writes return once Put has returned
// without reading the body to its end.
var errPutDone = errors.New("the model store stopped reading the body before its end")

// put streams the candidate's encoding into Models.Put through a pipe, so
// that the model is encoded once, never held whole in memory, and encoded
// while the store writes and hashes it. The bytes are hashed on the way; when
// the store reports the files it stored (Manifest.Files), one of them must
// have exactly that size and SHA-256, so that the version is known to hold
// the bytes the candidate encoded to. The encoding goroutine has always
// returned when put returns.
func (r *Retrainer) put(ctx context.Context, man backup.Manifest, c Classifier) (backup.Manifest, error) {
	pr, pw := io.Pipe()
	h := sha256.New()
	var n int64
	encoded := make(chan error, 1)
	go func() {
		err := safeEncode(c, writerFunc(func(p []byte) (int, error) {
			k, err := pw.Write(p)
			h.Write(p[:k])
			n += int64(k)
			return k, err
		}))
		pw.CloseWithError(err) // nil: the reader sees io.EOF
		encoded <- err
	}()
	put, err := r.cfg.Models.Put(ctx, man, pr)
	pr.CloseWithError(errPutDone) // unblock an encoder Put stopped reading
	encErr := <-encoded
	switch {
	case encErr != nil && !errors.Is(encErr, errPutDone):
		return backup.Manifest{}, fmt.Errorf("encode: %w", encErr)
	case err != nil:
		return backup.Manifest{}, err
	case encErr != nil:
		return backup.Manifest{}, fmt.Errorf("version %s: %w", put.Version, encErr)
	}
	if len(put.Files) > 0 {
		sum := hex.EncodeToString(h.Sum(nil))
		if !slices.ContainsFunc(put.Files, func(f backup.FileSum) bool { return f.Size == n && f.SHA256 == sum }) {
			return backup.Manifest{}, fmt.Errorf("version %s: no stored file has the encoded model's size %d and sha256 %s", put.Version, n, sum)
		}
	}
	return put, nil
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func safeEncode(c Classifier, w io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p}
		}
	}()
	return c.Encode(w)
}

// verify loads version v back from the store and checks the canaries on it.
func (r *Retrainer) verify(ctx context.Context, v backup.Version) ([]CanaryResult, error) {
	_, clf, err := r.openModel(ctx, v)
	if err != nil {
		return nil, err
	}
	return canaryFailures(clf, r.cfg.Canaries)
}

// canaryFailures predicts every canary, recovering a panic.
func canaryFailures(c model.Predictor, canaries []Canary) (fails []CanaryResult, err error) {
	defer func() {
		if p := recover(); p != nil {
			fails, err = nil, &PanicError{Value: p}
		}
	}()
	for _, cn := range canaries {
		p := c.Predict(cn.Text)
		if p.Label != cn.Intent && !slices.Contains(p.Labels, cn.Intent) {
			fails = append(fails, CanaryResult{Text: cn.Text, Expected: cn.Intent, Got: p.Label})
		}
	}
	return fails, nil
}

func canaryText(fails []CanaryResult) string {
	var parts []string
	for i, f := range fails {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(fails)-3))
			break
		}
		parts = append(parts, fmt.Sprintf("%q: want %s, got %s", f.Text, f.Expected, orDash(f.Got)))
	}
	return strings.Join(parts, "; ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// reasonText is a decision in one line, for the history's reason and the log:
// when it says no, the decisive policy's words with what it needs; when it
// says yes, the policies that fired; every reason otherwise.
func reasonText(d trigger.Decision) string {
	if !d.Retrain {
		// The shallowest policy that says what it needs is the one that
		// decides ("Cooling down - ...; need 50 more samples or 7 more days",
		// "Not yet - need 12 more samples or 9 more days").
		for depth := 0; depth <= maxDepth(d); depth++ {
			for _, r := range d.Reasons {
				if r.Depth == depth && !r.Fired && strings.Contains(r.Text, "need ") {
					return r.Text
				}
			}
		}
	} else {
		// The leaves that fired, without the summary lines of Any/All/Cooldown.
		var parts []string
		for i, r := range d.Reasons {
			leaf := i+1 == len(d.Reasons) || d.Reasons[i+1].Depth <= r.Depth
			if r.Fired && leaf && r.Text != "" {
				parts = append(parts, r.Text)
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, "; ")
		}
	}
	var parts []string
	for _, r := range d.Reasons {
		if r.Text != "" {
			parts = append(parts, r.Text)
		}
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, "; ")
}

// maxDepth is the deepest nesting level among d's reasons.
func maxDepth(d trigger.Decision) int {
	m := 0
	for _, r := range d.Reasons {
		m = max(m, r.Depth)
	}
	return m
}

// fail ends the run as failed at stage.
func (run *run) fail(ctx context.Context, stage string, err error) (Result, error) {
	if run.stage != "" {
		run.end(ctx)
	}
	run.rec.Stage = stage
	run.rec.Error = err.Error()
	reason := "stage " + stage + " failed: " + err.Error()
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		reason = "canceled during stage " + stage + "; the deployed model is unchanged"
	}
	res, _ := run.finish(ctx, trigger.OutcomeFailed, reason, EventRunFailed)
	return res, &StageError{Stage: stage, Err: err}
}

// finish fills in the record's totals, writes it to the history (not in a dry
// run), sends the final event and builds the Result. A canceled ctx does not
// stop the history line: it is written on a fresh short-deadline context.
func (run *run) finish(ctx context.Context, outcome trigger.Outcome, reason, event string) (Result, error) {
	r := run.r
	rec := &run.rec
	rec.Status = outcome
	rec.Reason = reason
	rec.DurationSeconds = r.cfg.Now().Sub(run.start).Seconds()
	if rec.DurationSeconds < 0 {
		rec.DurationSeconds = 0
	}
	rec.PeakMemoryBytes = procstat.PeakRSS()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if !run.opts.DryRun {
		r.record(fctx, rec, run.log)
		lvl := slog.LevelInfo
		if outcome == trigger.OutcomeFailed {
			lvl = slog.LevelError
		} else if outcome == trigger.OutcomeRolledBack {
			lvl = rollbackLevel(rec)
		} else if outcome == trigger.OutcomeRejected {
			lvl = slog.LevelWarn
		}
		run.log.Log(fctx, lvl, "run finished", "status", string(outcome), "reason", reason,
			"old_version", string(rec.OldVersion), "new_version", string(rec.NewVersion), "seconds", rec.DurationSeconds)
	}
	if event != "" {
		run.emit(fctx, event, "")
	}
	res := Result{
		RunID:      rec.RetrainID,
		Outcome:    outcome,
		Skipped:    outcome == trigger.OutcomeSkipped,
		Deployed:   outcome == trigger.OutcomeDeployed,
		RolledBack: outcome == trigger.OutcomeRolledBack,
		DryRun:     run.opts.DryRun,
		Reason:     reason,
		OldVersion: rec.OldVersion,
		NewVersion: rec.NewVersion,
		Record:     *rec.clone(),
	}
	if run.opts.DryRun {
		res.Plan = append(run.plan, "nothing was written: no version, deploy, watermark, history line, log line or notification (dry run)")
	}
	return res, nil
}

// newRunID returns retrain_YYYYMMDD_HHMMSS_<6 hex>, random in its last part
// so that two runs in one second differ.
func newRunID(t time.Time) string {
	var b [3]byte
	rand.Read(b[:])
	return "retrain_" + t.UTC().Format("20060102_150405") + "_" + hex.EncodeToString(b[:])
}

// predictAll predicts texts in parallel (Classifier.Predict must be safe for
// concurrent use), recovering a panic as a PanicError and honouring ctx.
func predictAll(ctx context.Context, c model.Predictor, ex []model.Example) ([]model.Prediction, error) {
	preds, err := model.PredictAll(ctx, c, ex, 0)
	if pe, ok := errors.AsType[*model.PredictPanicError](err); ok {
		err = &PanicError{Value: pe.Value}
	}
	return preds, err
}

// countSources counts the snapshot's samples by source (see
// DatasetQuality.Sources).
func countSources(snap dataset.Snapshot) map[string]int {
	m := map[string]int{}
	for i, set := range [][]dataset.Sample{snap.Base, snap.Old, snap.New} {
		for _, s := range set {
			src := string(s.Source)
			switch {
			case src != "":
			case i == 0:
				src = string(dataset.SourceSeed)
			default:
				src = "unknown"
			}
			m[src]++
		}
	}
	return m
}
