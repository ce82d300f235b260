// Package trigger decides whether a retraining run should happen.
//
// A [Trigger] looks at a [State] (the time, the last successful retrain, the
// last attempt, how many new samples wait, live [Signals] windows and the
// deployed model's [Baseline]) and returns a [Decision]: retrain or not, with
// a [Reason] in words for every policy consulted, fired or not, so that
// status and dry runs can show why:
//
//	[ ] any: Not yet - need 12 more samples or 9 more days
//	  [ ] force: Not forced
//	  [ ] min_new_samples: Not yet - 38 new samples; need 12 more samples
//	  [ ] max_age: Not yet - last retrain 21 days ago; need 9 more days
//
// The trigger decides only. It reads no files and no clock: the caller
// computes the signals elsewhere (package dataset) and fills State, including
// State.Now, the only clock the policies use. Policies are pure functions of
// State, immutable, and safe for concurrent use.
//
// # Policies
//
//   - [Default] is the seed's policy, [Seed](30, 50): retrain when forced,
//     when 50 new samples wait, or 30 days after the last success.
//   - [MaxAge], [MinNewSamples] and [Force] are the seed's rules one by one.
//     Thresholds are inclusive: exactly 30 days or exactly 50 samples fire.
//   - [Adaptive] retrains sooner when data arrives faster: when the new
//     samples reach a share of the dataset, and never later than a maximum age.
//   - [Cooldown] holds a policy back after a rejected, failed or rolled-back
//     attempt until enough time or enough new samples have passed.
//   - The drift policies [FallbackRate], [AgreementDrop], [VocabularyDrift]
//     and [LabelShift] watch the live signal windows. Each judges only windows
//     with enough samples and fires only when K of the last N windows breach
//     its limit ([DriftOptions]), so a single bad window does not trigger a
//     run. Rate limits are strict: a rate equal to its limit does not breach.
//   - [Any], [All] and [Not] compose policies. Any and All consult every child
//     (no short cut), so the Decision shows every reason.
//   - [TriggerFunc] adapts a function for custom policies.
//
// # Reasons
//
// Each built-in policy gives one Reason named after it (the Policy constants).
// Composite policies (Any, All, Not, Cooldown) put their own summary first and
// their children's reasons after it with Depth one higher; [Decision.String]
// indents by Depth. Reason texts start with a verdict word: "Overdue",
// "Recommended", "Forced", "Degraded" or "Drifted" when a policy fires;
// "Not yet", "Not forced", "Cooling down", "OK", "Watching", "Not enough
// data", "No data" or "No baseline" when it does not. [Decision.Need] says,
// where a policy can tell, what would make it fire.
//
// # Time
//
// A last retrain in the future (clock skew between machines, or a clock set
// back) counts as age zero: MaxAge never fires because of a negative age and
// its reason says "last retrain is in the future (clock skew?)". Nothing
// panics on odd times; very old times saturate.
//
// # Errors
//
// Not retraining is a result, not an error. Constructors never panic: one
// given invalid arguments returns a Trigger whose ShouldRetrain fails with an
// error matching [ErrInvalid]. Policies that measure time fail with
// [ErrNoTime] when State.Now is zero. Composite policies return the first
// error of a child unchanged.
package trigger
