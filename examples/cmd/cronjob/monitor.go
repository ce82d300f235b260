package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"moodfood/backup"
	"moodfood/internal/procstat"
	"moodfood/retrain"
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

// monitorHistory returns the last n runs of root's history, oldest first,
// read through retrain.FileHistory: damaged lines are skipped and counted,
// a run kept aside because the disk was full is included, and a missing
// file is an empty history.
func monitorHistory(ctx context.Context, root string, n int) ([]retrain.Record, int, error) {
	p, err := retrain.NewFileHistory(filepath.Join(root, "data", "logs", historyName)).List(ctx, retrain.HistoryFilter{Limit: n})
	if err != nil {
		return nil, 0, err
	}
	slices.Reverse(p.Records)
	return p.Records, p.Damaged, nil
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
	History    []retrain.Record // oldest first
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
	hin.History = in.History
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
	in.History, _, err = monitorHistory(ctx, root, 20)
	if err != nil {
		fmt.Fprintln(stdout, "RETRAIN CRITICAL - history unreadable: "+err.Error())
		return monCritical
	}
	v := evaluate(in)
	fmt.Fprintln(stdout, v.String())
	return v.Code
}
