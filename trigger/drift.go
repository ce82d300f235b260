package trigger

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// DriftOptions tune the drift policies (FallbackRate, AgreementDrop,
// VocabularyDrift, LabelShift) so that they do not flap. A nil
// *DriftOptions, like a zero field, means the default.
type DriftOptions struct {
	// MinSamples is the sample size below which a window is not judged:
	// queries for FallbackRate and LabelShift, fallbacks for AgreementDrop,
	// tokens for VocabularyDrift. Default 50.
	MinSamples int
	// K and N: the policy fires only when at least K of the last N windows
	// (State.Windows) breach the limit. Windows below MinSamples never count
	// as breaches, and when fewer than N windows exist, the ones there are
	// are used. Defaults: N = max(3, K), K = min(2, N). K must not exceed N.
	K, N int
}

// setDefaults returns o with the defaults filled in, or an error for
// negative fields or K > N.
func (o *DriftOptions) setDefaults() (DriftOptions, error) {
	var r DriftOptions
	if o != nil {
		r = *o
	}
	if r.MinSamples < 0 || r.K < 0 || r.N < 0 {
		return r, fmt.Errorf("negative option in %+v", r)
	}
	if r.MinSamples == 0 {
		r.MinSamples = 50
	}
	if r.N == 0 {
		r.N = max(3, r.K)
	}
	if r.K == 0 {
		r.K = min(2, r.N)
	}
	if r.K > r.N {
		return r, fmt.Errorf("K = %d exceeds N = %d", r.K, r.N)
	}
	return r, nil
}

// drift is the k-of-n evaluation shared by the drift policies.
type drift struct {
	policy  string
	opts    DriftOptions
	unit    string                              // what the sample size counts
	size    func(Signals) int                   // the sample size of a window
	check   func(State, Signals) (bool, string) // breach, and the value in words
	fired   string                              // the word for a firing verdict
	precond func(State) (ok bool, why string)   // optional: can the policy judge at all
}

func (p drift) ShouldRetrain(_ context.Context, s State) (Decision, error) {
	if p.precond != nil {
		if ok, why := p.precond(s); !ok {
			return leaf(p.policy, false, why, ""), nil
		}
	}
	if len(s.Windows) == 0 {
		return leaf(p.policy, false, "No data - no signal windows yet", ""), nil
	}
	recent := s.Windows[max(len(s.Windows)-p.opts.N, 0):]
	breaches, small := 0, 0
	for _, w := range recent {
		if p.size(w) < p.opts.MinSamples {
			small++
			continue
		}
		if b, _ := p.check(s, w); b {
			breaches++
		}
	}
	cur := recent[len(recent)-1]
	var now string
	curSmall := p.size(cur) < p.opts.MinSamples
	if curSmall {
		now = fmt.Sprintf("only %d %s in the current window (need %d)", max(p.size(cur), 0), p.unit, p.opts.MinSamples)
	} else {
		_, now = p.check(s, cur)
	}
	fired := breaches >= p.opts.K
	var prefix string
	switch {
	case fired:
		prefix = p.fired
	case curSmall:
		prefix = "Not enough data"
	case breaches > 0:
		prefix = "Watching"
	default:
		prefix = "OK"
	}
	text := fmt.Sprintf("%s - %s; %d of the last %s breached (need %d)",
		prefix, now, breaches, plural(len(recent), "window"), p.opts.K)
	if small > 0 {
		text += fmt.Sprintf(", %d too small to judge", small)
	}
	return leaf(p.policy, fired, text, ""), nil
}

// newDrift validates opts and the rate limits, then builds the policy.
func newDrift(d drift, opts *DriftOptions, limits ...float64) Trigger {
	o, err := opts.setDefaults()
	if err != nil {
		return invalid(d.policy, "%v", err)
	}
	for _, l := range limits {
		if !(l >= 0 && l <= 1) {
			return invalid(d.policy, "limit %v outside [0, 1]", l)
		}
	}
	d.opts = o
	return d
}

// FallbackRate fires when the share of queries answered by the LLM fallback
// (Signals.FallbackRate) is above limit, in [0, 1], in K of the last N
// windows with at least MinSamples queries.
func FallbackRate(limit float64, opts *DriftOptions) Trigger {
	return newDrift(drift{
		policy: PolicyFallbackRate,
		unit:   "queries",
		size:   func(w Signals) int { return w.Queries },
		check: func(_ State, w Signals) (bool, string) {
			return w.FallbackRate > limit, fmt.Sprintf("fallback rate %s (limit %s)", pct(w.FallbackRate), pct(limit))
		},
		fired: "Degraded",
	}, opts, limit)
}

// AgreementDrop fires when the live accuracy proxy, the share of fallbacks
// on which the ML model agrees with the LLM (Signals.Agreement), is below
// limit, in [0, 1], in K of the last N windows with at least MinSamples
// fallbacks.
func AgreementDrop(limit float64, opts *DriftOptions) Trigger {
	return newDrift(drift{
		policy: PolicyAgreement,
		unit:   "fallbacks",
		size:   func(w Signals) int { return w.Fallbacks },
		check: func(_ State, w Signals) (bool, string) {
			return w.Agreement < limit, fmt.Sprintf("ML-LLM agreement %s (limit %s)", pct(w.Agreement), pct(limit))
		},
		fired: "Degraded",
	}, opts, limit)
}

// VocabularyDrift fires when the out-of-vocabulary rate (Signals.OOVRate)
// is above limit, or above Baseline.OOVRate + margin, in K of the last N
// windows with at least MinSamples tokens. A zero limit or margin turns that
// check off; both are in [0, 1] and at least one must be positive. An unknown
// baseline is 0, so the margin then acts as a second absolute limit.
func VocabularyDrift(limit, margin float64, opts *DriftOptions) Trigger {
	if limit == 0 && margin == 0 {
		return invalid(PolicyVocabularyDrift, "zero limit and zero margin: nothing to check")
	}
	return newDrift(drift{
		policy: PolicyVocabularyDrift,
		unit:   "tokens",
		size:   func(w Signals) int { return w.Tokens },
		check: func(s State, w Signals) (bool, string) {
			over := limit > 0 && w.OOVRate > limit
			up := margin > 0 && w.OOVRate > s.Baseline.OOVRate+margin
			var bounds []string
			if limit > 0 {
				bounds = append(bounds, "limit "+pct(limit))
			}
			if margin > 0 {
				bounds = append(bounds, fmt.Sprintf("baseline %s + %s", pct(s.Baseline.OOVRate), pct(margin)))
			}
			return over || up, fmt.Sprintf("OOV rate %s (%s)", pct(w.OOVRate), strings.Join(bounds, ", "))
		},
		fired: "Drifted",
	}, opts, limit, margin)
}

// LabelShift fires when the distribution of predicted intents
// (Signals.Intents) is further than maxJSDistance, in [0, 1], from the
// training label distribution (Baseline.Intents), by JSDistance, in K of the
// last N windows with at least MinSamples queries. Windows without intents
// are not judged; without a baseline the policy never fires and says so.
func LabelShift(maxJSDistance float64, opts *DriftOptions) Trigger {
	return newDrift(drift{
		policy: PolicyLabelShift,
		unit:   "classified queries",
		size: func(w Signals) int {
			if normalize(w.Intents) == nil {
				return 0
			}
			return w.Queries
		},
		check: func(s State, w Signals) (bool, string) {
			js := JSDistance(w.Intents, s.Baseline.Intents)
			return js > maxJSDistance, fmt.Sprintf("intent JS distance %s from training (limit %s)",
				strconv.FormatFloat(js, 'f', 3, 64), strconv.FormatFloat(maxJSDistance, 'f', 3, 64))
		},
		precond: func(s State) (bool, string) {
			if normalize(s.Baseline.Intents) == nil {
				return false, "No baseline - no training intent distribution to compare with"
			}
			return true, ""
		},
		fired: "Drifted",
	}, opts, maxJSDistance)
}
