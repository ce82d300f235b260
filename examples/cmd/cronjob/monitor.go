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

	"moodfood/internal/procstat"
)

// Monitoring-plugin exit codes (Nagios, Icinga, Sensu...).
const (
	monOK       = 0
	monWarning  = 1
	monCritical = 2
)

// monStatus names the monitoring-plugin exit codes.
var monStatus = [...]string{"OK", "WARNING", "CRITICAL"}

// historyName is the run history under ROOT/data/logs (DESIGN.md §2).
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

// monitorInput is everything evaluate looks at; monitor fills it from disk
// and the crontab, tests craft it.
type monitorInput struct {
	Now   time.Time
	Grace time.Duration
	// Heartbeat is nil when HeartbeatErr is set; HeartbeatErr matches
	// fs.ErrNotExist when there is no heartbeat yet.
	Heartbeat    *heartbeat
	HeartbeatErr error
	// Schedule is the installed entry's schedule, nil when there is none;
	// CrontabErr is set when the crontab could not be read.
	Schedule   *schedule
	CrontabErr error
	History    []historyLine // oldest first
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
	s := "RETRAIN " + monStatus[v.Code] + " - " + v.Summary
	if v.Perf != "" {
		s += " | " + v.Perf
	}
	return s
}

// evaluate decides healthy (OK), late (WARNING) or failing (CRITICAL):
//
//   - CRITICAL: the heartbeat is unreadable; the last run failed (heartbeat
//     exit code 1, or the newest history line "failed"); a run still marked
//     running past its deadline, or whose process on this host is gone.
//   - WARNING: no crontab entry for the root (nothing will run); no heartbeat
//     yet; the next scheduled run after the last heartbeat's start is more
//     than Grace in the past (late).
//   - OK otherwise. A rejected candidate or a run that found the lock busy is
//     a normal outcome, not a failure; a manual rollback (a history line
//     with manual: true) is skipped when counting consecutive failures.
func evaluate(in monitorInput) verdict {
	code := monOK
	var msgs []string
	raise := func(c int, msg string) {
		if c > code {
			code = c
			msgs = append([]string{msg}, msgs...) // the worst first
			return
		}
		msgs = append(msgs, msg)
	}
	fails := 0
	for i := len(in.History) - 1; i >= 0; i-- {
		h := in.History[i]
		if h.Manual {
			continue // a manual rollback neither fails nor ends a run of failures
		}
		if h.Status != "failed" {
			break
		}
		fails++
	}
	var perf []string
	hb := in.Heartbeat
	switch {
	case in.HeartbeatErr != nil && errors.Is(in.HeartbeatErr, fs.ErrNotExist):
		raise(monWarning, "no heartbeat yet (never ran)")
	case in.HeartbeatErr != nil:
		raise(monCritical, "heartbeat unreadable: "+in.HeartbeatErr.Error())
	default:
		last := hb.Started
		if !hb.Finished.IsZero() {
			last = hb.Finished
		}
		age := max(in.Now.Sub(last), 0)
		perf = append(perf, fmt.Sprintf("age=%ds", int64(age/time.Second)))
		switch hb.State {
		case stateRunning:
			dead := hb.Host == in.Host && in.Alive != nil && !in.Alive(hb.PID)
			switch {
			case dead:
				raise(monCritical, fmt.Sprintf("run started %s ago (pid %d) died without finishing", ago(in.Now.Sub(hb.Started)), hb.PID))
			case !hb.Deadline.IsZero() && in.Now.After(hb.Deadline.Add(time.Minute)):
				raise(monCritical, fmt.Sprintf("run started %s ago (pid %d on %s) is past its deadline", ago(in.Now.Sub(hb.Started)), hb.PID, hb.Host))
			default:
				raise(monOK, fmt.Sprintf("run in progress for %s", ago(in.Now.Sub(hb.Started))))
			}
		default:
			desc := "last run " + ago(age) + " ago " + hb.Outcome
			if hb.Result != nil && hb.Result.Version != "" && hb.Outcome == "deployed" {
				desc += " " + hb.Result.Version
			}
			if hb.ExitCode != nil && *hb.ExitCode == exitFailed {
				if hb.Error != "" {
					desc += ": " + hb.Error
				}
				raise(monCritical, desc)
			} else {
				raise(monOK, desc)
			}
		}
	}
	if fails > 0 && code < monCritical {
		raise(monCritical, fmt.Sprintf("%d consecutive failed run(s) in the history", fails))
	} else if fails > 1 {
		msgs = append(msgs, fmt.Sprintf("%d consecutive failures", fails))
	}
	switch {
	case in.CrontabErr != nil:
		raise(monWarning, "crontab unreadable: "+in.CrontabErr.Error())
	case in.Schedule == nil:
		raise(monWarning, "no crontab entry for this root")
	case hb != nil:
		due := in.Schedule.next(hb.Started.In(in.Now.Location()))
		if !due.IsZero() && in.Now.After(due.Add(in.Grace)) {
			raise(monWarning, fmt.Sprintf("late: a run was due %s ago (%s), grace %s", ago(in.Now.Sub(due)), due.Format("2006-01-02 15:04 MST"), in.Grace))
		} else if n := in.Schedule.next(in.Now); !n.IsZero() {
			msgs = append(msgs, "next run in "+ago(n.Sub(in.Now)))
		}
	}
	perf = append(perf, fmt.Sprintf("failures=%d", fails))
	return verdict{Code: code, Summary: strings.Join(msgs, "; "), Perf: strings.Join(perf, " ")}
}

// ago renders a duration coarsely: 45s, 12m, 5h, 3d.
func ago(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

// cmdMonitor implements "cronjob monitor [--grace 6h]".
func cmdMonitor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("monitor", stderr, "monitor [--root DIR] [--grace 6h]",
		"Checks the heartbeat against the installed schedule, the crontab entry and the\n"+
			"last runs; prints one line and exits 0 OK, 1 WARNING (late), 2 CRITICAL (failing).")
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
	in.Host, _ = os.Hostname()
	in.Heartbeat, in.HeartbeatErr = readHeartbeat(root)
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
