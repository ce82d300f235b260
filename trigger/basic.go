package trigger

import (
	"context"
	"fmt"
	"math"
	"time"
)

// MaxAge fires when at least d has passed since the last successful retrain
// (State.LastSuccess), or when the model was never trained. Exactly d fires.
//
// A LastSuccess in the future (clock skew) counts as age 0: MaxAge does not
// fire because of it, and its reason says "last retrain is in the future
// (clock skew?)". d must be positive.
func MaxAge(d time.Duration) Trigger {
	if d <= 0 {
		return invalid(PolicyMaxAge, "duration must be positive, got %v", d)
	}
	return maxAge{d: d}
}

type maxAge struct{ d time.Duration }

func (p maxAge) ShouldRetrain(_ context.Context, s State) (Decision, error) {
	if s.Now.IsZero() {
		return Decision{}, noTime(PolicyMaxAge)
	}
	fired, phrase, need := ageVerdict(s, p.d)
	if fired {
		return leaf(PolicyMaxAge, true, "Overdue - "+phrase, ""), nil
	}
	return leaf(PolicyMaxAge, false, "Not yet - "+phrase+"; need "+need, need), nil
}

// ageVerdict is the MaxAge rule, shared with Adaptive: phrase describes the
// age ("last retrain 21 days ago"); need is empty when the rule fires.
func ageVerdict(s State, limit time.Duration) (fired bool, phrase, need string) {
	if s.LastSuccess.IsZero() {
		return true, "never trained", ""
	}
	a, skew := age(s.Now, s.LastSuccess)
	switch {
	case skew:
		return false, "last retrain " + skewText, moreTime(limit)
	case a >= limit:
		return true, fmt.Sprintf("last retrain %s ago (limit %s)", dur(a), dur(limit)), ""
	}
	return false, fmt.Sprintf("last retrain %s ago", dur(a)), moreTime(limit - a)
}

// MinNewSamples fires when at least n new training samples
// (State.NewSamples) are waiting. Exactly n fires. n must be at least 1.
func MinNewSamples(n int) Trigger {
	if n < 1 {
		return invalid(PolicyMinNewSamples, "sample count must be at least 1, got %d", n)
	}
	return minNewSamples{n: n}
}

type minNewSamples struct{ n int }

func (p minNewSamples) ShouldRetrain(_ context.Context, s State) (Decision, error) {
	have := max(s.NewSamples, 0)
	if have >= p.n {
		return leaf(PolicyMinNewSamples, true, fmt.Sprintf("Recommended - %s (threshold %d)", newSamples(have), p.n), ""), nil
	}
	need := moreSamples(p.n - have)
	return leaf(PolicyMinNewSamples, false, fmt.Sprintf("Not yet - %s; need %s", newSamples(have), need), need), nil
}

// Force fires when State.Force is set, that is when a person asked for a run.
// Put it in an Any to let a forced run override the other policies, as
// Default does; Cooldown lets forced runs through as well.
func Force() Trigger { return force{} }

type force struct{}

func (force) ShouldRetrain(_ context.Context, s State) (Decision, error) {
	if s.Force {
		return leaf(PolicyForce, true, "Forced - a run was requested", ""), nil
	}
	return leaf(PolicyForce, false, "Not forced", ""), nil
}

// Adaptive retrains sooner when data arrives faster: it fires when the new
// samples reach share of the dataset the deployed model trained on
// (State.NewSamples >= share × State.DatasetSize, rounded up, at least 1), and
// never later than maxAge after the last successful retrain (the MaxAge rule,
// including "never trained" and clock skew). With DatasetSize unknown (zero)
// only the age rule applies. share must be positive and finite (it may exceed
// 1); maxAge must be positive.
func Adaptive(share float64, maxAge time.Duration) Trigger {
	if !(share > 0) || math.IsInf(share, 0) {
		return invalid(PolicyAdaptive, "share must be positive and finite, got %v", share)
	}
	if maxAge <= 0 {
		return invalid(PolicyAdaptive, "maximum age must be positive, got %v", maxAge)
	}
	return adaptive{share: share, maxAge: maxAge}
}

type adaptive struct {
	share  float64
	maxAge time.Duration
}

func (p adaptive) ShouldRetrain(_ context.Context, s State) (Decision, error) {
	if s.Now.IsZero() {
		return Decision{}, noTime(PolicyAdaptive)
	}
	fired, phrase, ageNeed := ageVerdict(s, p.maxAge)
	if fired {
		return leaf(PolicyAdaptive, true, "Overdue - "+phrase, ""), nil
	}
	have := max(s.NewSamples, 0)
	if s.DatasetSize <= 0 {
		return leaf(PolicyAdaptive, false, "Not yet - dataset size unknown, "+phrase+"; need "+ageNeed, ageNeed), nil
	}
	th := p.threshold(s.DatasetSize)
	if have >= th {
		text := fmt.Sprintf("Recommended - %s, %s of the %d samples the model trained on (threshold %s)",
			newSamples(have), pct(float64(have)/float64(s.DatasetSize)), s.DatasetSize, pct(p.share))
		return leaf(PolicyAdaptive, true, text, ""), nil
	}
	need := moreSamples(th-have) + " or " + ageNeed
	text := fmt.Sprintf("Not yet - %s (threshold %d = %s of %d), %s; need %s",
		newSamples(have), th, pct(p.share), s.DatasetSize, phrase, need)
	return leaf(PolicyAdaptive, false, text, need), nil
}

// threshold is share × size rounded up, forgiving float noise, at least 1.
func (p adaptive) threshold(size int) int {
	x := math.Ceil(p.share*float64(size) - 1e-9)
	if x >= math.MaxInt32 {
		return math.MaxInt32
	}
	return max(int(x), 1)
}
