package trigger_test

import (
	"encoding/json"
	"testing"

	"moodfood/trigger"
)

func TestDecision_String(t *testing.T) {
	tests := []struct {
		name string
		d    trigger.Decision
		want string
	}{
		{"Empty", trigger.Decision{}, ""},
		{"One", trigger.Decision{Retrain: true, Reasons: []trigger.Reason{{Policy: "max_age", Fired: true, Text: "Overdue - never trained"}}},
			"[x] max_age: Overdue - never trained"},
		{"Nested", trigger.Decision{Reasons: []trigger.Reason{
			{Policy: "any", Text: "Not yet"},
			{Policy: "min_new_samples", Text: "Not yet - 3 new samples", Depth: 1},
			{Text: "no policy name", Depth: 2},
		}}, "[ ] any: Not yet\n  [ ] min_new_samples: Not yet - 3 new samples\n    [ ] no policy name"},
		{"NegativeDepth", trigger.Decision{Reasons: []trigger.Reason{{Policy: "p", Text: "t", Depth: -2}}}, "[ ] p: t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.d.String(); got != tt.want {
				t.Errorf("String() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestDecision_Default(t *testing.T) {
	// The whole rendering of the seed policy, as status shows it.
	d := decide(t, trigger.Default(), trigger.State{Now: now, LastSuccess: now.Add(-21 * day), NewSamples: 38})
	want := "[ ] any: Not yet - need 12 more samples or 9 more days\n" +
		"  [ ] force: Not forced\n" +
		"  [ ] min_new_samples: Not yet - 38 new samples; need 12 more samples\n" +
		"  [ ] max_age: Not yet - last retrain 21 days ago; need 9 more days"
	if got := d.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}

func TestDecision_JSON(t *testing.T) {
	d := decide(t, trigger.Any(trigger.MinNewSamples(50)), trigger.State{NewSamples: 57})
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"retrain":true,"reasons":[{"policy":"any","fired":true,"text":"Retrain - 1 of 1 policy fired"},` +
		`{"policy":"min_new_samples","fired":true,"text":"Recommended - 57 new samples (threshold 50)","depth":1}]}`
	if string(b) != want {
		t.Errorf("JSON =\n%s\nwant\n%s", b, want)
	}
}
