package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRun_FollowsNoSymlinks: a symbolic link planted under the root in
// place of a file the run opens (lock, history, log, heartbeat, query log,
// samples, export lock) or in place of the logs directory never makes
// run, status or monitor write to (or truncate) the file it points to.
func TestRun_FollowsNoSymlinks(t *testing.T) {
	if _, err := exec.LookPath("cp"); err != nil {
		t.Skip("cp is needed to copy the root")
	}
	env, _ := fakeEnv(t)
	base := filepath.Join(t.TempDir(), "root")
	cronjob(t, env, "run", "--force", "--root", base, "--init", demoRoot(t)).want(t, exitOK, "first run")

	placements := []string{
		"data/logs/retrain.lock",
		"data/logs/retrain_history.jsonl",
		"data/logs/retrain.log",
		"data/logs/cron_status.json",
		"data/logs/query_logs.jsonl",
		"data/logs/training_dataset.jsonl",
		"data/logs/export.lock",
		"data/logs/training_dataset.jsonl.lock",
		"data/logs/retrain_history.jsonl.lock",
		"data/logs",
	}
	followed := 0
	for _, rel := range placements {
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if out, err := exec.Command("cp", "-a", base, root).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim")
			const content = "precious data outside the root\n"
			target := victim
			if rel == "data/logs" { // the whole directory, copied outside
				target = filepath.Join(outside, "logs")
				if out, err := exec.Command("cp", "-a", filepath.Join(root, rel), target).CombinedOutput(); err != nil {
					t.Fatalf("cp: %v %s", err, out)
				}
				victim = filepath.Join(target, "retrain_history.jsonl")
			} else if err := os.WriteFile(victim, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			before, err := os.ReadFile(victim)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(root, rel)
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Skip("no symlinks here:", err)
			}
			cronjob(t, env, "run", "--force", "--root", root)
			cronjob(t, env, "status", "--root", root)
			cronjob(t, env, "monitor", "--root", root)
			after, err := os.ReadFile(victim)
			if err != nil {
				t.Fatal(err)
			}
			if string(after) != string(before) {
				followed++
				t.Errorf("the run wrote through the symlink %s: the file outside went from %d to %d bytes", rel, len(before), len(after))
			}
			if fi, err := os.Lstat(p); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Logf("%s: the link was replaced (not followed)", rel)
			}
		})
	}
	t.Logf(`REL {"test": "symlink_placements", "runs": %d, "bad": %d, "tried": %d, "followed": %d}`, len(placements), followed, len(placements), followed)
}
