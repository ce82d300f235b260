package main

import (
	"os"
	"time"

	"moodfood/retrain"
)

// The heartbeat (ROOT/data/logs/cron_status.json) is the library's
// retrain.Heartbeat: monitor judges it with retrain.CheckHealth.
type (
	heartbeat     = retrain.Heartbeat
	resultSummary = retrain.HeartbeatResult
)

// Heartbeat states.
const (
	stateRunning  = retrain.HeartbeatRunning
	stateFinished = retrain.HeartbeatFinished
)

// heartbeatPath returns the heartbeat file of root.
func heartbeatPath(root string) string { return retrain.HeartbeatPath(root) }

// writeHeartbeat replaces root's heartbeat atomically.
func writeHeartbeat(root string, hb *heartbeat) error {
	return retrain.WriteHeartbeat(heartbeatPath(root), hb)
}

// readHeartbeat reads root's heartbeat. A missing file gives an error
// matching os.ErrNotExist.
func readHeartbeat(root string) (*heartbeat, error) {
	return retrain.ReadHeartbeat(heartbeatPath(root))
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
func setSchedule(hb *heartbeat, s *schedule, now time.Time) {
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

// finishHeartbeat marks hb finished at now with the given exit code and outcome.
func finishHeartbeat(hb *heartbeat, now time.Time, code int, outcome string, res *resultSummary, err error) {
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
