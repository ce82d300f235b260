package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"moodfood/backup"
	"moodfood/internal/nofollow"
	"moodfood/trigger"
)

// Status is what a person asks first: when did the model last improve, what
// happened last time, is a run due, what is deployed and is it intact, how
// much do the backups take, is a run going on, is cron alive.
type Status struct {
	Now time.Time `json:"now"`
	// LastSuccess is the last run that deployed, and Age the time since it
	// (zero when there was none).
	LastSuccess *Record       `json:"last_success,omitempty"`
	Age         time.Duration `json:"age_ns,omitempty"`
	// LastAttempt is the last run that trained (any outcome but skipped, a
	// manual rollback excluded);
	// LastRun the last run of any outcome, also one whose record could not
	// be written to the history (Problems then says so).
	LastAttempt *Record `json:"last_attempt,omitempty"`
	LastRun     *Record `json:"last_run,omitempty"`
	// LastRollback is the last manual rollback (Retrainer.Rollback) since
	// LastSuccess, nil if none: when set, the deployed model is not the one
	// LastSuccess deployed. Manual rollbacks are never LastAttempt or
	// LastSuccess.
	LastRollback *Record `json:"last_rollback,omitempty"`
	// HistoryCorrupt counts damaged history lines skipped while reading the
	// tail.
	HistoryCorrupt int `json:"history_corrupt,omitempty"`
	// Pending is the number of new samples waiting for the next run.
	Pending int `json:"pending"`
	// Decision is what the trigger would say now (without Force).
	Decision *trigger.Decision `json:"decision,omitempty"`
	// Deployed is the deployed version; nil when nothing is deployed.
	Deployed *DeployedStatus `json:"deployed,omitempty"`
	// Backups are the stored versions, newest first, and BackupBytes their
	// disk use.
	Backups     []BackupStatus `json:"backups,omitempty"`
	BackupBytes int64          `json:"backup_bytes"`
	// Running is set while a run holds the lock; RunningPID is its process
	// and RunningID its run id when known.
	Running    bool   `json:"running"`
	RunningPID int    `json:"running_pid,omitempty"`
	RunningID  string `json:"running_id,omitempty"`
	// RunningHost is the host of the running run when the Locker knows it.
	RunningHost string `json:"running_host,omitempty"`
	// Cron is the scheduler's heartbeat file, raw, when present.
	Cron json.RawMessage `json:"cron,omitempty"`
	// Problems lists what Status could not find out, one line each.
	Problems []string `json:"problems,omitempty"`
}

// MarshalJSON writes Now in UTC RFC 3339 with microseconds, like every
// timestamp of the package (the records inside follow Record.MarshalJSON).
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status // without this method
	return json.Marshal(struct {
		Now string `json:"now"`
		plain
	}{formatTime(s.Now), plain(s)})
}

// DeployedStatus describes the deployed version.
type DeployedStatus struct {
	Version backup.Version     `json:"version"`
	Created time.Time          `json:"created"`
	RunID   string             `json:"run_id,omitempty"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	// Intact is set when the version was read back whole, its checksum
	// matched and it decoded; otherwise Integrity says what is wrong.
	Intact    bool   `json:"intact"`
	Integrity string `json:"integrity"`
}

// BackupStatus is one stored version.
type BackupStatus struct {
	Version  backup.Version `json:"version"`
	Created  time.Time      `json:"created"`
	Bytes    int64          `json:"bytes"`
	Deployed bool           `json:"deployed,omitempty"`
	RunID    string         `json:"run_id,omitempty"`
	Accuracy *float64       `json:"accuracy,omitempty"`
}

// usager is the optional disk-usage method of a ModelStore
// (backup.FileStore has it).
type usager interface {
	Usage(ctx context.Context) (int64, error)
}

// Status reports the state of the pipeline. It writes nothing and reads
// little: the history from its tail, Pending from Data (no full parse of the
// query log), the live signal windows when Data is a Signaler (what the
// trigger would see; for dataset.FileStore a pass over the recent part of
// the query log), the version list, and the deployed model, which it
// decodes once to report Intact (for the CLINC150-sized model about 0.1-0.2 s
// on a quiet machine). What it cannot find out goes to Status.Problems; the
// error is non-nil only when ctx is done.
func (r *Retrainer) Status(ctx context.Context) (Status, error) {
	now := r.cfg.Now()
	s := Status{Now: now.UTC()}
	problem := func(what string, err error) {
		s.Problems = append(s.Problems, what+": "+err.Error())
	}

	if lk := r.cfg.Locker; lk != nil {
		h, held, err := lk.Holder(ctx)
		if err != nil {
			problem("lock", err)
		}
		s.Running = held
		if held {
			s.RunningPID, s.RunningID, s.RunningHost = h.PID, h.RunID, h.Host
		}
	} else if r.running.TryLock() {
		r.running.Unlock()
	} else {
		s.Running, s.RunningPID = true, os.Getpid()
	}

	dep, err := r.loadDeployed(ctx)
	if err != nil {
		problem("deployed model", err)
		dep = &deployedModel{}
	}
	if dep.version != "" {
		d := &DeployedStatus{Version: dep.version, Intact: dep.err == nil, Integrity: "ok"}
		if dep.err != nil {
			d.Integrity = dep.err.Error()
		}
		if dep.manifest != nil {
			d.Created, d.RunID = dep.manifest.Created, dep.manifest.RunID
			d.Metrics = headline(dep.manifest.Metrics)
		}
		s.Deployed = d
	}

	st, tail, warns, err := r.gather(ctx, now, false, dep)
	if err != nil {
		problem("state", err)
	} else {
		s.Pending = st.NewSamples
		for _, w := range warns {
			s.Problems = append(s.Problems, w)
		}
		if d, err := r.decide(ctx, st); err != nil {
			problem("trigger", err)
		} else {
			s.Decision = &d
		}
	}
	s.LastSuccess, s.LastAttempt, s.LastRun, s.HistoryCorrupt = tail.LastSuccess, tail.LastAttempt, tail.Last, tail.Damaged
	s.LastRollback = tail.LastRollback
	if tail.Unrecorded > 0 {
		s.Problems = append(s.Problems, fmt.Sprintf("history: the last %d run(s) could not be appended to the history (disk full?); "+
			"they are kept aside and written by the next run that can", tail.Unrecorded))
	}
	if u := r.lastUnrecorded(); u != nil && (s.LastRun == nil || s.LastRun.RetrainID != u.rec.RetrainID && !u.rec.Timestamp.Before(s.LastRun.Timestamp)) {
		rec := u.rec
		s.LastRun = &rec
		problem("history: run "+rec.RetrainID+" could not be recorded", u.err)
	}
	if s.LastSuccess != nil {
		s.Age = now.Sub(s.LastSuccess.Timestamp)
	} else if !st.LastSuccess.IsZero() {
		s.Age = now.Sub(st.LastSuccess)
	}

	if ms, err := r.cfg.Models.List(ctx); err != nil {
		problem("backups", err)
	} else {
		for _, m := range ms {
			b := BackupStatus{Version: m.Version, Created: m.Created, Deployed: m.Version == dep.version, RunID: m.RunID}
			for _, f := range m.Files {
				b.Bytes += f.Size
			}
			if a, ok := m.Metrics["accuracy"]; ok {
				b.Accuracy = &a
			}
			s.BackupBytes += b.Bytes
			s.Backups = append(s.Backups, b)
		}
	}
	if u, ok := r.cfg.Models.(usager); ok {
		if n, err := u.Usage(ctx); err != nil {
			problem("disk usage", err)
		} else {
			s.BackupBytes = n
		}
	}

	if p := r.cfg.CronStatusPath; p != "" {
		b, err := nofollow.ReadFile(p)
		switch {
		case err == nil && json.Valid(b):
			s.Cron = json.RawMessage(b)
		case err == nil:
			s.Problems = append(s.Problems, "cron status: "+p+" is not valid JSON")
		case !errors.Is(err, os.ErrNotExist):
			problem("cron status", err)
		}
	}
	return s, ctx.Err()
}

// headline keeps the manifest metrics a person reads (not the per-label
// training shares).
func headline(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if len(k) >= len(metricSharePrefix) && k[:len(metricSharePrefix)] == metricSharePrefix {
			continue
		}
		out[k] = v
	}
	return out
}
