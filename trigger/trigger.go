package trigger

import "context"

// Trigger decides whether a retraining run should happen.
//
// Contract:
//   - A decision not to retrain is a result, not an error: errors are kept for
//     misconfigured policies (ErrInvalid) and incomplete State (ErrNoTime),
//     or whatever a custom policy's own work returns.
//   - On error the Decision is the zero value.
//   - Decision.Reasons holds a reason for every policy consulted, fired or not.
//
// The policies of this package are pure functions of State: they ignore ctx
// (composites pass it on to their children, which may be custom policies),
// are immutable and safe for concurrent use.
type Trigger interface {
	ShouldRetrain(ctx context.Context, s State) (Decision, error)
}

// TriggerFunc adapts a function to the Trigger interface, for custom
// policies written in code.
type TriggerFunc func(ctx context.Context, s State) (Decision, error)

// ShouldRetrain calls f(ctx, s).
func (f TriggerFunc) ShouldRetrain(ctx context.Context, s State) (Decision, error) { return f(ctx, s) }

// Policy names, as they appear in Reason.Policy.
const (
	PolicyMaxAge          = "max_age"
	PolicyMinNewSamples   = "min_new_samples"
	PolicyForce           = "force"
	PolicyAny             = "any"
	PolicyAll             = "all"
	PolicyNot             = "not"
	PolicyCooldown        = "cooldown"
	PolicyFallbackRate    = "fallback_rate"
	PolicyAgreement       = "agreement"
	PolicyVocabularyDrift = "vocabulary_drift"
	PolicyLabelShift      = "label_shift"
	PolicyAdaptive        = "adaptive"
)
