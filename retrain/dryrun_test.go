package retrain_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"moodfood/dataset"
	"moodfood/internal/treehash"
	"moodfood/retrain"
	"moodfood/trigger"
)

var _ retrain.Previewer = (*dataset.FileStore)(nil)

// treeHash is treehash.Of, failing the test on error.
func treeHash(t testing.TB, root string) []string {
	t.Helper()
	out, err := treehash.Of(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpen_DryRunWritesNothing runs a forced dry run through Open on a copy
// of examples/demo (a query log never exported, no lock files yet): it must
// return the gate's verdict and leave every file and directory under the
// root as it was. The data reaches the run through dataset.FileStore.Preview.
func TestOpen_DryRunWritesNothing(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "data"), os.DirFS(filepath.Join("..", "examples", "demo", "data"))); err != nil {
		t.Fatal(err)
	}
	r, err := retrain.Open(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	before := treeHash(t, root)
	res, err := r.Run(ctx, retrain.RunOptions{DryRun: true, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Record.Checks) == 0 ||
		(res.Outcome != trigger.OutcomeDeployed && res.Outcome != trigger.OutcomeRejected) {
		t.Fatalf("dry run = outcome %q, %d gate checks, reason %q", res.Outcome, len(res.Record.Checks), res.Reason)
	}
	if res.Record.DatasetQuality.NewSamples == 0 {
		t.Fatal("the demo's query log gave no new samples: the case tests nothing")
	}
	if diff := cmp.Diff(before, treeHash(t, root)); diff != "" {
		t.Fatalf("dry run changed the root (-before +after):\n%s", diff)
	}
	t.Logf("dry run: %s, %d new samples, %d gate checks", res.Outcome, res.Record.DatasetQuality.NewSamples, len(res.Record.Checks))
}
