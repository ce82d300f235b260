package retrain_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/internal/flock"
	"moodfood/retrain"
	"moodfood/trigger"
)

// backup.FileStore restores through Rollback's optional interface.
var _ retrain.Restorer = (*backup.FileStore)(nil)

// twoDeploys runs twice (a forced second run) and returns the two versions;
// the second is deployed.
func twoDeploys(t *testing.T, e *env) (first, second backup.Version) {
	t.Helper()
	ctx := context.Background()
	r1, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !r1.Deployed {
		t.Fatal(r1, err)
	}
	r2, err := e.r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !r2.Deployed || r2.NewVersion == r1.NewVersion {
		t.Fatal(r2, err)
	}
	return r1.NewVersion, r2.NewVersion
}

// eventTypes records the OnEvent events of a Retrainer.
type eventTypes struct {
	mu sync.Mutex
	ev []string
}

func (l *eventTypes) add(_ context.Context, e retrain.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := e.Type
	if e.Stage != "" {
		s += ":" + e.Stage
	}
	l.ev = append(l.ev, s)
}

func (l *eventTypes) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.ev
	l.ev = nil
	return out
}

func TestRetrainer_Rollback(t *testing.T) {
	ctx := context.Background()
	var hooks eventTypes
	e := newEnv(t, func(c *retrain.Config) { c.OnEvent = hooks.add })
	first, second := twoDeploys(t, e)
	hist0 := len(e.history(t))
	notes0 := len(e.events.types())
	commits0 := e.data.commits
	e.data.new = append(e.data.new, samples(4, dataset.SourceHuman, "sad")...)
	hooks.take()

	t.Run("Previous", func(t *testing.T) {
		res, err := e.r.Rollback(ctx, "")
		if err != nil || !res.RolledBack || res.Outcome != trigger.OutcomeRolledBack || res.Deployed || res.Skipped {
			t.Fatalf("Rollback = %+v, %v", res, err)
		}
		if res.OldVersion != second || res.NewVersion != first {
			t.Fatalf("Rollback %s -> %s, want %s -> %s", res.OldVersion, res.NewVersion, second, first)
		}
		if v, _ := deployedSum(t, e.models); v != first {
			t.Fatalf("deployed %s, want %s", v, first)
		}
		// One history line, with the fields a reader needs.
		h := e.history(t)
		if len(h) != hist0+1 {
			t.Fatalf("%d history lines, want %d", len(h), hist0+1)
		}
		rec := h[len(h)-1]
		if rec.Status != trigger.OutcomeRolledBack || !rec.Manual || !rec.Forced || rec.DryRun ||
			rec.OldVersion != second || rec.NewVersion != first || rec.RolledBackTo != first ||
			rec.RetrainID != res.RunID || !strings.HasPrefix(rec.RetrainID, "retrain_") || rec.Timestamp.IsZero() ||
			rec.Reason != "manual rollback to the previous version "+string(first)+" (was "+string(second)+")" ||
			rec.Stage != "" || rec.Error != "" || rec.PID == 0 {
			t.Fatalf("history line %+v", rec)
		}
		if rec.Trigger == nil || len(rec.Trigger.Reasons) != 1 || rec.Trigger.Reasons[0].Policy != retrain.PolicyManual || rec.Trigger.Retrain {
			t.Errorf("trigger field %+v", rec.Trigger)
		}
		if len(rec.Durations) != 1 || rec.Durations[0].Stage != "rollback" || rec.OldMetrics == nil || rec.NewMetrics == nil {
			t.Errorf("durations %+v, metrics %v %v", rec.Durations, rec.OldMetrics, rec.NewMetrics)
		}
		// The notification carries the record.
		e.events.mu.Lock()
		notes := e.events.events[notes0:]
		e.events.mu.Unlock()
		if len(notes) != 1 || notes[0].Type != retrain.EventModelRolledBack || notes[0].Record == nil ||
			!notes[0].Record.Manual || notes[0].Record.NewVersion != first || notes[0].RunID != res.RunID {
			t.Fatalf("notifications %+v", notes)
		}
		want := []string{"stage.started:rollback", "stage.finished:rollback", "model.rolled_back"}
		if got := hooks.take(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("OnEvent got %v, want %v", got, want)
		}
		// The watermark did not move.
		if n, _ := e.data.Pending(ctx); n != 4 || e.data.commits != commits0 {
			t.Errorf("pending %d commits %d after a rollback, want 4 and %d", n, e.data.commits, commits0)
		}
		if s := rec.Summary(); !strings.Contains(s, "rolled_back: manual rollback to") {
			t.Errorf("summary %q", s)
		}
	})

	t.Run("Named", func(t *testing.T) {
		res, err := e.r.Rollback(ctx, second)
		if err != nil || !res.RolledBack || res.OldVersion != first || res.NewVersion != second {
			t.Fatalf("Rollback(%s) = %+v, %v", second, res, err)
		}
		if v, _ := deployedSum(t, e.models); v != second {
			t.Fatalf("deployed %s, want %s", v, second)
		}
		h := e.history(t)
		if rec := h[len(h)-1]; rec.Reason != "manual rollback to "+string(second)+" (was "+string(first)+")" || !rec.Manual {
			t.Fatalf("history line %+v", rec)
		}
	})

	t.Run("AlreadyDeployed", func(t *testing.T) {
		n := len(e.history(t))
		res, err := e.r.Rollback(ctx, second)
		if err != nil || !res.Skipped || res.RolledBack || len(e.history(t)) != n {
			t.Fatalf("Rollback to the deployed version = %+v, %v (history %d -> %d)", res, err, n, len(e.history(t)))
		}
	})

	t.Run("RefusedCorrupt", func(t *testing.T) {
		v0, sum0 := deployedSum(t, e.models)
		n, notes := len(e.history(t)), len(e.events.types())
		if err := e.models.Corrupt(ctx, first); err != nil {
			t.Fatal(err)
		}
		res, err := e.r.Rollback(ctx, first)
		var se *retrain.StageError
		if !errors.Is(err, backup.ErrCorrupt) || !errors.As(err, &se) || se.Stage != "rollback" || res.RolledBack {
			t.Fatalf("Rollback to a corrupt version = %+v, %v", res, err)
		}
		if v, sum := deployedSum(t, e.models); v != v0 || sum != sum0 {
			t.Fatalf("deployed %s %s after a refused rollback, want %s %s", v, sum, v0, sum0)
		}
		// The only older version is corrupt: no previous good version.
		if _, err := e.r.Rollback(ctx, ""); !errors.Is(err, backup.ErrNoPrevious) {
			t.Fatalf("Rollback past a corrupt version: %v", err)
		}
		if _, err := e.r.Rollback(ctx, "model_backup_20000101_000000_1"); !errors.Is(err, backup.ErrNotFound) {
			t.Fatalf("Rollback to a missing version: %v", err)
		}
		if len(e.history(t)) != n || len(e.events.types()) != notes {
			t.Error("a refused rollback wrote a history line or notified")
		}
	})
}

// noVerify hides MemStore's Verify, so Rollback checks versions by decoding
// them with the Trainer.
type noVerify struct{ retrain.ModelStore }

func TestRetrainer_Rollback_DecodeCheck(t *testing.T) {
	ctx := context.Background()
	ms := backup.NewMemStore()
	e := newEnv(t, func(c *retrain.Config) { c.Models = noVerify{ms} })
	e.models = ms
	first, second := twoDeploys(t, e)
	// A version with a valid checksum that does not decode, newer than first.
	bad, err := ms.Put(ctx, backup.Manifest{}, strings.NewReader("not a model"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.r.Rollback(ctx, bad.Version); !errors.Is(err, backup.ErrCorrupt) {
		t.Fatalf("Rollback to an undecodable version: %v", err)
	}
	if v, _ := deployedSum(t, ms); v != second {
		t.Fatalf("deployed %s, want %s", v, second)
	}
	// Deploy the bad one by hand: the previous good version is skipped to.
	if err := ms.Deploy(ctx, bad.Version); err != nil {
		t.Fatal(err)
	}
	if err := ms.Corrupt(ctx, second); err != nil {
		t.Fatal(err)
	}
	res, err := e.r.Rollback(ctx, "")
	if err != nil || res.NewVersion != first || res.OldVersion != bad.Version {
		t.Fatalf("Rollback past a corrupt version = %+v, %v", res, err)
	}
}

func TestRetrainer_Rollback_NoPrevious(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, err := e.r.Rollback(ctx, ""); !errors.Is(err, backup.ErrNoCurrent) {
		t.Fatalf("Rollback with nothing deployed: %v", err)
	}
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	n := len(e.history(t))
	if _, err := e.r.Rollback(ctx, ""); !errors.Is(err, backup.ErrNoPrevious) {
		t.Fatalf("Rollback with one version: %v", err)
	}
	if len(e.history(t)) != n {
		t.Error("a failed rollback wrote a history line")
	}
}

func TestRetrainer_Rollback_Busy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	twoDeploys(t, e)
	v0, _ := deployedSum(t, e.models)

	t.Run("Run", func(t *testing.T) {
		e.trainer.Block = make(chan struct{})
		e.trainer.Started = make(chan struct{})
		defer func() { e.trainer.Block, e.trainer.Started = nil, nil }()
		var wg sync.WaitGroup
		var err error
		wg.Go(func() { _, err = e.r.Run(ctx, retrain.RunOptions{Force: true}) })
		<-e.trainer.Started
		start := time.Now()
		if _, err := e.r.Rollback(ctx, ""); !errors.Is(err, retrain.ErrBusy) || time.Since(start) > 100*time.Millisecond {
			t.Errorf("Rollback during a run: %v after %v", err, time.Since(start))
		}
		close(e.trainer.Block)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("OtherProcess", func(t *testing.T) {
		v1, _ := deployedSum(t, e.models)
		l, err := flock.TryLock(e.dir + "/retrain.lock")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Unlock()
		if _, err := e.r.Rollback(ctx, ""); !errors.Is(err, retrain.ErrBusy) {
			t.Errorf("Rollback while the lock file is held: %v", err)
		}
		if v, _ := deployedSum(t, e.models); v != v1 || v1 == v0 {
			t.Errorf("deployed %s, want %s (and not %s)", v, v1, v0)
		}
	})
}

// TestRetrainer_Rollback_Trigger pins how the next Run sees a manual
// rollback: not as an attempt (no cooldown), MaxAge's last success is still
// the last deployed retrain, and nothing is new.
func TestRetrainer_Rollback_Trigger(t *testing.T) {
	ctx := context.Background()
	var seen []trigger.State
	e := newEnv(t, nil)
	_, second := twoDeploys(t, e)
	h := e.history(t)
	lastDeploy := h[len(h)-1]
	if lastDeploy.NewVersion != second {
		t.Fatal(lastDeploy)
	}
	cool := trigger.Cooldown(trigger.MinNewSamples(1), 24*time.Hour, 100)
	e.r2(t, func(c *retrain.Config) {
		c.Trigger = trigger.TriggerFunc(func(ctx context.Context, s trigger.State) (trigger.Decision, error) {
			seen = append(seen, s)
			return cool.ShouldRetrain(ctx, s)
		})
	})
	if _, err := e.r.Rollback(ctx, ""); err != nil {
		t.Fatal(err)
	}

	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.Skipped {
		t.Fatalf("Run right after a rollback = %+v, %v (nothing new: skip)", res, err)
	}
	s := seen[len(seen)-1]
	if s.LastAttempt.Outcome != trigger.OutcomeDeployed || !s.LastAttempt.Time.Equal(lastDeploy.Timestamp) ||
		!s.LastSuccess.Equal(lastDeploy.Timestamp) || s.NewSamples != 0 {
		t.Fatalf("state after a manual rollback: last attempt %+v, last success %v, new %d", s.LastAttempt, s.LastSuccess, s.NewSamples)
	}

	st, err := e.r.Status(ctx)
	if err != nil || st.LastRollback == nil || !st.LastRollback.Manual || st.LastSuccess == nil ||
		st.LastSuccess.RetrainID != lastDeploy.RetrainID || st.LastAttempt.RetrainID != lastDeploy.RetrainID ||
		st.LastRun.Status != trigger.OutcomeSkipped {
		t.Fatalf("status after a rollback: %+v, %v", st, err)
	}

	// One new sample is enough: the rollback started no cooldown.
	e.data.new = append(e.data.new, samples(1, dataset.SourceHuman, "sad")...)
	res, err = e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.Deployed {
		t.Fatalf("Run with new samples after a rollback = %+v, %v", res, err)
	}
	if st, _ := e.r.Status(ctx); st.LastRollback != nil {
		t.Errorf("LastRollback %+v after a newer deploy", st.LastRollback)
	}
}
