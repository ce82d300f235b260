package retrain

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"moodfood/backup"
	"moodfood/trigger"
)

// HealthLevel is a monitoring verdict. The values are the monitoring-plugin
// exit codes (Nagios, Icinga, Sensu).
type HealthLevel int

// The verdicts, from best to worst.
const (
	HealthOK       HealthLevel = 0
	HealthWarning  HealthLevel = 1
	HealthCritical HealthLevel = 2
	// HealthUnknown means the pipeline could not be judged at all (its
	// root does not exist or cannot be read).
	HealthUnknown HealthLevel = 3
)

// String returns OK, WARNING, CRITICAL or UNKNOWN.
func (l HealthLevel) String() string {
	switch l {
	case HealthOK:
		return "OK"
	case HealthWarning:
		return "WARNING"
	case HealthCritical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// DeployedCheck is what the caller found about the deployed model.
type DeployedCheck struct {
	// Version is the deployed version, "" when nothing is deployed.
	Version backup.Version
	// Err is nil when the deployed version verified, matches
	// backup.ErrNoCurrent when nothing is deployed, and says what is wrong
	// otherwise (backup.ErrCorrupt for a damaged version).
	Err error
}

// HealthInput is everything CheckHealth judges. Zero fields mean "not
// known" and are not held against the pipeline, except where noted.
type HealthInput struct {
	Now time.Time
	// Grace is how late a scheduled run may be before it is a WARNING.
	Grace time.Duration
	// RootErr is set when the root cannot be read (it does not exist): the
	// verdict is then UNKNOWN and nothing else is looked at.
	RootErr error
	// Heartbeat is the scheduler's heartbeat; nil when HeartbeatErr is set.
	// HeartbeatErr matches fs.ErrNotExist when no run has started yet.
	Heartbeat    *Heartbeat
	HeartbeatErr error
	// NextRun returns the schedule's next firing after t (zero: never); nil
	// means no schedule is installed for this root (a WARNING: nothing will
	// run). ScheduleErr is set when the schedule could not be read.
	NextRun     func(t time.Time) time.Time
	ScheduleErr error
	// History is the tail of the run history, oldest first.
	History []Record
	// Deployed is the check of the deployed model; nil skips it.
	Deployed *DeployedCheck
	// Alive reports whether a process of this host is alive (nil:
	// unknown), and Host names this host, to tell a run that died from one
	// in progress.
	Alive func(pid int) bool
	Host  string
}

// Health is CheckHealth's verdict.
type Health struct {
	Level HealthLevel
	// Reasons say why, the worst first; the first one is the headline.
	Reasons []string
	// Failures counts the consecutive failed attempts at the end of the
	// history (skipped runs and manual rollbacks are not attempts).
	Failures int
	// Age is the time since the last run ended (or started, while it
	// runs); HaveAge is false when there is no heartbeat.
	Age     time.Duration
	HaveAge bool
}

// Summary joins the reasons into one line.
func (h Health) Summary() string { return strings.Join(h.Reasons, "; ") }

// CheckHealth decides whether the pipeline is healthy (OK), late (WARNING),
// failing (CRITICAL) or cannot be judged (UNKNOWN):
//
//   - UNKNOWN: the root cannot be read (RootErr).
//   - CRITICAL: the heartbeat is unreadable; the last run failed (its exit
//     code is 1, or its outcome "failed"); the last attempt in the history
//     failed, even when skipped runs came after it; a run still marked
//     running past its deadline, or whose process on this host is gone; runs
//     happened but no model is deployed; the deployed model does not verify.
//   - WARNING: no schedule for the root (nothing will run); no heartbeat yet
//     (never ran); the next scheduled run after the last heartbeat's start
//     is more than Grace in the past (late).
//   - OK otherwise. A rejected or staged candidate, or a run that found the
//     lock busy, is a normal outcome, not a failure; a manual rollback is
//     neither a failure nor the end of a run of failures.
func CheckHealth(in HealthInput) Health {
	h := Health{Level: HealthOK}
	raise := func(l HealthLevel, msg string) {
		if l > h.Level {
			h.Level = l
			h.Reasons = append([]string{msg}, h.Reasons...) // the worst first
			return
		}
		h.Reasons = append(h.Reasons, msg)
	}
	if in.RootErr != nil {
		raise(HealthUnknown, "root unreadable: "+in.RootErr.Error())
		return h
	}
	attempts := 0
	counting := true
	for i := len(in.History) - 1; i >= 0; i-- {
		r := in.History[i]
		if r.Manual || r.Status == trigger.OutcomeSkipped {
			continue // not attempts: they neither fail nor end a run of failures
		}
		attempts++
		if counting && r.Status == trigger.OutcomeFailed {
			h.Failures++
		} else {
			counting = false
		}
	}
	hb := in.Heartbeat
	switch {
	case in.HeartbeatErr != nil && errors.Is(in.HeartbeatErr, fs.ErrNotExist):
		raise(HealthWarning, "no heartbeat yet (never ran)")
	case in.HeartbeatErr != nil:
		raise(HealthCritical, "heartbeat unreadable: "+in.HeartbeatErr.Error())
	case hb != nil:
		last := hb.Started
		if !hb.Finished.IsZero() {
			last = hb.Finished
		}
		h.Age, h.HaveAge = max(in.Now.Sub(last), 0), true
		switch hb.State {
		case HeartbeatRunning:
			dead := hb.Host == in.Host && in.Alive != nil && !in.Alive(hb.PID)
			switch {
			case dead:
				raise(HealthCritical, fmt.Sprintf("run started %s ago (pid %d) died without finishing", Ago(in.Now.Sub(hb.Started)), hb.PID))
			case !hb.Deadline.IsZero() && in.Now.After(hb.Deadline.Add(time.Minute)):
				raise(HealthCritical, fmt.Sprintf("run started %s ago (pid %d on %s) is past its deadline", Ago(in.Now.Sub(hb.Started)), hb.PID, hb.Host))
			default:
				raise(HealthOK, fmt.Sprintf("run in progress for %s", Ago(in.Now.Sub(hb.Started))))
			}
		default:
			desc := "last run " + Ago(h.Age) + " ago " + hb.Outcome
			if hb.Result != nil && hb.Result.Version != "" && hb.Outcome == "deployed" {
				desc += " " + hb.Result.Version
			}
			if (hb.ExitCode != nil && *hb.ExitCode == 1) || hb.Outcome == string(trigger.OutcomeFailed) {
				if hb.Error != "" {
					desc += ": " + hb.Error
				}
				raise(HealthCritical, desc)
			} else {
				raise(HealthOK, desc)
			}
		}
	}
	if h.Failures > 0 && h.Level < HealthCritical {
		raise(HealthCritical, fmt.Sprintf("%d consecutive failed run(s) in the history", h.Failures))
	} else if h.Failures > 1 {
		h.Reasons = append(h.Reasons, fmt.Sprintf("%d consecutive failures", h.Failures))
	}
	if d := in.Deployed; d != nil {
		ran := hb != nil || len(in.History) > 0
		switch {
		case d.Err == nil:
		case errors.Is(d.Err, backup.ErrNoCurrent) && ran:
			raise(HealthCritical, fmt.Sprintf("no model deployed (after %d attempt(s))", attempts))
		case errors.Is(d.Err, backup.ErrNoCurrent):
		case d.Version != "":
			raise(HealthCritical, fmt.Sprintf("deployed model %s does not verify: %v", d.Version, d.Err))
		default:
			raise(HealthCritical, "deployed model unreadable: "+d.Err.Error())
		}
	}
	switch {
	case in.ScheduleErr != nil:
		raise(HealthWarning, "schedule unreadable: "+in.ScheduleErr.Error())
	case in.NextRun == nil:
		raise(HealthWarning, "no crontab entry for this root")
	case hb != nil:
		due := in.NextRun(hb.Started.In(in.Now.Location()))
		if !due.IsZero() && in.Now.After(due.Add(in.Grace)) {
			raise(HealthWarning, fmt.Sprintf("late: a run was due %s ago (%s), grace %s", Ago(in.Now.Sub(due)), due.Format("2006-01-02 15:04 MST"), in.Grace))
		} else if n := in.NextRun(in.Now); !n.IsZero() {
			h.Reasons = append(h.Reasons, "next run in "+Ago(n.Sub(in.Now)))
		}
	}
	return h
}

// Ago renders a duration the way CheckHealth's reasons do: 45s, 12m, 5h,
// 3d.
func Ago(d time.Duration) string {
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

// Verifier is what VerifyDeployed needs of a model store (backup.FileStore
// and backup.MemStore have it).
type Verifier interface {
	Current(ctx context.Context) (backup.Version, error)
	Verify(ctx context.Context, v backup.Version) error
}

// VerifyDeployed checks the deployed version of s for CheckHealth: its
// files against their recorded checksums (and whatever load check the
// store runs in Verify).
func VerifyDeployed(ctx context.Context, s Verifier) DeployedCheck {
	v, err := s.Current(ctx)
	if err != nil {
		return DeployedCheck{Err: err}
	}
	return DeployedCheck{Version: v, Err: s.Verify(ctx, v)}
}
