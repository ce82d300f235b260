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
	root := tinyRoot(t, 15)
	env, _ := fakeEnv(t)
	cronjob(t, env, "run", "--force", "--root", root).want(t, exitOK, "first run")
	addCurated(t, root, `{"text":"drizzle and clouds all afternoon","labels":["weather_rainy"]}`)
	r := cronjob(t, env, "run", "--force", "--require-approval", "--root", root)
	r.want(t, exitOK, "staging run")
	id, rest, _ := strings.Cut(strings.TrimSpace(r.stdout), " ")
	if !strings.HasPrefix(rest, "staged: gate passed; model_backup_") {
		t.Fatalf("staging run:\n%s", r.stdout)
	}
	checkFinished(t, mustHeartbeat(t, root), exitOK, "staged")
	before, _ := os.Readlink(filepath.Join(root, "models", "intent_classifier"))

	cronjob(t, env, "promote", id, "--root", root).want(t, exitUsage, "promote without --reason")
	cronjob(t, env, "reject", "retrain_20000101_000000_000000", "--root", root).want(t, exitFailed, "reject of an unknown run")
	r = cronjob(t, env, "approve", id, "--root", root, "--reason", "checked the samples")
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
