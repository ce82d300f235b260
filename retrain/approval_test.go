package retrain_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"moodfood/retrain"
	"moodfood/trigger"
)

func TestRetrainer_Approval(t *testing.T) {
	approval := retrain.RunOptions{RequireApproval: true}
	t.Run("StageThenApprove", func(t *testing.T) {
		e := newEnv(t, nil)
		first, err := e.r.Run(t.Context(), retrain.RunOptions{})
		if err != nil || !first.Deployed {
			t.Fatalf("first run: %+v %v", first.Outcome, err)
		}
		staged, err := e.r.Run(t.Context(), approval)
		if err != nil || staged.Outcome != trigger.OutcomeStaged || staged.NewVersion == "" || staged.Record.Mark == nil {
			t.Fatalf("staged run: %s %q %v", staged.Outcome, staged.NewVersion, err)
		}
		if cur, _ := e.models.Current(t.Context()); cur != first.NewVersion {
			t.Fatalf("a staged candidate was deployed: %s", cur)
		}
		commits := e.data.commits
		res, err := e.r.Approve(t.Context(), staged.RunID, "looks good")
		if err != nil || !res.Deployed || res.NewVersion != staged.NewVersion || res.Record.Decides != staged.RunID ||
			!strings.Contains(res.Reason, "approved by a person") || !strings.Contains(res.Reason, "looks good") {
			t.Fatalf("Approve = %+v, %v", res, err)
		}
		if cur, _ := e.models.Current(t.Context()); cur != staged.NewVersion {
			t.Fatalf("deployed after approve: %s", cur)
		}
		if e.data.commits != commits+1 {
			t.Errorf("the staged run's watermark was not committed on approve")
		}
		if _, err := e.r.Approve(t.Context(), staged.RunID, ""); !errors.Is(err, retrain.ErrDecided) {
			t.Errorf("second Approve = %v, want ErrDecided", err)
		}
		if _, err := e.r.Approve(t.Context(), first.RunID, ""); !errors.Is(err, retrain.ErrNoCandidate) {
			t.Errorf("Approve of a deployed run = %v, want ErrNoCandidate", err)
		}
		h := e.history(t)
		if last := h[len(h)-1]; last.Status != trigger.OutcomeDeployed || last.Decides != staged.RunID {
			t.Errorf("history's last record: %+v", last)
		}
		if !slices.Contains(e.events.types(), retrain.EventModelStaged) {
			t.Errorf("events %v lack %s", e.events.types(), retrain.EventModelStaged)
		}
	})
	t.Run("RejectThenPromote", func(t *testing.T) {
		e := newEnv(t, nil)
		first, _ := e.r.Run(t.Context(), retrain.RunOptions{})
		staged, err := e.r.Run(t.Context(), approval)
		if err != nil || staged.Outcome != trigger.OutcomeStaged {
			t.Fatalf("staged run: %s %v", staged.Outcome, err)
		}
		rej, err := e.r.Reject(t.Context(), staged.RunID, "too early")
		if err != nil || rej.Outcome != trigger.OutcomeRejected || !strings.Contains(rej.Reason, "too early") {
			t.Fatalf("Reject = %+v, %v", rej, err)
		}
		if cur, _ := e.models.Current(t.Context()); cur != first.NewVersion {
			t.Fatalf("a rejected candidate is deployed: %s", cur)
		}
		if _, err := e.r.Approve(t.Context(), staged.RunID, ""); !errors.Is(err, retrain.ErrDecided) {
			t.Errorf("Approve after Reject = %v, want ErrDecided", err)
		}
		if _, err := e.r.Promote(t.Context(), staged.RunID, " "); !errors.Is(err, retrain.ErrReasonRequired) {
			t.Errorf("Promote without a reason = %v", err)
		}
		pro, err := e.r.Promote(t.Context(), staged.RunID, "the new intents are needed today")
		if err != nil || !pro.Deployed || pro.NewVersion != staged.NewVersion || !strings.Contains(pro.Reason, "promoted by a person") ||
			!strings.Contains(pro.Reason, "the new intents are needed today") {
			t.Fatalf("Promote = %+v, %v", pro, err)
		}
		if types := e.events.types(); !slices.Contains(types, retrain.EventCandidateRejected) {
			t.Errorf("events %v lack %s", types, retrain.EventCandidateRejected)
		}
	})
	t.Run("GateRejectedIsStoredForPromote", func(t *testing.T) {
		e := newEnv(t, nil)
		first, _ := e.r.Run(t.Context(), retrain.RunOptions{})
		e.trainer.Mode = "const:wrong" // a candidate the gate rejects
		rej, err := e.r.Run(t.Context(), approval)
		if err != nil || rej.Outcome != trigger.OutcomeRejected || rej.NewVersion == "" {
			t.Fatalf("gate-rejected run under approval: %s %q %v", rej.Outcome, rej.NewVersion, err)
		}
		if cur, _ := e.models.Current(t.Context()); cur != first.NewVersion {
			t.Fatalf("deployed: %s", cur)
		}
		if _, err := e.r.Approve(t.Context(), rej.RunID, ""); !errors.Is(err, retrain.ErrNotStaged) {
			t.Errorf("Approve of a gate-rejected candidate = %v, want ErrNotStaged", err)
		}
		pro, err := e.r.Promote(t.Context(), rej.RunID, "known regression, accepted")
		if err != nil || !pro.Deployed || pro.NewVersion != rej.NewVersion || !strings.Contains(pro.Reason, "gate rejected") {
			t.Fatalf("Promote = %+v, %v", pro, err)
		}
		ms, _ := e.models.List(t.Context())
		if len(ms) != 2 {
			t.Errorf("%d versions stored, want 2", len(ms))
		}
	})
	t.Run("WithoutApprovalNothingIsStored", func(t *testing.T) {
		e := newEnv(t, nil)
		e.r.Run(t.Context(), retrain.RunOptions{})
		e.trainer.Mode = "const:wrong"
		rej, _ := e.r.Run(t.Context(), retrain.RunOptions{})
		if rej.Outcome != trigger.OutcomeRejected || rej.NewVersion != "" {
			t.Fatalf("gate-rejected run: %s %q", rej.Outcome, rej.NewVersion)
		}
		if _, err := e.r.Promote(t.Context(), rej.RunID, "why not"); !errors.Is(err, retrain.ErrNoCandidate) {
			t.Errorf("Promote of an unstored candidate = %v, want ErrNoCandidate", err)
		}
		if _, err := e.r.Approve(t.Context(), "retrain_20000101_000000_000000", ""); !errors.Is(err, retrain.ErrNoCandidate) {
			t.Errorf("Approve of an unknown run = %v", err)
		}
	})
}
