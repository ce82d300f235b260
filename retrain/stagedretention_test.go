package retrain_test

import (
	"slices"
	"testing"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/trigger"
)

// TestRetention_StagedCandidates: a candidate staged for approval survives
// the retention of later runs until a person decides about it; a rejected
// one is pruned like any other old version.
func TestRetention_StagedCandidates(t *testing.T) {
	// setup: a FileStore under a temp root, KeepLast 1 (the deployed
	// version and its rollback target are kept anyway), one deployed run
	// and one staged run.
	setup := func(t *testing.T) (*env, *backup.FileStore, retrain.Result, retrain.Result) {
		fs, err := backup.OpenFileStore(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fs.Close() })
		e := newEnv(t, func(c *retrain.Config) {
			c.Models = fs
			c.Retention = backup.Policy{KeepLast: 1}
		})
		first, err := e.r.Run(t.Context(), retrain.RunOptions{})
		if err != nil || !first.Deployed {
			t.Fatalf("first run: %s %v", first.Outcome, err)
		}
		staged, err := e.r.Run(t.Context(), retrain.RunOptions{RequireApproval: true})
		if err != nil || staged.Outcome != trigger.OutcomeStaged || staged.NewVersion == "" {
			t.Fatalf("staged run: %s %q %v", staged.Outcome, staged.NewVersion, err)
		}
		return e, fs, first, staged
	}
	// deployMore runs n more deploying runs, each of which prunes.
	deployMore := func(t *testing.T, e *env, n int) []backup.Version {
		var vs []backup.Version
		for i := range n {
			res, err := e.r.Run(t.Context(), retrain.RunOptions{})
			if err != nil || !res.Deployed {
				t.Fatalf("later run %d: %s %v", i, res.Outcome, err)
			}
			vs = append(vs, res.NewVersion)
		}
		return vs
	}
	stored := func(t *testing.T, fs *backup.FileStore) []backup.Version {
		ms, err := fs.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var vs []backup.Version
		for _, m := range ms {
			vs = append(vs, m.Version)
		}
		return vs
	}

	t.Run("AwaitingApprovalIsKeptAndApproved", func(t *testing.T) {
		e, fs, first, staged := setup(t)
		later := deployMore(t, e, 3)
		left := stored(t, fs)
		if !slices.Contains(left, staged.NewVersion) {
			t.Errorf("retention pruned the staged candidate %s awaiting approval; stored: %v", staged.NewVersion, left)
		}
		if slices.Contains(left, first.NewVersion) || slices.Contains(left, later[0]) {
			t.Errorf("retention kept old versions it should have pruned: %v", left)
		}
		res, err := e.r.Approve(t.Context(), staged.RunID, "checked")
		if err != nil || !res.Deployed || res.NewVersion != staged.NewVersion {
			t.Fatalf("Approve after later runs = %s %q, %v", res.Outcome, res.NewVersion, err)
		}
		if cur, err := fs.Current(t.Context()); err != nil || cur != staged.NewVersion {
			t.Errorf("deployed after approve: %s, %v; want %s", cur, err, staged.NewVersion)
		}
	})
	t.Run("RejectedIsPrunable", func(t *testing.T) {
		e, fs, _, staged := setup(t)
		if _, err := e.r.Reject(t.Context(), staged.RunID, "not now"); err != nil {
			t.Fatal(err)
		}
		deployMore(t, e, 3)
		if left := stored(t, fs); slices.Contains(left, staged.NewVersion) {
			t.Errorf("retention kept the rejected candidate %s: %v", staged.NewVersion, left)
		}
	})
}
