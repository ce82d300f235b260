package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/trigger"
)

// Environment of the child process of TestRetrainer_CrashAfterDeploy.
const (
	crashURLEnv    = "MOODFOOD_PGSTORE_CRASH_URL"
	crashSchemaEnv = "MOODFOOD_PGSTORE_CRASH_SCHEMA"
)

// openRetrainerWith opens a Retrainer on schema with opts, as cronjob does
// with --database-url.
func openRetrainerWith(t testing.TB, url, schema string, opts *retrain.Options) *retrain.Retrainer {
	t.Helper()
	db, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: schema,
		Check: func(r io.Reader) error { _, err := model.Decode(r); return err }})
	if err != nil {
		t.Fatal(err)
	}
	st, err := db.Stores(nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := retrain.OpenStores(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// openWithBase opens a fresh schema with a base set of three intents.
func openWithBase(t *testing.T) (*pgstore.DB, *pgstore.DatasetStore, string) {
	t.Helper()
	db, url := openDB(t, nil)
	ds, _ := db.Dataset(nil)
	if err := ds.SetBase(context.Background(), intentSamples(20)); err != nil {
		t.Fatal(err)
	}
	return db, ds, url
}

// logComfort logs n distinct queries the LLM labelled goal_comfort.
func logComfort(t *testing.T, db *pgstore.DB, n int) {
	t.Helper()
	var qs []dataset.Query
	for i := range n {
		qs = append(qs, dataset.Query{Text: fmt.Sprintf("warm soup blanket please %d", i), Method: dataset.MethodLLM, LLMLabels: []string{"goal_comfort"}})
	}
	logAll(t, db, qs)
}

// TestRetrainer_CrashAfterDeploy: a run killed right after its deploy (as
// verify starts) leaves the new version deployed and the samples it was
// trained on committed, because the watermark moved in the deploy's
// transaction: they do not count as new again, so the next run does not
// retrain on them as fresh data.
func TestRetrainer_CrashAfterDeploy(t *testing.T) {
	ctx := context.Background()
	db, ds, url := openWithBase(t)
	logComfort(t, db, 30)

	cmd := exec.Command(os.Args[0], "-test.run", "^TestRetrainer_CrashAfterDeployChild$", "-test.count", "1")
	cmd.Env = append(os.Environ(), crashURLEnv+"="+url, crashSchemaEnv+"="+db.Schema())
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; output:\n%s", err, out)
	}
	cur, err := db.Models().Current(ctx)
	if err != nil {
		t.Fatalf("nothing deployed after the kill: %v", err)
	}
	if n, err := ds.Pending(ctx); err != nil || n != 0 {
		t.Errorf("Pending after a run killed after deploying %s = %d, %v; want 0 (the deploy commits the watermark)", cur, n, err)
	}
	snap, err := ds.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.New) != 0 || len(snap.Old) != 30 {
		t.Errorf("after the kill: %d new, %d old samples; want 0 new, 30 old", len(snap.New), len(snap.Old))
	}
}

// TestRetrainer_CrashAfterDeployChild is the run that
// TestRetrainer_CrashAfterDeploy kills: it SIGKILLs itself when the verify
// stage starts, right after the deploy. It does nothing on its own.
func TestRetrainer_CrashAfterDeployChild(t *testing.T) {
	url, schema := os.Getenv(crashURLEnv), os.Getenv(crashSchemaEnv)
	if url == "" {
		t.Skip("the child of TestRetrainer_CrashAfterDeploy")
	}
	r := openRetrainerWith(t, url, schema, &retrain.Options{OnProgress: func(p retrain.Progress) {
		if p.Stage == "verify" {
			// os.Process.Kill is SIGKILL on Unix (and builds everywhere).
			if p, err := os.FindProcess(os.Getpid()); err == nil {
				p.Kill()
			}
		}
	}})
	res, err := r.Run(context.Background(), retrain.RunOptions{Force: true})
	t.Fatalf("the run finished (%+v, %v); it should have been killed after its deploy", res, err)
}

// unreadableAfterTrain trains with the model package but fails to decode
// anything once it has trained: the candidate it deploys cannot be loaded
// back, so the run rolls it back.
type unreadableAfterTrain struct {
	t       *model.Trainer
	trained atomic.Bool
}

func (u *unreadableAfterTrain) Train(ctx context.Context, data []model.Example, progress func(model.Progress)) (retrain.Classifier, error) {
	u.trained.Store(true)
	c, err := u.t.Train(ctx, data, progress)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (u *unreadableAfterTrain) Decode(r io.Reader) (retrain.Classifier, error) {
	if u.trained.Load() {
		return nil, errors.New("unreadable (test)")
	}
	c, err := model.Decode(r)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// TestRetrainer_RollbackKeepsMark: a deploy that cannot be loaded back is
// rolled back together with its watermark, so the samples of the rolled
// back model still count as new.
func TestRetrainer_RollbackKeepsMark(t *testing.T) {
	ctx := context.Background()
	db, ds, url := openWithBase(t)
	first, err := openRetrainerWith(t, url, db.Schema(), nil).Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !first.Deployed {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	logComfort(t, db, 30)
	// The gate lets any candidate through: this test is about what happens
	// after the deploy.
	open := retrain.Gate{MaxAccuracyDrop: 1, MaxMacroF1Drop: 1, MaxIntentF1Drop: -1, MaxCoverageDrop: -1, MaxBestEverDrop: -1}
	r, err := retrain.New(retrain.Config{Data: ds, Models: db.Models(), Trigger: retrain.DefaultTrigger(),
		Trainer: &unreadableAfterTrain{t: model.NewTrainer(nil)}, Gate: open})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || res.Outcome != trigger.OutcomeRolledBack {
		t.Fatalf("second run: %s %s, %v; want rolled back", res.Outcome, res.Reason, err)
	}
	if cur, _ := db.Models().Current(ctx); cur != first.NewVersion {
		t.Fatalf("deployed %s after the rollback, want %s", cur, first.NewVersion)
	}
	if n, err := ds.Pending(ctx); err != nil || n != 30 {
		t.Errorf("Pending after the rollback = %d, %v; want 30 (the watermark rolled back with the deploy)", n, err)
	}
}

// TestModelStore_DeployMarkOtherStore: DeployMark refuses, changing
// nothing, a data store it cannot commit to in its transaction.
func TestModelStore_DeployMarkOtherStore(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t, nil)
	ms := db.Models()
	put, err := ms.Put(ctx, backup.Manifest{}, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	other := dataset.NewMemStore(nil)
	_, err = ms.DeployMark(ctx, put.Version, other, dataset.Mark{Offset: 1, Count: 1})
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("DeployMark with a memory store: %v, want errors.ErrUnsupported", err)
	}
	if _, err := ms.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
		t.Fatalf("Current after a refused DeployMark: %v, want ErrNoCurrent", err)
	}
}

// TestRetrainer_ApproveCommitsMark: approving a staged candidate deploys it
// and commits the watermark of the run that staged it (through DeployMark);
// until then its samples count as new.
func TestRetrainer_ApproveCommitsMark(t *testing.T) {
	ctx := context.Background()
	db, ds, url := openWithBase(t)
	logComfort(t, db, 30)
	r := openRetrainerWith(t, url, db.Schema(), nil)
	res, err := r.Run(ctx, retrain.RunOptions{Force: true, RequireApproval: true})
	if err != nil || res.Outcome != trigger.OutcomeStaged {
		t.Fatalf("run: %s %s, %v; want staged", res.Outcome, res.Reason, err)
	}
	if n, err := ds.Pending(ctx); err != nil || n != 30 {
		t.Fatalf("Pending while staged = %d, %v; want 30", n, err)
	}
	ap, err := r.Approve(ctx, res.RunID, "looks good")
	if err != nil || ap.Outcome != trigger.OutcomeDeployed {
		t.Fatalf("Approve: %s %s, %v", ap.Outcome, ap.Reason, err)
	}
	if cur, _ := db.Models().Current(ctx); cur != res.NewVersion {
		t.Fatalf("deployed %s after Approve, want %s", cur, res.NewVersion)
	}
	if n, err := ds.Pending(ctx); err != nil || n != 0 {
		t.Errorf("Pending after Approve = %d, %v; want 0", n, err)
	}
}
