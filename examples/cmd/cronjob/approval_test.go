package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyRoot writes a small two-label curated dataset, n samples per label.
func tinyRoot(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{"text":"rainy grey day number %d","labels":["weather_rainy"]}`+"\n", i)
		fmt.Fprintf(&b, `{"text":"bright sunny morning %d","labels":["weather_sunny"]}`+"\n", i)
	}
	if err := os.WriteFile(filepath.Join(root, baseDatasetRel), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return root
}

// run --require-approval stages; approve deploys it; a second approve and
// an unknown id fail; promote needs a reason.
func TestApproval(t *testing.T) {
	root, env, id, _ := stagedRoot(t)
	checkFinished(t, mustHeartbeat(t, root), exitOK, "staged")
	before, _ := os.Readlink(filepath.Join(root, "models", "intent_classifier"))

	cronjob(t, env, "promote", id, "--root", root).want(t, exitUsage, "promote without --reason")
	cronjob(t, env, "reject", "retrain_20000101_000000_000000", "--root", root).want(t, exitFailed, "reject of an unknown run")
	r := cronjob(t, env, "approve", id, "--root", root, "--reason", "checked the samples")
	r.want(t, exitOK, "approve")
	if !strings.Contains(r.stdout, " deployed: model_backup_") {
		t.Fatalf("approve:\n%s", r.stdout)
	}
	after, _ := os.Readlink(filepath.Join(root, "models", "intent_classifier"))
	if after == before {
		t.Fatal("approve did not change the deployed version")
	}
	r = cronjob(t, env, "approve", "--root", root, id)
	r.want(t, exitFailed, "second approve")
	if !strings.Contains(r.stderr, "already decided") {
		t.Errorf("second approve: %s", r.stderr)
	}
	lines := readHistoryLines(t, root)
	if last := lines[len(lines)-1]; last.Decides != id || last.Status != "deployed" || !strings.Contains(last.Reason, "checked the samples") {
		t.Errorf("history's last line: %+v", last)
	}
}

// prune keeps a staged candidate that no one has decided about, also after
// later runs deployed newer versions, so that approve still works.
func TestPruneKeepsStaged(t *testing.T) {
	root, env, id, staged := stagedRoot(t)
	for i, line := range []string{
		`{"text":"a clear blue sky at noon","labels":["weather_sunny"]}`,
		`{"text":"heavy showers this evening","labels":["weather_rainy"]}`,
	} {
		addCurated(t, root, line)
		cronjob(t, env, "run", "--force", "--root", root).want(t, exitOK, fmt.Sprintf("later run %d", i))
	}
	r := cronjob(t, env, "prune", "--keep-last", "1", "--dry-run", "--root", root)
	r.want(t, exitOK, "prune --dry-run")
	if !strings.Contains(r.stdout, "keeping "+staged+" (staged") || strings.Contains(r.stdout, "would delete "+staged) ||
		!strings.Contains(r.stdout, "1 version(s) would be deleted") {
		t.Fatalf("prune --dry-run:\n%s", r.stdout)
	}
	r = cronjob(t, env, "prune", "--keep-last", "1", "--root", root)
	r.want(t, exitOK, "prune")
	if strings.Contains(r.stdout, "deleted "+staged) || !strings.Contains(r.stdout, "1 version(s) deleted") {
		t.Fatalf("prune:\n%s", r.stdout)
	}
	cronjob(t, env, "approve", id, "--root", root).want(t, exitOK, "approve after prune")
	if after, _ := os.Readlink(filepath.Join(root, "models", "intent_classifier")); !strings.Contains(after, staged) {
		t.Errorf("deployed after approve: %s, want %s", after, staged)
	}
}

// stagedRoot returns a root whose first run deployed and whose second
// (--require-approval) run staged a candidate, the environment the runs
// used, the staging run's id and the staged version.
func stagedRoot(t *testing.T) (root string, env []string, id, staged string) {
	t.Helper()
	root = tinyRoot(t, 15)
	env, _ = fakeEnv(t)
	cronjob(t, env, "run", "--force", "--root", root).want(t, exitOK, "first run")
	addCurated(t, root, `{"text":"drizzle and clouds all afternoon","labels":["weather_rainy"]}`)
	r := cronjob(t, env, "run", "--force", "--require-approval", "--root", root)
	r.want(t, exitOK, "staging run")
	id, rest, _ := strings.Cut(strings.TrimSpace(r.stdout), " ")
	staged, _, _ = strings.Cut(strings.TrimPrefix(rest, "staged: gate passed; "), " ")
	if !strings.HasPrefix(rest, "staged: gate passed; ") || !strings.HasPrefix(staged, "model_backup_") {
		t.Fatalf("staging run:\n%s", r.stdout)
	}
	return root, env, id, staged
}
