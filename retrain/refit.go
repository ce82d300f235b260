package retrain

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"moodfood/dataset"
	"moodfood/model"
)

// Manifest metric keys of a refit version (see Config.NoRefit).
const (
	// MetricRefit is 1 on a version trained on all the samples (training
	// and held-out) after its candidate passed the gate. Its other metrics
	// are the gated candidate's: they were measured on samples the
	// candidate did not train on, and its routing threshold is the
	// candidate's.
	MetricRefit = "refit"
	// MetricRefitHoldoutAccuracy is the refit version's accuracy on the
	// held-out samples, which it trained on: a sanity check, not an
	// estimate.
	MetricRefitHoldoutAccuracy = "refit_holdout_accuracy"
)

// Refit is the record of the version trained again on all the samples once
// the gate passed.
type Refit struct {
	// Samples is the number of samples it trained on.
	Samples int `json:"samples"`
	// HoldoutAccuracy is its accuracy on the held-out samples (which it
	// trained on) and CandidateAccuracy the gated candidate's there; the
	// refit must not score below the candidate.
	HoldoutAccuracy   float64 `json:"holdout_accuracy"`
	CandidateAccuracy float64 `json:"candidate_accuracy"`
	// Threshold is the routing threshold it carries, derived on samples it
	// did not train on: its own on the golden set when there is one (which
	// never trains), else the gated candidate's. ThresholdFrom says which:
	// "golden set" or "candidate".
	Threshold     float64 `json:"routing_threshold"`
	ThresholdFrom string  `json:"routing_threshold_from"`
	// Deployed is false when the refit failed a check (Error says which)
	// and the gated candidate deployed instead.
	Deployed bool   `json:"deployed"`
	Error    string `json:"error,omitempty"`
}

// errRefitWorse is the sanity failure of a refit model.
var errRefitWorse = errors.New("the refit model scores below the gated candidate on samples it trained on")

// refit trains the version to deploy on all of sp (training and held-out
// samples) with the same trainer, and checks it: finite predictions, a
// held-out accuracy (on samples it now trained on) at least the gated
// candidate's, and the canaries. It returns the model and the metrics it
// adds to the candidate's; a failed check is an error and the caller
// deploys the candidate itself.
func (run *run) refit(ctx context.Context, sp splitData, ev *evaluation) (Classifier, map[string]float64, error) {
	rec := &Refit{Samples: len(sp.train) + len(sp.holdout), CandidateAccuracy: finite0(ev.cand.Accuracy),
		Threshold: ev.candRouting.Threshold, ThresholdFrom: "candidate"}
	run.rec.Refit = rec
	fail := func(err error) (Classifier, map[string]float64, error) {
		rec.Error = err.Error()
		return nil, nil, err
	}
	all := make([]model.Example, 0, rec.Samples)
	all = append(append(all, sp.train...), sp.holdout...)
	c, err := run.train(ctx, all)
	if err != nil {
		return fail(err)
	}
	preds, err := predictAll(ctx, c, sp.holdout)
	if err != nil {
		return fail(err)
	}
	for _, p := range preds {
		if !isFinite(p.Confidence) {
			return fail(errors.New("the refit model gives a non-finite confidence"))
		}
	}
	rep := report(sp.holdout, preds)
	rec.HoldoutAccuracy = finite0(rep.Accuracy)
	if len(sp.holdout) > 0 && !(rep.Accuracy >= ev.cand.Accuracy-run.r.cfg.Gate.Epsilon) {
		return fail(fmt.Errorf("%w: %.4f < %.4f", errRefitWorse, rep.Accuracy, ev.cand.Accuracy))
	}
	if len(run.r.cfg.Canaries) > 0 {
		fails, err := canaryFailures(c, run.r.cfg.Canaries)
		if err != nil {
			return fail(err)
		}
		if len(fails) > 0 {
			return fail(fmt.Errorf("%d canaries fail on the refit model (%s)", len(fails), canaryText(fails)))
		}
	}
	m := map[string]float64{MetricRefit: 1, MetricRefitHoldoutAccuracy: finite0(rep.Accuracy)}
	if len(sp.golden) > 0 && !(run.r.cfg.CorrectionsLogged && ev.candRouting.Met && ev.candRouting.Samples > len(sp.golden)) {
		// The golden set never trains: the refit model earns its own
		// threshold there (unless the candidate's rests on more samples:
		// see Config.CorrectionsLogged).
		gp, err := predictAll(ctx, c, sp.golden)
		if err != nil {
			return fail(err)
		}
		rt := DeriveRouting(gp, sp.golden, RoutingOptions{TargetPrecision: run.r.cfg.TargetPrecision, Delta: run.r.cfg.RoutingDelta})
		rec.Threshold, rec.ThresholdFrom = rt.Threshold, "golden set"
		maps.Copy(m, rt.Metrics())
	}
	rec.Deployed = true
	return c, m, nil
}

// twin rebuilds the comparison model for a deployed version that was refit
// on its own hold-out: scored on today's hold-out, that version would be
// judged on samples it trained on. The twin is what that version's gated
// candidate was: the same trainer on the training side of the samples the
// deployed version saw (the base set and the samples committed before this
// run), so the candidate and the twin are compared like for like, neither
// having trained on the hold-out. When those samples are exactly what the
// deployed version trained on (its dataset fingerprint) and the trainer is
// unchanged, the twin is that candidate, bit for bit. It returns nil and a
// warning when there is nothing to train a twin on.
func (run *run) twin(ctx context.Context, snap dataset.Snapshot, dep *deployedModel) (Classifier, string, error) {
	old := snap
	old.New = nil
	sp := run.r.split(old)
	if len(sp.train) == 0 {
		return nil, fmt.Sprintf("deployed %s was refit on its hold-out, but no earlier samples are left to rebuild its gated candidate; it is compared as it is", dep.version), nil
	}
	c, err := run.train(ctx, sp.train)
	if err != nil {
		return nil, "", err
	}
	same := "differ from"
	if model.Fingerprint(append(append([]model.Example(nil), sp.train...), sp.holdout...)) == dep.manifest.DatasetFingerprint {
		same = "match"
	}
	return c, fmt.Sprintf("deployed %s was refit on its hold-out: compared through its twin, trained on the %d earlier training-side samples (which %s its dataset fingerprint)", dep.version, len(sp.train), same), nil
}
