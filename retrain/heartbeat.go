package retrain

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"moodfood/internal/atomicfile"
	"moodfood/internal/nofollow"
)

// Heartbeat states.
const (
	HeartbeatRunning  = "running"
	HeartbeatFinished = "finished"
)

// Heartbeat is what a scheduler writes to ROOT/data/logs/cron_status.json
// (replaced atomically) when a run starts (State "running") and when it
// ends (State "finished", with ExitCode, Outcome and Result). A heartbeat
// still saying "running" after its Deadline, or whose process is gone,
// means the run was killed. Times are UTC. CheckHealth reads it; the example
// command cronjob writes it, and so can any scheduler embedding the library.
type Heartbeat struct {
	Schema   int       `json:"schema"`
	State    string    `json:"state"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	// Deadline is Started plus the run's time limit.
	Deadline time.Time `json:"deadline,omitzero"`
	Force    bool      `json:"force,omitempty"`
	DryRun   bool      `json:"dry_run,omitempty"`
	// ExitCode is the command's exit status (0 deployed or nothing to do,
	// 3 rejected, 4 busy, 1 failed); nil while running.
	ExitCode *int `json:"exit_code,omitempty"`
	// Outcome is deployed, skipped, rejected, staged, busy, failed or
	// dry_run.
	Outcome string           `json:"outcome,omitempty"`
	Result  *HeartbeatResult `json:"result,omitempty"`
	Error   string           `json:"error,omitempty"`
	// Schedule is the installed schedule for this root, if any, and
	// NextRun the next time it fires after this heartbeat was written.
	Schedule string    `json:"schedule,omitempty"`
	NextRun  time.Time `json:"next_run,omitzero"`
	PID      int       `json:"pid"`
	Host     string    `json:"host"`
	Root     string    `json:"root"`
}

// HeartbeatResult is the part of a run's Result a heartbeat records.
type HeartbeatResult struct {
	RunID    string   `json:"run_id,omitempty"`
	Version  string   `json:"version,omitempty"`
	Previous string   `json:"previous,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
}

// HeartbeatPath is the heartbeat file of the embedded default's root.
func HeartbeatPath(root string) string {
	return filepath.Join(root, "data", "logs", "cron_status.json")
}

// ReadHeartbeat reads a heartbeat file. A missing file gives an error
// matching os.ErrNotExist; an unparsable one, or one without a start time,
// an error naming the file.
func ReadHeartbeat(path string) (*Heartbeat, error) {
	b, err := nofollow.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var hb Heartbeat
	if err := json.Unmarshal(b, &hb); err != nil {
		return nil, fmt.Errorf("heartbeat %s: %w", path, err)
	}
	if hb.Started.IsZero() {
		return nil, fmt.Errorf("heartbeat %s: no start time", path)
	}
	return &hb, nil
}

// WriteHeartbeat replaces the heartbeat file atomically (0600, in a 0700
// directory created if missing).
func WriteHeartbeat(path string, hb *Heartbeat) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	b, err := json.MarshalIndent(hb, "", "  ")
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if err := atomicfile.WriteBytes(path, 0o600, append(b, '\n')); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}
