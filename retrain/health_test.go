package retrain_test

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/trigger"
)

func TestCheckHealth(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	exit := func(c int) *int { return &c }
	finished := func(outcome string, code int) *retrain.Heartbeat {
		return &retrain.Heartbeat{State: retrain.HeartbeatFinished, Started: now.Add(-time.Hour),
			Finished: now.Add(-time.Hour), ExitCode: exit(code), Outcome: outcome}
	}
	hourly := func(t time.Time) time.Time { return t.Truncate(time.Hour).Add(time.Hour) }
	rec := func(o trigger.Outcome) retrain.Record { return retrain.Record{Status: o} }
	deployed := &retrain.DeployedCheck{Version: "v1"}
	tests := []struct {
		name  string
		in    retrain.HealthInput
		level retrain.HealthLevel
		want  string // in the first reason
	}{
		{"OK", retrain.HealthInput{Heartbeat: finished("deployed", 0), NextRun: hourly,
			History: []retrain.Record{rec(trigger.OutcomeDeployed)}, Deployed: deployed}, retrain.HealthOK, "last run 1h ago deployed"},
		// A failed first run, then one the trigger skipped: nothing was ever
		// deployed and the last attempt failed.
		{"FailedThenSkippedNothingDeployed", retrain.HealthInput{Heartbeat: finished("skipped", 0), NextRun: hourly,
			History:  []retrain.Record{rec(trigger.OutcomeFailed), rec(trigger.OutcomeSkipped)},
			Deployed: &retrain.DeployedCheck{Err: backup.ErrNoCurrent}}, retrain.HealthCritical, "1 consecutive failed run(s)"},
		{"RanButNothingDeployed", retrain.HealthInput{Heartbeat: finished("rejected", 3), NextRun: hourly,
			History:  []retrain.Record{rec(trigger.OutcomeRejected)},
			Deployed: &retrain.DeployedCheck{Err: backup.ErrNoCurrent}}, retrain.HealthCritical, "no model deployed"},
		{"NeverRanNothingDeployed", retrain.HealthInput{HeartbeatErr: fs.ErrNotExist, NextRun: hourly,
			Deployed: &retrain.DeployedCheck{Err: backup.ErrNoCurrent}}, retrain.HealthWarning, "never ran"},
		{"NoRoot", retrain.HealthInput{RootErr: fs.ErrNotExist}, retrain.HealthUnknown, "root unreadable"},
		{"CorruptDeployed", retrain.HealthInput{Heartbeat: finished("deployed", 0), NextRun: hourly,
			Deployed: &retrain.DeployedCheck{Version: "v1", Err: fmt.Errorf("%w: v1: model.bin damaged", backup.ErrCorrupt)}},
			retrain.HealthCritical, "deployed model v1 does not verify"},
		{"ManualRollbackIsNoAttempt", retrain.HealthInput{Heartbeat: finished("deployed", 0), NextRun: hourly,
			History:  []retrain.Record{rec(trigger.OutcomeFailed), rec(trigger.OutcomeDeployed), {Status: trigger.OutcomeRolledBack, Manual: true}},
			Deployed: deployed}, retrain.HealthOK, "last run"},
		{"StagedIsFine", retrain.HealthInput{Heartbeat: finished("staged", 0), NextRun: hourly, Deployed: deployed},
			retrain.HealthOK, "staged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now, tt.in.Grace = now, 6*time.Hour
			h := retrain.CheckHealth(tt.in)
			if h.Level != tt.level || len(h.Reasons) == 0 || !strings.Contains(h.Reasons[0], tt.want) {
				t.Fatalf("CheckHealth = %s %q; want %s with %q first", h.Level, h.Reasons, tt.level, tt.want)
			}
		})
	}
}

func TestVerifyDeployed(t *testing.T) {
	s := backup.NewMemStore()
	if c := retrain.VerifyDeployed(t.Context(), s); !errors.Is(c.Err, backup.ErrNoCurrent) {
		t.Fatalf("empty store: %+v", c)
	}
	m, err := s.Put(t.Context(), backup.Manifest{}, strings.NewReader("model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deploy(t.Context(), m.Version); err != nil {
		t.Fatal(err)
	}
	if c := retrain.VerifyDeployed(t.Context(), s); c.Err != nil || c.Version != m.Version {
		t.Fatalf("deployed: %+v", c)
	}
}
