package trigger

import (
	"context"
	"fmt"
	"strings"
)

// Any fires when at least one of ts fires. It consults every policy, even
// after one fired, so the Decision holds every reason for status and dry
// runs: its own summary first ("Not yet - need 12 more samples or 9 more
// days" when none fired and the children say what they need), then each
// child's reasons one level deeper. Any needs at least one policy and no nil
// ones; the first error of a child is returned as is.
func Any(ts ...Trigger) Trigger {
	if err := checkChildren(ts); err != "" {
		return invalid(PolicyAny, "%s", err)
	}
	return anyOf{ts: append([]Trigger(nil), ts...)}
}

// All fires when every one of ts fires. Like Any it consults every policy and
// reports all their reasons. All needs at least one policy (an empty All
// would fire on every run) and no nil ones.
func All(ts ...Trigger) Trigger {
	if err := checkChildren(ts); err != "" {
		return invalid(PolicyAll, "%s", err)
	}
	return allOf{ts: append([]Trigger(nil), ts...)}
}

// Not fires when t does not, for instance to hold retraining back while a
// condition holds: All(Default(), Not(custom)). Its reason names the policy
// it inverts; t's reasons follow, unchanged, one level deeper.
func Not(t Trigger) Trigger {
	if t == nil {
		return invalid(PolicyNot, "nil policy")
	}
	return not{t: t}
}

func checkChildren(ts []Trigger) string {
	if len(ts) == 0 {
		return "no policies"
	}
	for i, t := range ts {
		if t == nil {
			return fmt.Sprintf("policy %d is nil", i)
		}
	}
	return ""
}

// consult asks every policy, in order.
func consult(ctx context.Context, s State, ts []Trigger) ([]Decision, int, error) {
	ds := make([]Decision, len(ts))
	fired := 0
	for i, t := range ts {
		d, err := t.ShouldRetrain(ctx, s)
		if err != nil {
			return nil, 0, err
		}
		ds[i] = d
		if d.Retrain {
			fired++
		}
	}
	return ds, fired, nil
}

type anyOf struct{ ts []Trigger }

func (p anyOf) ShouldRetrain(ctx context.Context, s State) (Decision, error) {
	ds, fired, err := consult(ctx, s, p.ts)
	if err != nil {
		return Decision{}, err
	}
	head := Reason{Policy: PolicyAny, Fired: fired > 0}
	var need string
	switch {
	case fired > 0:
		head.Text = fmt.Sprintf("Retrain - %d of %s fired", fired, plural(len(ds), "policy"))
	default:
		need = joinNeeds(ds, " or ", false)
		if need != "" {
			head.Text = "Not yet - need " + need
		} else {
			head.Text = fmt.Sprintf("Not yet - none of %s fired", plural(len(ds), "policy"))
		}
	}
	return Decision{Retrain: fired > 0, Reasons: wrap(head, ds...), Need: need}, nil
}

type allOf struct{ ts []Trigger }

func (p allOf) ShouldRetrain(ctx context.Context, s State) (Decision, error) {
	ds, fired, err := consult(ctx, s, p.ts)
	if err != nil {
		return Decision{}, err
	}
	ok := fired == len(ds)
	head := Reason{Policy: PolicyAll, Fired: ok}
	var need string
	if ok {
		head.Text = fmt.Sprintf("Retrain - all %s fired", plural(len(ds), "policy"))
	} else {
		head.Text = fmt.Sprintf("Not yet - %d of %s fired, all required", fired, plural(len(ds), "policy"))
		need = joinNeeds(ds, " and ", true)
		if need != "" {
			head.Text += "; need " + need
		}
	}
	return Decision{Retrain: ok, Reasons: wrap(head, ds...), Need: need}, nil
}

// joinNeeds joins what the children that did not fire need. If every is set,
// it returns "" unless every one of them knows its need (all of them must
// fire). Needs that are themselves alternatives or conjunctions go in
// parentheses when joined with the other operator.
func joinNeeds(ds []Decision, sep string, every bool) string {
	other := " and "
	if sep == other {
		other = " or "
	}
	var parts []string
	for _, d := range ds {
		if d.Retrain {
			continue
		}
		if d.Need == "" {
			if every {
				return ""
			}
			continue
		}
		n := d.Need
		if strings.Contains(n, other) {
			n = "(" + n + ")"
		}
		parts = append(parts, n)
	}
	return strings.Join(parts, sep)
}

type not struct{ t Trigger }

func (p not) ShouldRetrain(ctx context.Context, s State) (Decision, error) {
	d, err := p.t.ShouldRetrain(ctx, s)
	if err != nil {
		return Decision{}, err
	}
	head := Reason{Policy: PolicyNot, Fired: !d.Retrain}
	if d.Retrain {
		head.Text = "Blocked - " + headPolicy(d) + " fired"
	} else {
		head.Text = "Retrain - " + headPolicy(d) + " did not fire"
	}
	return Decision{Retrain: !d.Retrain, Reasons: wrap(head, d)}, nil
}
