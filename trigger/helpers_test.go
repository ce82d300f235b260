package trigger_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"moodfood/trigger"
)

const day = 24 * time.Hour

// now is the injected clock of every test.
var now = time.Date(2025, 3, 15, 2, 0, 0, 0, time.UTC)

// decide runs tr on s and fails the test on error.
func decide(t *testing.T, tr trigger.Trigger, s trigger.State) trigger.Decision {
	t.Helper()
	d, err := tr.ShouldRetrain(context.Background(), s)
	if err != nil {
		t.Fatalf("ShouldRetrain: %v", err)
	}
	return d
}

// check asserts the verdict and that the reasons contain every phrase.
func check(t *testing.T, d trigger.Decision, retrain bool, phrases ...string) {
	t.Helper()
	if d.Retrain != retrain {
		t.Errorf("Retrain = %v, want %v\n%s", d.Retrain, retrain, d)
	}
	text := d.String()
	for _, p := range phrases {
		if !strings.Contains(text, p) {
			t.Errorf("reasons lack %q:\n%s", p, text)
		}
	}
}
