package retrain

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/trigger"
)

// Record is the readable account of one run: the line Run appends to the
// history file (data/logs/retrain_history.jsonl in the embedded default), the
// record carried by every Event, and Result.Record. The first four fields and
// dataset_quality keep the seed's names.
type Record struct {
	RetrainID string    `json:"retrain_id"`
	Timestamp time.Time `json:"timestamp"`
	// Status is the outcome: skipped, failed, rejected, deployed or
	// rolled_back. In a dry run it is the outcome the run would have had.
	Status trigger.Outcome `json:"status"`
	DryRun bool            `json:"dry_run,omitempty"`
	// Forced is set when a person asked for the run: a forced retrain
	// (RunOptions.Force) or a manual rollback.
	Forced bool `json:"forced,omitempty"`
	// Manual is set on the record of a manual rollback (Retrainer.Rollback),
	// which trains nothing: its Trigger holds one "manual" reason, OldVersion
	// and NewVersion (= RolledBackTo) are the versions deployed before and
	// after, and DatasetQuality is zero. Readers that look for the last
	// retraining attempt skip such records (see Retrainer.Rollback).
	Manual bool `json:"manual,omitempty"`
	// Actor and Action are set on the record of an operator's action
	// (Retrainer.Control, Retrainer.RollbackAs): who asked, and what.
	Actor  string `json:"actor,omitempty"`
	Action string `json:"action,omitempty"`
	// Reason says in one sentence why the run ended as it did.
	Reason string `json:"reason,omitempty"`
	// Decides is set on the record of a person's decision about a stored
	// candidate (Retrainer.Approve, Reject, Promote): the run id of the run
	// that staged or rejected it. Status is then deployed (approved or
	// promoted) or rejected, and Reason carries the person's reason.
	Decides string `json:"decides,omitempty"`
	// Mark is the data watermark of a run whose candidate was stored without
	// being deployed (staged, or rejected under RunOptions.RequireApproval):
	// deploying it later commits this mark.
	Mark *dataset.Mark `json:"mark,omitempty"`
	// Stage and Error are set when the run failed.
	Stage string `json:"stage,omitempty"`
	Error string `json:"error,omitempty"`

	DatasetQuality DatasetQuality `json:"dataset_quality"`
	// Trigger is the trigger's decision with a reason for every policy.
	Trigger *trigger.Decision `json:"trigger,omitempty"`
	// Checks are the gate's checks, each with value, threshold and verdict.
	Checks []Check `json:"checks,omitempty"`

	// GoldenFingerprint identifies the golden set the run evaluated on;
	// BestEver is the best model ever deployed on it, which the candidate
	// was compared with (see Gate.MaxBestEverDrop).
	GoldenFingerprint string    `json:"golden_fingerprint,omitempty"`
	BestEver          *BestEver `json:"best_ever,omitempty"`
	// SetAside names the group of new samples the run set aside after the
	// gate rejected the candidate trained with them (see
	// Config.Quarantine), and SetAsideReason what that candidate failed.
	SetAside       string `json:"set_aside,omitempty"`
	SetAsideReason string `json:"set_aside_reason,omitempty"`

	OldVersion backup.Version     `json:"old_version,omitempty"`
	NewVersion backup.Version     `json:"new_version,omitempty"`
	OldMetrics map[string]float64 `json:"old_metrics,omitempty"`
	NewMetrics map[string]float64 `json:"new_metrics,omitempty"`
	// Refit is set when the gate passed and the version to deploy was
	// trained again on all the samples (NewMetrics stay the gated
	// candidate's, measured on samples it did not train on).
	Refit *Refit `json:"refit,omitempty"`
	// RolledBackTo is the version deployed again after a failed canary
	// check, or by a manual rollback.
	RolledBackTo backup.Version `json:"rolled_back_to,omitempty"`
	// Canaries lists the canary utterances that failed after deploy.
	Canaries []CanaryResult `json:"canary_failures,omitempty"`
	// Evaluation details the held-out scores of a run that trained, for
	// charts: per-intent F1 of the candidate and the deployed model, the
	// candidate's top confusions and its reliability bins.
	Evaluation *Evaluation `json:"evaluation,omitempty"`

	// Durations are the per-stage wall-clock times, in order.
	Durations []StageDuration `json:"durations"`
	// DurationSeconds is the whole run.
	DurationSeconds float64 `json:"duration_seconds"`
	// PeakMemoryBytes is the process's peak resident set size at the end of
	// the run (getrusage maxrss), which bounds what the run used.
	PeakMemoryBytes int64 `json:"peak_memory_bytes,omitempty"`
	PID             int   `json:"pid,omitempty"`
	// Warnings are problems that did not change the outcome (a failed
	// watermark commit, a failed prune).
	Warnings []string `json:"warnings,omitempty"`
}

// DatasetQuality describes the data a run trained and evaluated on. The first
// three fields are the seed's.
type DatasetQuality struct {
	// TotalEntries is the number of samples after merge and dedupe.
	TotalEntries int `json:"total_entries"`
	// NewSamples is the number of samples new since the committed watermark.
	NewSamples int `json:"new_samples"`
	// AccuracyImprovement is candidate minus deployed held-out accuracy
	// (the candidate's accuracy when nothing was deployed).
	AccuracyImprovement float64 `json:"accuracy_improvement"`
	MacroF1Improvement  float64 `json:"macro_f1_improvement"`

	BaseSamples int `json:"base_samples"`
	OldSamples  int `json:"old_samples"`
	Duplicates  int `json:"duplicates"`
	// Conflicts counts same-text samples with different labels (see
	// dataset.Merge).
	Conflicts      int `json:"conflicts"`
	TrainSamples   int `json:"train_samples"`
	HoldoutSamples int `json:"holdout_samples"`
	GoldenSamples  int `json:"golden_samples"`
	Labels         int `json:"labels"`
	// Exported is how many samples the query-log export added this run;
	// Corrupt counts damaged lines skipped while reading.
	Exported int `json:"exported"`
	Corrupt  int `json:"corrupt"`
	// Sources counts the samples read (base, old and new, before merge
	// and dedupe) by where their labels came from (dataset.Source; base
	// samples without one count as "seed", others as "unknown").
	Sources map[string]int `json:"sources,omitempty"`
	// Quarantined counts the samples left out because an earlier run
	// quarantined or set them aside, plus the new samples this run
	// quarantined for disagreeing with a strong deployed model and with
	// trusted samples; SetAside the new samples it set aside.
	Quarantined int `json:"quarantined,omitempty"`
	SetAside    int `json:"set_aside,omitempty"`
}

// Evaluation is the detail of a run's held-out evaluation (the gate's
// samples, golden set excluded).
type Evaluation struct {
	// Intents are the per-intent scores, by intent: the candidate's F1, and
	// the deployed model's on the same samples (OldF1, nil when nothing was
	// deployed or the intent was unknown to it).
	Intents []IntentF1 `json:"intents,omitempty"`
	// Confusions are the candidate's most frequent (true, predicted)
	// mistakes on single-label samples, most frequent first (at most 10).
	Confusions []model.Confusion `json:"confusions,omitempty"`
	// Reliability is the candidate's reliability diagram: its top-label
	// confidence in equal-width bins (model.DefaultBins) with the accuracy in each.
	Reliability []ReliabilityBin `json:"reliability,omitempty"`
}

// ReliabilityBin is one bin of a reliability diagram (model.ReliabilityBin
// with JSON names): N held-out predictions whose confidence fell in [Lo,
// Hi), their mean Confidence and the share of them that was right.
type ReliabilityBin struct {
	Lo         float64 `json:"lo"`
	Hi         float64 `json:"hi"`
	N          int     `json:"n"`
	Confidence float64 `json:"confidence"`
	Accuracy   float64 `json:"accuracy"`
}

// IntentF1 is one intent's held-out F1 for the candidate (F1) and the
// deployed model (OldF1), with the intent's number of held-out samples.
type IntentF1 struct {
	Intent  string   `json:"intent"`
	Support int      `json:"support"`
	F1      float64  `json:"f1"`
	OldF1   *float64 `json:"old_f1,omitempty"`
}

// newEvaluation keeps what a chart of the run needs from the candidate's
// and the deployed model's reports (dep is the zero Report when nothing
// was deployed). Non-finite numbers are dropped or zeroed.
func newEvaluation(cand, dep model.Report, hasDep bool) *Evaluation {
	e := &Evaluation{}
	old := map[string]float64{}
	for _, l := range dep.PerLabel {
		old[l.Label] = l.F1
	}
	for _, l := range cand.PerLabel {
		it := IntentF1{Intent: l.Label, Support: l.Support, F1: finite0(l.F1)}
		if o, ok := old[l.Label]; ok && hasDep {
			o = finite0(o)
			it.OldF1 = &o
		}
		e.Intents = append(e.Intents, it)
	}
	e.Confusions = cand.Confused[:min(10, len(cand.Confused))]
	for _, b := range cand.Reliability {
		e.Reliability = append(e.Reliability, ReliabilityBin{Lo: b.Lo, Hi: b.Hi, N: b.N,
			Confidence: finite0(b.Confidence), Accuracy: finite0(b.Accuracy)})
	}
	return e
}

// Check is one gate check: Value compared with Threshold by Op ("<=" or
// ">="), and the verdict.
type Check struct {
	Name      string  `json:"name"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Op        string  `json:"op"`
	Passed    bool    `json:"passed"`
	// Detail says more where a number is not enough (the worst intent, the
	// missing labels).
	Detail string `json:"detail,omitempty"`
}

// MarshalJSON writes the record with its timestamp in UTC RFC 3339 with
// microseconds (dataset.TimeFormat), so that every line has sub-second
// precision; encoding/json's default drops trailing zero digits.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record // without this method
	return json.Marshal(struct {
		RetrainID string `json:"retrain_id"`
		Timestamp string `json:"timestamp"`
		plain
	}{r.RetrainID, formatTime(r.Timestamp), plain(r)})
}

// UnmarshalJSON reads a record, with its timestamp in RFC 3339 or in the
// seed's zoneless form ("2006-01-02T15:04:05.999999", read as UTC), so that
// a history written by the seed's scripts stays readable.
func (r *Record) UnmarshalJSON(b []byte) error {
	type plain Record // without this method
	aux := struct {
		Timestamp string `json:"timestamp"`
		*plain
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	t, err := parseTime(aux.Timestamp)
	if err != nil {
		return fmt.Errorf("retrain: record %s: %w", r.RetrainID, err)
	}
	r.Timestamp = t
	return nil
}

// parseTime reads RFC 3339, or the seed's zoneless layout as UTC; the empty
// string is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// formatTime is how every timestamp the package writes looks: UTC RFC 3339
// with microseconds, as in the query log.
func formatTime(t time.Time) string { return t.UTC().Format(dataset.TimeFormat) }

// MarshalJSON writes a non-finite Value or Threshold (a NaN metric) as null,
// which encoding/json would otherwise refuse.
func (c Check) MarshalJSON() ([]byte, error) {
	type plain struct {
		Name      string   `json:"name"`
		Value     *float64 `json:"value"`
		Threshold *float64 `json:"threshold"`
		Op        string   `json:"op"`
		Passed    bool     `json:"passed"`
		Detail    string   `json:"detail,omitempty"`
	}
	return json.Marshal(plain{c.Name, finitePtr(c.Value), finitePtr(c.Threshold), c.Op, c.Passed, c.Detail})
}

func finitePtr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// finiteMetrics returns m without its non-finite values, which JSON cannot
// carry.
func finiteMetrics(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

// StageDuration is how long one stage of a run took.
type StageDuration struct {
	Stage   string  `json:"stage"`
	Seconds float64 `json:"seconds"`
}

// CanaryResult is one canary utterance that did not get its expected intent.
type CanaryResult struct {
	Text     string `json:"text"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
}

// Summary is a one-line human account of the record, as a chat message or a
// log line would show it. For a deployed single-label model it gives the
// held-out accuracy and its change; for a multi-label model (one whose
// metrics include "subset_accuracy") it gives micro-F1 and its change
// instead, since exact-match accuracy understates a model that gets most
// labels right. A change is against the replaced model, or against zero when
// nothing was deployed, as DatasetQuality.AccuracyImprovement is.
func (r *Record) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.RetrainID, r.Status)
	if r.DryRun {
		b.WriteString(" (dry run)")
	}
	switch r.Status {
	case trigger.OutcomeDeployed:
		if r.DryRun {
			b.WriteString(": the candidate would be deployed")
		} else {
			fmt.Fprintf(&b, ": %s deployed", r.NewVersion)
		}
		if r.OldVersion != "" {
			fmt.Fprintf(&b, " replacing %s", r.OldVersion)
		}
		if _, multi := r.NewMetrics["subset_accuracy"]; multi {
			// Multi-label: "accuracy" is exact-match accuracy, a harsh
			// headline; micro-F1 says more. The record keeps both.
			if f1, ok := r.NewMetrics["micro_f1"]; ok {
				fmt.Fprintf(&b, ", micro-F1 %.4f (%+.4f)", f1, f1-r.OldMetrics["micro_f1"])
			}
		} else if acc, ok := r.NewMetrics["accuracy"]; ok {
			fmt.Fprintf(&b, ", accuracy %.4f (%+.4f)", acc, r.DatasetQuality.AccuracyImprovement)
		}
		th, hasTh := r.NewMetrics[MetricRoutingThreshold]
		if r.Refit != nil && r.Refit.Deployed {
			th, hasTh = r.Refit.Threshold, true
			fmt.Fprintf(&b, ", refit on all samples, routing threshold %.3f (from the %s)", th, r.Refit.ThresholdFrom)
		} else if hasTh {
			fmt.Fprintf(&b, ", routing threshold %.3f (coverage %.4f)", th, r.NewMetrics[MetricRoutingCoverage])
		}
		if hasTh && th >= 1 {
			// Say what a threshold of 1 means for the service.
			b.WriteString(": too few held-out samples show the target precision yet, so the LLM answers (nearly) every query")
		}
		fmt.Fprintf(&b, ", %d samples (%d new)", r.DatasetQuality.TotalEntries, r.DatasetQuality.NewSamples)
	default:
		if r.Reason != "" {
			b.WriteString(": " + r.Reason)
		}
	}
	return b.String()
}
