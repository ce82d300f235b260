package retrain

import (
	"strings"
	"testing"

	"moodfood/trigger"
)

// The dry-run wording says what would happen, without "0 canary
// utterances", a watermark count beside "0 new", or "deployed ... deployed".
func TestDryRunWording(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{canaryPlan(0, "v1"), "load it back from the store and decode it (no canary utterances configured)"},
		{canaryPlan(2, "v1"), "load it back from the store and check 2 canary utterance(s); roll back to v1 if one fails"},
		{watermarkPlan(0), "commit the data watermark (no new samples: nothing changes)"},
		{watermarkPlan(144), "commit the data watermark (the 144 new sample(s) become old)"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	r := Record{RetrainID: "retrain_x", Status: trigger.OutcomeDeployed, DryRun: true, OldVersion: "v1"}
	if got, want := r.Summary(), "retrain_x deployed (dry run): the candidate would be deployed replacing v1"; !strings.HasPrefix(got, want) {
		t.Errorf("Summary = %q, want prefix %q", got, want)
	}
}
