package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"moodfood/backup"
	"moodfood/internal/procstat"
	"moodfood/retrain"
	"moodfood/trigger"
)

// Monitoring-plugin exit codes (Nagios, Icinga, Sensu...).
const (
	monOK       = 0
	monWarning  = 1
	monCritical = 2
	monUnknown  = 3
)

// historyName is the run history under ROOT/data/logs (docs/ARCHITECTURE.md §2).
const historyName = "retrain_history.jsonl"

// historyTailBytes bounds how much of the history monitor reads.
const historyTailBytes = 256 << 10

// historyLine is what monitor needs of one line of retrain_history.jsonl.
type historyLine struct {
	RetrainID string `json:"retrain_id"`
	Timestamp string `json:"timestamp"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	// Manual marks a manual rollback (retrain.Record.Manual): a person's
	// action, neither a failure nor the end of a run of failures.
	Manual bool `json:"manual,omitempty"`
}

// time parses the line's timestamp (RFC 3339, or the seed's zoneless form
// read as UTC); zero when it cannot.
func (h historyLine) time() time.Time {
	if t, err := time.Parse(time.RFC3339Nano, h.Timestamp); err == nil {
		return t
	}
	if t, err := time.Parse("2006-01-02T15:04:05.999999999", h.Timestamp); err == nil {
		return t
	}
	return time.Time{}
}

// record is the part of a retrain.Record that CheckHealth reads.
func (h historyLine) record() retrain.Record {
	return retrain.Record{RetrainID: h.RetrainID, Timestamp: h.time(), Status: trigger.Outcome(h.Status),
		Manual: h.Manual, Error: h.Error}
}

// readHistoryTail returns up to n of the last well-formed lines of the
// history, oldest first. Damaged lines are skipped (and counted); a missing
// file is an empty history.
func readHistoryTail(root string, n int) (lines []historyLine, damaged int, err error) {
	f, err := os.Open(filepath.Join(root, "data", "logs", historyName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	off := max(st.Size()-historyTailBytes, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, st.Size()-off))
	if err != nil {
		return nil, 0, err
	}
	if off > 0 { // drop the partial first line
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), historyTailBytes)
	for sc.Scan() {
		l := bytes.TrimSpace(sc.Bytes())
		if len(l) == 0 {
			continue
		}
		var h historyLine
		if json.Unmarshal(l, &h) != nil || h.Status == "" {
			damaged++
			continue
		}
		lines = append(lines, h)
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines, damaged, nil
}

// monitorInput is what monitor gathers from disk and the crontab; tests
// craft it. evaluate hands it to retrain.CheckHealth.
type monitorInput struct {
	Now   time.Time
	Grace time.Duration
	// RootErr is set when the root cannot be read.
	RootErr error
	// Heartbeat is nil when HeartbeatErr is set; HeartbeatErr matches
	// fs.ErrNotExist when there is no heartbeat yet.
	Heartbeat    *heartbeat
	HeartbeatErr error
	// Schedule is the installed entry's schedule, nil when there is none;
	// CrontabErr is set when the crontab could not be read.
	Schedule   *schedule
	CrontabErr error
	History    []historyLine // oldest first
	// Deployed is the check of the deployed model; nil: not checked.
	Deployed *retrain.DeployedCheck
	// Alive reports whether a process of this host is alive; nil: unknown.
	Alive func(pid int) bool
	Host  string
}

// verdict is monitor's answer: an exit code and one line.
type verdict struct {
	Code    int
	Summary string
	Perf    string
}

// String renders the line a monitoring system shows:
// "RETRAIN OK - last run 2h ago deployed model_backup_... | age=7200s;...".
func (v verdict) String() string {
	s := "RETRAIN " + retrain.HealthLevel(v.Code).String() + " - " + v.Summary
	if v.Perf != "" {
		s += " | " + v.Perf
	}
	return s
}

// evaluate judges in with retrain.CheckHealth (which documents the rules)
// and renders the verdict with its performance data.
func evaluate(in monitorInput) verdict {
	hin := retrain.HealthInput{
		Now: in.Now, Grace: in.Grace, RootErr: in.RootErr,
		Heartbeat: in.Heartbeat, HeartbeatErr: in.HeartbeatErr,
		ScheduleErr: in.CrontabErr, Deployed: in.Deployed,
		Alive: in.Alive, Host: in.Host,
	}
	if in.Schedule != nil {
		hin.NextRun = in.Schedule.next
	}
	for _, h := range in.History {
		hin.History = append(hin.History, h.record())
	}
	h := retrain.CheckHealth(hin)
	var perf []string
	if h.HaveAge {
		perf = append(perf, fmt.Sprintf("age=%ds", int64(h.Age/time.Second)))
	}
	perf = append(perf, fmt.Sprintf("failures=%d", h.Failures))
	return verdict{Code: int(h.Level), Summary: h.Summary(), Perf: strings.Join(perf, " ")}
}

// checkDeployed verifies the deployed model of root (checksums of its
// files), without creating the model store when there is none.
func checkDeployed(ctx context.Context, root string) *retrain.DeployedCheck {
	dir := filepath.Join(root, "models")
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &retrain.DeployedCheck{Err: backup.ErrNoCurrent}
	}
	s, err := backup.OpenFileStore(dir, nil)
	if err != nil {
		return &retrain.DeployedCheck{Err: err}
	}
	defer s.Close()
	c := retrain.VerifyDeployed(ctx, s)
	return &c
}

// cmdMonitor implements "cronjob monitor [--grace 6h]".
func cmdMonitor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("monitor", stderr, "monitor [--root DIR] [--grace 6h]",
		"Checks the heartbeat against the installed schedule, the crontab entry and the\n"+
			"last runs, and verifies the deployed model; prints one line and exits 0 OK,\n"+
			"1 WARNING (late), 2 CRITICAL (failing), 3 UNKNOWN (no such root).")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	grace := fl.Duration("grace", 6*time.Hour, "how long after a scheduled time a run may still be missing")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	root, err := resolveRoot(*rootF)
	if err != nil {
		fmt.Fprintln(stdout, "RETRAIN CRITICAL - "+err.Error())
		return monCritical
	}
	in := monitorInput{Now: time.Now(), Grace: *grace, Alive: procstat.Alive}
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		if err == nil {
			err = fmt.Errorf("%s is not a directory", root)
		}
		in.RootErr = err
		v := evaluate(in)
		fmt.Fprintln(stdout, v.String())
		return v.Code
	}
	in.Host, _ = os.Hostname()
	in.Heartbeat, in.HeartbeatErr = readHeartbeat(root)
	in.Deployed = checkDeployed(ctx, root)
	if tab, err := newCrontab().read(ctx); err != nil {
		in.CrontabErr = err
	} else if line, ok := findEntry(tab, root); ok {
		if in.Schedule, err = entrySchedule(line); err != nil {
			in.CrontabErr = err
		}
	}
	in.History, _, err = readHistoryTail(root, 20)
	if err != nil {
		fmt.Fprintln(stdout, "RETRAIN CRITICAL - history unreadable: "+err.Error())
		return monCritical
	}
	v := evaluate(in)
	fmt.Fprintln(stdout, v.String())
	return v.Code
}
