package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"moodfood/internal/atomicfile"
)

// heartbeatName is the heartbeat file under ROOT/data/logs (DESIGN.md §2).
const heartbeatName = "cron_status.json"

// Heartbeat states.
const (
	stateRunning  = "running"
	stateFinished = "finished"
)

// heartbeat is the content of ROOT/data/logs/cron_status.json, replaced
// atomically when a run starts (State "running") and when it ends (State
// "finished", with ExitCode, Outcome and Result). A heartbeat still saying
// "running" after its Deadline means the run was killed. Times are UTC.
type heartbeat struct {
	Schema   int       `json:"schema"`
	State    string    `json:"state"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Deadline is Started plus the run's --timeout.
	Deadline time.Time `json:"deadline,omitzero"`
	Force    bool      `json:"force,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	// ExitCode is the command's exit status (DESIGN.md §6); nil while running.
	ExitCode *int `json:"exit_code,omitempty"`
	// Outcome is deployed, skipped, rejected, busy, failed or dry_run.
	Outcome string         `json:"outcome,omitempty"`
	Result  *resultSummary `json:"result,omitempty"`
	Error   string         `json:"error,omitempty"`
	// Schedule is the installed crontab schedule for this root, if any, and
	// NextRun the next time it fires after this heartbeat was written.
	Schedule string    `json:"schedule,omitempty"`
	NextRun  time.Time `json:"next_run,omitzero"`
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Root     string    `json:"root"`
}

// resultSummary is the part of a run's result the heartbeat and monitor show.
type resultSummary struct {
	RunID    string   `json:"run_id,omitempty"`
	Version  string   `json:"version,omitempty"`
	Previous string   `json:"previous,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
}

// heartbeatPath returns the heartbeat file of root.
func heartbeatPath(root string) string {
	return filepath.Join(root, "data", "logs", heartbeatName)
}

// writeHeartbeat replaces root's heartbeat atomically (0600, in a 0700
// directory created if missing).
func writeHeartbeat(root string, hb *heartbeat) error {
	dir := filepath.Dir(heartbeatPath(root))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	b, err := json.MarshalIndent(hb, "", "  ")
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if err := atomicfile.WriteBytes(heartbeatPath(root), 0o600, append(b, '\n')); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// readHeartbeat reads root's heartbeat. A missing file gives an error
// matching os.ErrNotExist.
func readHeartbeat(root string) (*heartbeat, error) {
	b, err := os.ReadFile(heartbeatPath(root))
	if err != nil {
		return nil, err
	}
	var hb heartbeat
	if err := json.Unmarshal(b, &hb); err != nil {
		return nil, fmt.Errorf("heartbeat %s: %w", heartbeatPath(root), err)
	}
	if hb.Started.IsZero() {
		return nil, fmt.Errorf("heartbeat %s: no start time", heartbeatPath(root))
	}
	return &hb, nil
}

// newHeartbeat returns the "running" heartbeat of a run starting at now.
func newHeartbeat(root string, now time.Time, timeout time.Duration, force, dryRun bool) *heartbeat {
	host, _ := os.Hostname()
	hb := &heartbeat{
		Schema:  1,
		State:   stateRunning,
		Started: now.UTC(),
		Force:   force,
		DryRun:  dryRun,
		PID:     os.Getpid(),
		Host:    host,
		Root:    root,
	}
	if timeout > 0 {
		hb.Deadline = now.Add(timeout).UTC()
	}
	return hb
}

// setSchedule records the installed schedule s (nil: none) and its next
// firing after now.
func (hb *heartbeat) setSchedule(s *schedule, now time.Time) {
	hb.Schedule, hb.NextRun = "", time.Time{}
	if s == nil {
		return
	}
	hb.Schedule = s.String()
	if s.lastDay {
		hb.Schedule += " (last day of month)"
	}
	if n := s.next(now.Local()); !n.IsZero() {
		hb.NextRun = n.UTC()
	}
}

// finish marks hb finished at now with the given exit code and outcome.
func (hb *heartbeat) finish(now time.Time, code int, outcome string, res *resultSummary, err error) {
	hb.State = stateFinished
	hb.Finished = now.UTC()
	hb.ExitCode = &code
	hb.Outcome = outcome
	hb.Result = res
	hb.Error = ""
	if err != nil {
		hb.Error = err.Error()
	}
}
