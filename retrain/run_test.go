package retrain_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/trigger"
)

func readHistory(t testing.TB, path string) []retrain.Record {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []retrain.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r retrain.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			continue // a torn line, as readers must skip
		}
		out = append(out, r)
	}
	return out
}

func TestNew_Validate(t *testing.T) {
	_, err := retrain.New(retrain.Config{HoldoutFraction: 2})
	if err == nil {
		t.Fatal("New accepted an empty Config")
	}
	for _, want := range []string{"Config.Trigger", "Config.Data", "Config.Trainer", "Config.Models", "Config.HoldoutFraction"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestRun_FirstDeploy(t *testing.T) {
	ctx := context.Background()
	var stagesSeen []string
	e := newEnv(t, func(c *retrain.Config) {
		c.OnProgress = func(p retrain.Progress) {
			if len(stagesSeen) == 0 || stagesSeen[len(stagesSeen)-1] != p.Stage {
				stagesSeen = append(stagesSeen, p.Stage)
			}
		}
		c.Canaries = []retrain.Canary{{Text: "happy days", Intent: "happy"}}
	})
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Deployed || res.Outcome != trigger.OutcomeDeployed || res.NewVersion == "" || res.OldVersion != "" {
		t.Fatalf("result = %+v", res)
	}
	v, _ := deployedSum(t, e.models)
	if v != res.NewVersion {
		t.Fatalf("deployed %s, result says %s", v, res.NewVersion)
	}
	if n, _ := e.data.Pending(ctx); n != 0 {
		t.Errorf("watermark not committed: %d pending", n)
	}
	m, rc, err := e.models.Open(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if m.RunID != res.RunID || m.DatasetFingerprint == "" || m.Metrics["accuracy"] != 1 || m.Metrics["train_samples"] == 0 {
		t.Errorf("manifest = %+v", m)
	}
	h := e.history(t)
	if len(h) != 1 || h[0].Status != trigger.OutcomeDeployed || h[0].RetrainID != res.RunID {
		t.Fatalf("history = %+v", h)
	}
	q := h[0].DatasetQuality
	if q.TotalEntries != 120 || q.NewSamples != 30 || q.HoldoutSamples == 0 || q.TrainSamples+q.HoldoutSamples != 120 {
		t.Errorf("dataset_quality = %+v", q)
	}
	if len(h[0].Durations) < 8 || h[0].PeakMemoryBytes <= 0 || h[0].Trigger == nil || len(h[0].Checks) == 0 {
		t.Errorf("record lacks durations, memory, trigger or checks: %+v", h[0])
	}
	if got := strings.Join(e.events.types(), ","); got != "run.started,model.deployed" {
		t.Errorf("notified %s", got)
	}
	if !strings.HasPrefix(res.RunID, "retrain_") || len(res.RunID) != len("retrain_20250820_030000_123456") {
		t.Errorf("run id %q", res.RunID)
	}
	if strings.Join(stagesSeen, ",") != "trigger,load,merge,train,evaluate,gate,save,deploy,verify,commit" {
		t.Errorf("progress stages %v", stagesSeen)
	}

	// A second run against the deployed model: same quality passes.
	res2, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res2.Deployed || res2.OldVersion != res.NewVersion {
		t.Fatalf("second run: %+v, %v", res2, err)
	}
	for _, c := range res2.Record.Checks {
		if !c.Passed {
			t.Errorf("check %+v failed", c)
		}
	}
}

func TestRun_Skipped(t *testing.T) {
	e := newEnv(t, func(c *retrain.Config) { c.Trigger = always(false) })
	res, err := e.r.Run(context.Background(), retrain.RunOptions{})
	if err != nil || !res.Skipped || res.Outcome != trigger.OutcomeSkipped || !strings.Contains(res.Reason, "test trigger says false") {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if e.trainer.calls != 0 {
		t.Error("a skipped run trained")
	}
	h := e.history(t)
	if len(h) != 1 || h[0].Status != trigger.OutcomeSkipped || h[0].Trigger == nil || len(h[0].Trigger.Reasons) != 1 {
		t.Fatalf("history = %+v", h)
	}
	if got := strings.Join(e.events.types(), ","); got != "run.skipped" {
		t.Errorf("notified %s", got)
	}
	// Force overrides the trigger.
	res, err = e.r.Run(context.Background(), retrain.RunOptions{Force: true})
	if err != nil || !res.Deployed || !res.Record.Forced {
		t.Fatalf("forced Run = %+v, %v", res, err)
	}
}

// TestRun_BadCandidates: every bad candidate is rejected or failed and the
// deployed model's bytes do not change.
func TestRun_BadCandidates(t *testing.T) {
	cases := []struct {
		name    string
		trainer fakeTrainer
		mod     func(*retrain.Config)
		data    func(*memData)
		outcome trigger.Outcome
		check   string // the failed check, for rejections
		stage   string // the failed stage, for failures
	}{
		{name: "worse", trainer: fakeTrainer{Mode: "const:happy"}, outcome: trigger.OutcomeRejected, check: "accuracy_delta"},
		{name: "slightly worse", trainer: fakeTrainer{Mode: "worse:3"}, outcome: trigger.OutcomeRejected, check: "macro_f1_delta"},
		{name: "nan", trainer: fakeTrainer{Mode: "nan"}, outcome: trigger.OutcomeRejected, check: "non_finite"},
		{name: "label dropped", trainer: fakeTrainer{Drop: "sad"}, outcome: trigger.OutcomeRejected, check: "labels_dropped"},
		{name: "empty eval set", mod: func(c *retrain.Config) { c.HoldoutFraction = 1e-12 }, outcome: trigger.OutcomeRejected, check: "eval_samples"},
		{name: "canary", mod: func(c *retrain.Config) { c.Canaries = []retrain.Canary{{Text: "happy", Intent: "sad"}} }, outcome: trigger.OutcomeRejected, check: "canary_failures"},
		{name: "floor", mod: func(c *retrain.Config) { c.Gate.MinAccuracy = 0.99 }, trainer: fakeTrainer{Mode: "worse:3"}, outcome: trigger.OutcomeRejected, check: "accuracy"},
		{name: "panic", trainer: fakeTrainer{Panic: true}, outcome: trigger.OutcomeFailed, stage: "train"},
		{name: "error", trainer: fakeTrainer{Err: errors.New("out of memory")}, outcome: trigger.OutcomeFailed, stage: "train"},
		{name: "no data", data: func(d *memData) { d.base, d.new = nil, nil }, outcome: trigger.OutcomeFailed, stage: "merge"},
	}
	runs, bad := 0, 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, tc.mod)
			// Deploy a good model first.
			if res, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil || !res.Deployed {
				if tc.check != "eval_samples" && tc.check != "canary_failures" && tc.check != "accuracy" {
					t.Fatalf("setup run: %+v, %v", res, err)
				}
			}
			v0, sum0 := deployedSum(t, e.models)
			*e.trainer = tc.trainer
			if tc.data != nil {
				tc.data(e.data)
			}
			res, err := e.r.Run(ctx, retrain.RunOptions{Force: true})
			runs++
			v1, sum1 := deployedSum(t, e.models)
			ok := res.Outcome == tc.outcome && v1 == v0 && sum1 == sum0 && !res.Deployed
			switch tc.outcome {
			case trigger.OutcomeRejected:
				ok = ok && err == nil && hasFailed(res.Record.Checks, tc.check)
			case trigger.OutcomeFailed:
				var se *retrain.StageError
				ok = ok && errors.As(err, &se) && se.Stage == tc.stage
			}
			if !ok {
				bad++
				t.Errorf("Run = %+v, %v; deployed %s -> %s", res, err, v0, v1)
			}
			h := e.history(t)
			if last := h[len(h)-1]; last.Status != tc.outcome || last.Reason == "" {
				t.Errorf("history line %+v", last)
			}
		})
	}
	t.Logf(`REL {"test": "bad_candidates", "runs": %d, "bad": %d}`, runs, bad)
}

func hasFailed(cs []retrain.Check, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return !c.Passed
		}
	}
	return false
}

func TestRun_RollbackOnCanary(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *retrain.Config) {
		c.Canaries = []retrain.Canary{{Text: "sad and rainy", Intent: "sad"}, {Text: "hungry now", Intent: "hungry"}}
	})
	first, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !first.Deployed {
		t.Fatal(first, err)
	}
	// The candidate is fine in memory but not once read back from the store.
	e.trainer.DecodeAs = "const:happy"
	e.data.new = append(e.data.new, samples(5, dataset.SourceHuman, "sad")...)
	res, err := e.r.Run(ctx, retrain.RunOptions{})
	if err != nil || !res.RolledBack || res.Outcome != trigger.OutcomeRolledBack {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if v, _ := deployedSum(t, e.models); v != first.NewVersion {
		t.Fatalf("deployed %s after rollback, want %s", v, first.NewVersion)
	}
	if res.Record.RolledBackTo != first.NewVersion || len(res.Record.Canaries) != 2 || !strings.Contains(res.Reason, "rolled back") {
		t.Errorf("record %+v", res.Record)
	}
	if n, _ := e.data.Pending(ctx); n != 5 {
		t.Errorf("watermark moved on a rollback: %d pending", n)
	}
	if types := e.events.types(); types[len(types)-1] != retrain.EventModelRolledBack {
		t.Errorf("events %v", types)
	}
}

func TestRun_Busy(t *testing.T) {
	e := newEnv(t, nil)
	e.trainer.Block = make(chan struct{})
	e.trainer.Started = make(chan struct{})
	var wg sync.WaitGroup
	var res retrain.Result
	var err error
	wg.Go(func() { res, err = e.r.Run(context.Background(), retrain.RunOptions{}) })
	<-e.trainer.Started
	start := time.Now()
	_, err2 := e.r.Run(context.Background(), retrain.RunOptions{})
	if !errors.Is(err2, retrain.ErrBusy) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("second Run: %v after %v", err2, time.Since(start))
	}
	st, serr := e.r.Status(context.Background())
	if serr != nil || !st.Running || st.RunningPID != os.Getpid() || st.RunningID == "" {
		t.Errorf("Status during a run: running=%v pid=%d id=%q %v", st.Running, st.RunningPID, st.RunningID, serr)
	}
	close(e.trainer.Block)
	wg.Wait()
	if err != nil || !res.Deployed {
		t.Fatal(res, err)
	}
}

func TestRun_Cancel(t *testing.T) {
	for _, stage := range []string{"trigger", "load", "train"} {
		t.Run(stage, func(t *testing.T) {
			e := newEnv(t, nil)
			if _, err := e.r.Run(context.Background(), retrain.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			v0, sum0 := deployedSum(t, e.models)
			ctx, cancel := context.WithCancel(context.Background())
			e.r2(t, func(c *retrain.Config) {
				c.OnEvent = func(_ context.Context, ev retrain.Event) {
					if ev.Type == retrain.EventStageStarted && ev.Stage == stage {
						cancel()
					}
				}
			})
			e.trainer.Block = make(chan struct{}) // only ctx ends training
			res, err := e.r.Run(ctx, retrain.RunOptions{Force: true})
			if !errors.Is(err, context.Canceled) || res.Outcome != trigger.OutcomeFailed {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			if v, sum := deployedSum(t, e.models); v != v0 || sum != sum0 {
				t.Fatal("deployed model changed")
			}
			h := e.history(t)
			if last := h[len(h)-1]; last.Status != trigger.OutcomeFailed || !strings.Contains(last.Reason, "canceled") {
				t.Fatalf("history %+v", last)
			}
		})
	}
}

func TestRun_DryRun(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	e.data.new = append(e.data.new, samples(5, dataset.SourceHuman, "sad")...)
	before := treeHash(t, e.dir)
	v0, _ := deployedSum(t, e.models)
	nversions := len(must(e.models.List(ctx)))
	e.events.events = nil
	res, err := e.r.Run(ctx, retrain.RunOptions{DryRun: true})
	if err != nil || !res.DryRun || !res.Deployed || len(res.Plan) < 4 || len(res.Record.Checks) == 0 {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if diff := cmp.Diff(before, treeHash(t, e.dir)); diff != "" {
		t.Errorf("dry run wrote to the root (-before +after):\n%s", diff)
	}
	if v, _ := deployedSum(t, e.models); v != v0 || len(must(e.models.List(ctx))) != nversions {
		t.Error("dry run stored or deployed a version")
	}
	if n, _ := e.data.Pending(ctx); n != 5 {
		t.Error("dry run committed the watermark")
	}
	if len(e.events.types()) != 0 {
		t.Errorf("dry run notified %v", e.events.types())
	}
	// A rejected candidate in a dry run says so.
	e.trainer.Mode = "const:sad"
	res, err = e.r.Run(ctx, retrain.RunOptions{DryRun: true})
	if err != nil || res.Outcome != trigger.OutcomeRejected || res.Deployed {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestRun_NotifierMisbehaves: a notifier that errors, panics or hangs
// changes nothing but the log, and costs at most NotifyTimeout per event.
func TestRun_NotifierMisbehaves(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	cases := map[string]retrain.NotifierFunc{
		"error": func(context.Context, retrain.Event) error { return errors.New("chat is down") },
		"panic": func(context.Context, retrain.Event) error { panic("boom") },
		"hang":  func(context.Context, retrain.Event) error { <-hang; return nil },
	}
	for name, n := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(c *retrain.Config) {
				c.Notifier = n
				c.NotifyTimeout = 100 * time.Millisecond
				c.OnEvent = func(context.Context, retrain.Event) { panic("hook panics too") }
			})
			start := time.Now()
			res, err := e.r.Run(context.Background(), retrain.RunOptions{})
			if err != nil || !res.Deployed || time.Since(start) > 2*time.Second {
				t.Fatalf("Run = %+v, %v after %v", res, err, time.Since(start))
			}
		})
	}
}

// TestStatus: what a person asks first, cheaply.
func TestStatus(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, func(c *retrain.Config) {
		c.CronStatusPath = filepath.Join(filepath.Dir(c.HistoryPath), "cron_status.json")
	})
	st, err := e.r.Status(ctx)
	if err != nil || st.Deployed != nil || st.LastSuccess != nil || st.Pending != 30 || st.Decision == nil || st.Running {
		t.Fatalf("empty status = %+v, %v", st, err)
	}
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	// A torn last line must not hide the history.
	f, _ := os.OpenFile(e.dir+"/retrain_history.jsonl", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"retrain_id": "retrain_2025`)
	f.Close()
	os.WriteFile(e.dir+"/cron_status.json", []byte(`{"last_start":"2025-08-20T03:00:00Z"}`), 0o600)
	st, err = e.r.Status(ctx)
	if err != nil || st.Deployed == nil || !st.Deployed.Intact || st.LastSuccess == nil || st.LastAttempt == nil ||
		st.HistoryCorrupt != 1 || len(st.Backups) != 1 || st.BackupBytes == 0 || st.Pending != 0 || string(st.Cron) == "" {
		t.Fatalf("status = %+v, %v", st, err)
	}
	// The next run appends on a fresh line after the torn one (the reader
	// stops before the torn line once it has what it needs).
	if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ = e.r.Status(ctx)
	if st.LastRun == nil || st.LastRun.Status != trigger.OutcomeDeployed || len(e.history(t)) != 2 {
		t.Fatalf("status after torn line = %+v", st)
	}
	// A corrupt deployed model shows in the integrity check.
	v, _ := e.models.Current(ctx)
	e.models.Corrupt(ctx, v)
	st, _ = e.r.Status(ctx)
	if st.Deployed == nil || st.Deployed.Intact || st.Deployed.Integrity == "ok" {
		t.Fatalf("corrupt deployed model: %+v", st.Deployed)
	}
}

// shortStore is a ModelStore whose Put stores only the first 16 bytes of the
// body and reports success: a store bug the save stage must catch.
type shortStore struct{ *backup.MemStore }

func (s shortStore) Put(ctx context.Context, m backup.Manifest, body io.Reader) (backup.Manifest, error) {
	return s.MemStore.Put(ctx, m, io.LimitReader(body, 16))
}

// TestRun_SaveFailures: a candidate that cannot be encoded, or a store that
// does not store the whole encoding, fails the run at "save" and leaves the
// deployed model as it was.
func TestRun_SaveFailures(t *testing.T) {
	cases := []struct {
		name    string
		trainer fakeTrainer
		store   func(*backup.MemStore) retrain.ModelStore
		wantErr func(error) bool
	}{
		{name: "encode panics", trainer: fakeTrainer{EncodePanic: true},
			wantErr: func(err error) bool { _, ok := errors.AsType[*retrain.PanicError](err); return ok }},
		{name: "store stops reading", store: func(m *backup.MemStore) retrain.ModelStore { return shortStore{m} },
			wantErr: func(err error) bool { return strings.Contains(err.Error(), "stopped reading") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, nil)
			if _, err := e.r.Run(ctx, retrain.RunOptions{}); err != nil {
				t.Fatal(err)
			}
			v0, sum0 := deployedSum(t, e.models)
			*e.trainer = tc.trainer
			e.r2(t, func(c *retrain.Config) {
				if tc.store != nil {
					c.Models = tc.store(e.models)
				}
			})
			res, err := e.r.Run(ctx, retrain.RunOptions{Force: true})
			se, ok := errors.AsType[*retrain.StageError](err)
			if !ok || se.Stage != "save" || !tc.wantErr(err) || res.Outcome != trigger.OutcomeFailed || res.Deployed {
				t.Fatalf("Run = %+v, %v", res, err)
			}
			if v, sum := deployedSum(t, e.models); v != v0 || sum != sum0 {
				t.Errorf("deployed %s -> %s", v0, v)
			}
		})
	}
}
