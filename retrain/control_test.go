package retrain_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"moodfood/retrain"
	"moodfood/trigger"
)

// TestRetrainer_Control: an operator's canary promote is recorded with who
// and what and notified as a deploy; other actions as operator.control; a
// refused action leaves no trace; a promote waits for no run (ErrBusy).
func TestRetrainer_Control(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	first, second := twoDeploys(t, e)
	if err := e.models.Deploy(ctx, first); err != nil {
		t.Fatal(err)
	}
	hist0, notes0 := len(e.history(t)), len(e.events.types())

	res, err := e.r.Control(ctx, retrain.Control{Action: retrain.ActionCanaryStart, Version: second, Actor: "alice", Detail: "fraction 0.1"},
		func(context.Context) error { return nil })
	if err != nil || res.Outcome != trigger.OutcomeSkipped {
		t.Fatalf("canary start: %+v, %v", res, err)
	}
	res, err = e.r.Control(ctx, retrain.Control{Action: retrain.ActionCanaryPromote, Version: second, Actor: "alice"},
		func(ctx context.Context) error { return e.models.Deploy(ctx, second) })
	if err != nil || !res.Deployed || res.OldVersion != first || res.NewVersion != second {
		t.Fatalf("promote: %+v, %v", res, err)
	}
	_, err = e.r.Control(ctx, retrain.Control{Action: retrain.ActionShadowStart, Version: "nope", Actor: "bob"},
		func(context.Context) error { return errors.New("no such version") })
	if se, ok := errors.AsType[*retrain.StageError](err); !ok || se.Stage != "control" {
		t.Fatalf("refused action: %v, want a *StageError in stage control", err)
	}
	if _, err := e.r.Control(ctx, retrain.Control{Action: "deploy-anything"}, func(context.Context) error { return nil }); err == nil {
		t.Fatal("an unknown action was accepted")
	}

	h := e.history(t)[hist0:]
	if len(h) != 2 {
		t.Fatalf("history got %d records, want 2 (start, promote): %+v", len(h), h)
	}
	for i, want := range []string{retrain.ActionCanaryStart, retrain.ActionCanaryPromote} {
		if h[i].Action != want || h[i].Actor != "alice" || !h[i].Manual || h[i].Timestamp.IsZero() {
			t.Errorf("record %d: action %q actor %q manual %v at %v", i, h[i].Action, h[i].Actor, h[i].Manual, h[i].Timestamp)
		}
	}
	if h[1].Status != trigger.OutcomeDeployed || h[1].NewVersion != second {
		t.Errorf("promote record: %s -> %s", h[1].Status, h[1].NewVersion)
	}
	if got := e.events.types()[notes0:]; !slices.Equal(got, []string{retrain.EventOperatorControl, retrain.EventModelDeployed}) {
		t.Errorf("notified %v", got)
	}
	// The promote is not a retraining attempt: status still shows the last run's.
	st, err := e.r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastSuccess == nil || st.LastSuccess.Manual {
		t.Errorf("Status.LastSuccess = %+v, want the last retrain", st.LastSuccess)
	}
	if st.LastRollback != nil {
		t.Errorf("Status.LastRollback = %+v after a promote", st.LastRollback)
	}
}
