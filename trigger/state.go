package trigger

import "time"

// Outcome is how a retraining attempt ended.
type Outcome string

// The outcomes a run can record.
const (
	OutcomeDeployed   Outcome = "deployed"
	OutcomeRejected   Outcome = "rejected"
	OutcomeFailed     Outcome = "failed"
	OutcomeRolledBack Outcome = "rolled_back"
	OutcomeSkipped    Outcome = "skipped"
	// OutcomeStaged: the candidate passed the gate and was stored, but
	// waits for a person's approval before it is deployed.
	OutcomeStaged Outcome = "staged"
)

// Attempt is one earlier retraining run as a policy sees it.
type Attempt struct {
	Time    time.Time `json:"time"`
	Outcome Outcome   `json:"outcome"`
	// NewSamples is how many new samples were waiting when it ran.
	NewSamples int `json:"new_samples"`
}

// Signals are live measurements over one window of the query log, computed by
// package dataset and handed in; each rate comes with the number of queries
// it was measured on.
type Signals struct {
	Start, End time.Time
	Queries    int // queries in the window
	// FallbackRate is the share of queries answered by the LLM fallback.
	FallbackRate float64
	// Fallbacks is the number of fallback queries with LLM labels, the sample
	// size of Agreement.
	Fallbacks int
	// Agreement is the share of fallbacks whose ML top label is among the
	// LLM's labels: a live accuracy proxy.
	Agreement float64
	// OOVRate is the share of tokens not in the deployed model's vocabulary;
	// Tokens is its sample size.
	OOVRate float64
	Tokens  int
	// Intents is the predicted-intent distribution (label -> share).
	Intents map[string]float64
	// MeanConfidence is the mean ML confidence.
	MeanConfidence float64
}

// Baseline is what the deployed model saw at training time, for drift
// policies to compare against.
type Baseline struct {
	// Intents is the training label distribution (label -> share).
	Intents map[string]float64
	// OOVRate is the out-of-vocabulary rate measured on held-out data.
	OOVRate float64
	// Agreement and FallbackRate measured right after the last deploy, if known.
	Agreement    float64
	FallbackRate float64
}

// State is everything a policy may look at. Policies never read files: the
// caller fills State. Policies only read it; a State may be shared by
// concurrent decisions as long as nobody writes to its maps meanwhile.
type State struct {
	// Now is the current time, the policies' only clock. Policies that
	// measure time (MaxAge, Adaptive, Cooldown) return an error matching
	// ErrNoTime when it is zero.
	Now time.Time
	// LastSuccess is the time of the last deployed retrain; zero if never.
	LastSuccess time.Time
	// LastAttempt is the most recent run that trained (deployed, rejected,
	// failed or rolled back); zero if none.
	LastAttempt Attempt
	// NewSamples is the number of training samples new since the watermark.
	// A negative count is treated as zero.
	NewSamples int
	// DatasetSize is the number of samples the deployed model trained on.
	DatasetSize int
	// Force is set when a person asked for a run regardless of policy.
	Force bool
	// Metrics are the deployed model's held-out metrics (accuracy, macro_f1...).
	Metrics map[string]float64
	// Windows are the most recent signal windows, oldest first; the last one
	// is the current window.
	Windows  []Signals
	Baseline Baseline
}
