package trigger_test

import (
	"context"
	"errors"
	"testing"

	"moodfood/trigger"
)

// fixed is a custom policy with a fixed verdict and need.
func fixed(name string, fire bool, need string) trigger.Trigger {
	return trigger.TriggerFunc(func(context.Context, trigger.State) (trigger.Decision, error) {
		text := "no"
		if fire {
			text = "yes"
		}
		return trigger.Decision{Retrain: fire, Need: need, Reasons: []trigger.Reason{{Policy: name, Fired: fire, Text: text}}}, nil
	})
}

func TestCompose(t *testing.T) {
	yes, no := fixed("a", true, ""), fixed("b", false, "3 more samples")
	c := fixed("c", false, "2 more days")
	tests := []struct {
		name    string
		tr      trigger.Trigger
		retrain bool
		reasons int
		need    string
		phrases []string
	}{
		{"AnyOneFired", trigger.Any(no, yes), true, 3, "", []string{"[x] any: Retrain - 1 of 2 policies fired", "  [ ] b: no", "  [x] a: yes"}},
		{"AnyNoneFired", trigger.Any(no, c), false, 3, "3 more samples or 2 more days", []string{"Not yet - need 3 more samples or 2 more days"}},
		{"AnyNoNeeds", trigger.Any(fixed("d", false, "")), false, 2, "", []string{"Not yet - none of 1 policy fired"}},
		{"AnyConsultsAll", trigger.Any(yes, yes, no), true, 4, "", []string{"2 of 3 policies fired", "[ ] b: no"}},
		{"AllFired", trigger.All(yes, yes), true, 3, "", []string{"[x] all: Retrain - all 2 policies fired"}},
		{"AllPartly", trigger.All(yes, no, c), false, 4, "3 more samples and 2 more days",
			[]string{"[ ] all: Not yet - 1 of 3 policies fired, all required; need 3 more samples and 2 more days"}},
		{"AllUnknownNeed", trigger.All(no, fixed("d", false, "")), false, 3, "", nil},
		{"NotFired", trigger.Not(yes), false, 2, "", []string{"[ ] not: Blocked - a fired", "  [x] a: yes"}},
		{"NotNotFired", trigger.Not(no), true, 2, "", []string{"[x] not: Retrain - b did not fire"}},
		{"NotNot", trigger.Not(trigger.Not(yes)), true, 3, "", []string{"    [x] a: yes"}},
		{"Nested", trigger.Any(trigger.All(yes, no), c), false, 5, "3 more samples or 2 more days",
			[]string{"[ ] any:", "  [ ] all: Not yet - 1 of 2", "    [x] a: yes", "    [ ] b: no", "  [ ] c: no"}},
		{"NestedParens", trigger.All(trigger.Any(no, c), fixed("e", false, "1 more day")), false, 5,
			"(3 more samples or 2 more days) and 1 more day", nil},
		{"NestedFires", trigger.All(trigger.Any(no, yes), trigger.Not(no)), true, 6, "", []string{"[x] all: Retrain - all 2 policies fired"}},
		{"Empty", trigger.Any(trigger.TriggerFunc(func(context.Context, trigger.State) (trigger.Decision, error) {
			return trigger.Decision{}, nil
		})), false, 1, "", []string{"[ ] any: Not yet - none of 1 policy fired"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, tt.tr, trigger.State{Now: now})
			check(t, d, tt.retrain, tt.phrases...)
			if len(d.Reasons) != tt.reasons {
				t.Errorf("got %d reasons, want %d:\n%s", len(d.Reasons), tt.reasons, d)
			}
			if d.Need != tt.need {
				t.Errorf("Need = %q, want %q", d.Need, tt.need)
			}
			if d.Reasons[0].Depth != 0 || d.Reasons[0].Fired != d.Retrain {
				t.Errorf("head reason %+v does not sum up the decision", d.Reasons[0])
			}
		})
	}
}

func TestCompose_Errors(t *testing.T) {
	boom := errors.New("boom")
	failing := trigger.TriggerFunc(func(context.Context, trigger.State) (trigger.Decision, error) {
		return trigger.Decision{Retrain: true}, boom
	})
	ok := trigger.Force()
	tests := []struct {
		name string
		tr   trigger.Trigger
		want error
	}{
		{"AnyChild", trigger.Any(ok, failing), boom},
		{"AllChild", trigger.All(failing, ok), boom},
		{"NotChild", trigger.Not(failing), boom},
		{"NestedChild", trigger.Any(trigger.All(ok, trigger.Not(failing))), boom},
		{"AnyEmpty", trigger.Any(), trigger.ErrInvalid},
		{"AllEmpty", trigger.All(), trigger.ErrInvalid},
		{"AnyNil", trigger.Any(ok, nil), trigger.ErrInvalid},
		{"AllNil", trigger.All(nil), trigger.ErrInvalid},
		{"NotNil", trigger.Not(nil), trigger.ErrInvalid},
		{"InvalidChild", trigger.Any(ok, trigger.MaxAge(0)), trigger.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.tr.ShouldRetrain(context.Background(), trigger.State{Now: now})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if d.Retrain || d.Reasons != nil {
				t.Errorf("Decision = %+v on error, want zero", d)
			}
		})
	}
}

func TestCompose_ArgumentsCopied(t *testing.T) {
	ts := []trigger.Trigger{trigger.Force()}
	anyOf := trigger.Any(ts...)
	ts[0] = fixed("x", true, "")
	check(t, decide(t, anyOf, trigger.State{}), false, "force: Not forced")
}

func TestConcurrentUse(t *testing.T) {
	policy := trigger.Cooldown(trigger.Any(trigger.Default(), trigger.LabelShift(0.3, nil)), day, 5)
	s := trigger.State{Now: now, NewSamples: 60, Baseline: trigger.Baseline{Intents: map[string]float64{"a": 1}},
		Windows: []trigger.Signals{{Queries: 100, Intents: map[string]float64{"a": 0.5, "b": 0.5}}}}
	want := decide(t, policy, s).String()
	done := make(chan string)
	for range 8 {
		go func() {
			d, _ := policy.ShouldRetrain(context.Background(), s)
			done <- d.String()
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent decision differs:\n%s\nwant\n%s", got, want)
		}
	}
}
