package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/retrain"
)

// TestEvaluate covers healthy, late and failing inputs of evaluate.
func TestEvaluate(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	monthly, err := parseSchedule("0 3 1 * *")
	if err != nil {
		t.Fatal(err)
	}
	code := func(c int) *int { return &c }
	finished := func(started time.Time, c int, outcome string) *heartbeat {
		return &heartbeat{State: stateFinished, Started: started, Finished: started.Add(time.Minute),
			ExitCode: code(c), Outcome: outcome, Host: "h", PID: 42,
			Result: &resultSummary{Version: "model_backup_20261201_030100_abc"}}
	}
	tests := []struct {
		name string
		in   monitorInput
		code int
		want []string // substrings of the line
	}{
		{"healthy", monitorInput{Heartbeat: finished(now.Add(-6*time.Hour), exitOK, "deployed"), Schedule: monthly},
			monOK, []string{"RETRAIN OK - last run 5h ago deployed model_backup_20261201_030100_abc", "next run in 30d", "| age=21540s failures=0"}},
		{"rejected is fine", monitorInput{Heartbeat: finished(now.Add(-6*time.Hour), exitRejected, "rejected"), Schedule: monthly},
			monOK, []string{"RETRAIN OK - last run 5h ago rejected"}},
		{"late", monitorInput{Heartbeat: finished(now.Add(-40*24*time.Hour), exitOK, "skipped"), Schedule: monthly},
			monWarning, []string{"RETRAIN WARNING - late: a run was due 30d ago (2026-11-01 03:00 UTC), grace 6h0m0s", "last run 39d ago skipped"}},
		{"late after grace", monitorInput{Heartbeat: finished(now.Add(-20*time.Hour), exitOK, "skipped"), Schedule: monthly, Grace: 5 * time.Hour},
			monWarning, []string{"RETRAIN WARNING - late: a run was due 6h ago (2026-12-01 03:00 UTC), grace 5h0m0s"}},
		{"within grace", monitorInput{Heartbeat: finished(now.Add(-20*time.Hour), exitOK, "skipped"), Schedule: monthly, Grace: 7 * time.Hour},
			monOK, []string{"RETRAIN OK - last run 19h ago skipped"}},
		{"not scheduled", monitorInput{Heartbeat: finished(now.Add(-time.Hour), exitOK, "deployed")},
			monWarning, []string{"RETRAIN WARNING - no crontab entry for this root"}},
		{"never ran", monitorInput{HeartbeatErr: fs.ErrNotExist, Schedule: monthly},
			monWarning, []string{"RETRAIN WARNING - no heartbeat yet"}},
		{"failed", func() monitorInput {
			hb := finished(now.Add(-6*time.Hour), exitFailed, "failed")
			hb.Error = "retrain: train: boom"
			return monitorInput{Heartbeat: hb, Schedule: monthly}
		}(), monCritical, []string{"RETRAIN CRITICAL - last run 5h ago failed: retrain: train: boom"}},
		{"history failures", monitorInput{Heartbeat: finished(now.Add(-6*time.Hour), exitOK, "skipped"), Schedule: monthly,
			History: []retrain.Record{{Status: "deployed"}, {Status: "failed"}, {Status: "failed"}}},
			monCritical, []string{"RETRAIN CRITICAL - 2 consecutive failed run(s)", "failures=2"}},
		{"manual rollback is fine", monitorInput{Heartbeat: finished(now.Add(-6*time.Hour), exitOK, "deployed"), Schedule: monthly,
			History: []retrain.Record{{Status: "deployed"}, {Status: "rolled_back", Manual: true}}},
			monOK, []string{"RETRAIN OK - last run 5h ago deployed", "failures=0"}},
		{"manual rollback hides no failure", monitorInput{Heartbeat: finished(now.Add(-6*time.Hour), exitOK, "skipped"), Schedule: monthly,
			History: []retrain.Record{{Status: "deployed"}, {Status: "failed"}, {Status: "rolled_back", Manual: true}}},
			monCritical, []string{"RETRAIN CRITICAL - 1 consecutive failed run(s)", "failures=1"}},
		{"corrupt heartbeat", monitorInput{HeartbeatErr: errors.New("bad json"), Schedule: monthly},
			monCritical, []string{"RETRAIN CRITICAL - heartbeat unreadable: bad json"}},
		{"running", monitorInput{Heartbeat: &heartbeat{State: stateRunning, Started: now.Add(-10 * time.Minute),
			Deadline: now.Add(time.Hour), Host: "h", PID: 42}, Schedule: monthly, Host: "h", Alive: func(int) bool { return true }},
			monOK, []string{"RETRAIN OK - run in progress for 10m"}},
		{"stuck", monitorInput{Heartbeat: &heartbeat{State: stateRunning, Started: now.Add(-3 * time.Hour),
			Deadline: now.Add(-time.Hour), Host: "other", PID: 42}, Schedule: monthly, Host: "h"},
			monCritical, []string{"past its deadline"}},
		{"died", monitorInput{Heartbeat: &heartbeat{State: stateRunning, Started: now.Add(-3 * time.Minute),
			Host: "h", PID: 42}, Schedule: monthly, Host: "h", Alive: func(int) bool { return false }},
			monCritical, []string{"(pid 42) died without finishing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Now = now
			if tt.in.Grace == 0 {
				tt.in.Grace = 6 * time.Hour
			}
			v := evaluate(tt.in)
			line := v.String()
			if v.Code != tt.code {
				t.Errorf("code %d, want %d: %s", v.Code, tt.code, line)
			}
			for _, w := range tt.want {
				if !strings.Contains(line, w) {
					t.Errorf("line %q lacks %q", line, w)
				}
			}
			if strings.Contains(line, "\n") {
				t.Errorf("line has a newline: %q", line)
			}
		})
	}
}

// TestMonitorHistory reads the tail past damaged and torn lines, through
// the library's History, seed-format timestamps included.
func TestMonitorHistory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data", "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if l, d, err := monitorHistory(t.Context(), root, 5); err != nil || l != nil || d != 0 {
		t.Fatalf("missing history: %v %d %v", l, d, err)
	}
	data := `{"retrain_id":"a","timestamp":"2025-08-20T03:00:00","status":"success"}
not json
{"retrain_id":"b","timestamp":"2026-11-27T03:00:00.5Z","status":"failed"}

{"retrain_id":"c","timestamp":"2026-11-27T04:00:00Z","status":"deployed"}
{"torn`
	if err := os.WriteFile(filepath.Join(dir, historyName), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	l, d, err := monitorHistory(t.Context(), root, 2)
	if err != nil || d != 1 || len(l) != 2 || l[0].RetrainID != "b" || l[1].RetrainID != "c" {
		t.Fatalf("got %+v damaged %d err %v", l, d, err)
	}
	if l[0].Timestamp.IsZero() {
		t.Errorf("timestamp of %s not parsed", l[0].RetrainID)
	}
	l, d, err = monitorHistory(t.Context(), root, 5)
	if err != nil || d != 2 || len(l) != 3 || !l[0].Timestamp.Equal(time.Date(2025, 8, 20, 3, 0, 0, 0, time.UTC)) {
		t.Fatalf("whole history: %+v damaged %d err %v; want 3 runs, the seed's zoneless time read as UTC", l, d, err)
	}
}

// TestMonitorHistory_Unrecorded: a failed run that could not append its
// history line (full disk) but was kept in the side record is seen by
// monitor, which then reports the failure.
func TestMonitorHistory_Unrecorded(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "data", "logs")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	hist := `{"retrain_id":"a","timestamp":"2026-11-27T03:00:00Z","status":"deployed"}` + "\n"
	side := `{"retrain_id":"b","timestamp":"2026-11-28T03:00:00Z","status":"failed","error":"disk full"}` + "\n"
	side += strings.Repeat(" ", retrain.SideRecordBytes-len(side))
	if err := os.WriteFile(filepath.Join(dir, historyName), []byte(hist), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, historyName+".unrecorded"), []byte(side), 0o600); err != nil {
		t.Fatal(err)
	}
	l, _, err := monitorHistory(t.Context(), root, 20)
	if err != nil || len(l) != 2 || l[1].RetrainID != "b" {
		t.Fatalf("monitorHistory = %+v, %v; want a then the unrecorded b", l, err)
	}
	v := evaluate(monitorInput{Now: time.Date(2026, 11, 28, 4, 0, 0, 0, time.UTC), History: l})
	if v.Code != monCritical || !strings.Contains(v.Summary, "failed") {
		t.Errorf("monitor verdict with an unrecorded failed run = %v, want CRITICAL", v)
	}
}
