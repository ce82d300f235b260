package trigger

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Cooldown holds inner back after a candidate that did not make it, so that a
// nightly cron does not retrain the same data every night. While the last
// attempt (State.LastAttempt) was rejected by the gate, failed or was rolled
// back, Cooldown does not fire, whatever inner says, until wait has passed
// since that attempt or moreSamples new samples have arrived since it
// (State.NewSamples minus LastAttempt.NewSamples), whichever comes first.
//
// A zero wait or moreSamples turns that way out off; at least one must be
// positive and neither negative. A forced run (State.Force) is never held
// back. An attempt time in the future (clock skew) counts as just now.
// inner is always consulted: its reasons follow Cooldown's own, one level
// deeper.
func Cooldown(inner Trigger, wait time.Duration, moreSamples int) Trigger {
	switch {
	case inner == nil:
		return invalid(PolicyCooldown, "nil policy")
	case wait < 0 || moreSamples < 0:
		return invalid(PolicyCooldown, "negative wait %v or sample count %d", wait, moreSamples)
	case wait == 0 && moreSamples == 0:
		return invalid(PolicyCooldown, "zero wait and zero sample count: the cooldown would never end")
	}
	return cooldown{inner: inner, wait: wait, more: moreSamples}
}

type cooldown struct {
	inner Trigger
	wait  time.Duration
	more  int
}

// cooling reports whether an attempt that ended with o starts a cooldown.
func cooling(o Outcome) bool {
	return o == OutcomeRejected || o == OutcomeFailed || o == OutcomeRolledBack
}

func (p cooldown) ShouldRetrain(ctx context.Context, s State) (Decision, error) {
	d, err := p.inner.ShouldRetrain(ctx, s)
	if err != nil {
		return Decision{}, err
	}
	last := s.LastAttempt
	blocking := false
	var text, release string
	switch {
	case s.Force:
		text = "Clear - forced run"
	case last.Time.IsZero() || !cooling(last.Outcome):
		text = "Clear - no rejected or failed attempt to wait out"
	default:
		if s.Now.IsZero() {
			return Decision{}, noTime(PolicyCooldown)
		}
		what := strings.ReplaceAll(string(last.Outcome), "_", " ")
		elapsed, skew := age(s.Now, last.Time)
		gained := max(s.NewSamples, 0) - max(last.NewSamples, 0)
		verb := "was " + what
		if last.Outcome == OutcomeFailed {
			verb = what
		}
		when := fmt.Sprintf("last attempt %s ago %s", dur(elapsed), verb)
		if skew {
			when = fmt.Sprintf("last attempt (%s) %s", what, skewText)
		}
		switch {
		case p.wait > 0 && elapsed >= p.wait:
			text = fmt.Sprintf("Clear - %s (cooldown %s)", when, dur(p.wait))
		case p.more > 0 && gained >= p.more:
			text = fmt.Sprintf("Clear - %s since the %s attempt (need %d)", newSamples(gained), what, p.more)
		default:
			blocking = true
			var ways []string
			if p.more > 0 {
				ways = append(ways, moreSamples(p.more-max(gained, 0)))
			}
			if p.wait > 0 {
				ways = append(ways, moreTime(p.wait-elapsed))
			}
			release = strings.Join(ways, " or ")
			text = fmt.Sprintf("Cooling down - %s; need %s", when, release)
		}
	}
	fired := d.Retrain && !blocking
	need := d.Need
	if blocking {
		need = ""
		if d.Retrain {
			need = release
		}
	}
	if fired {
		need = ""
	}
	head := Reason{Policy: PolicyCooldown, Fired: fired, Text: text}
	return Decision{Retrain: fired, Reasons: wrap(head, d), Need: need}, nil
}
