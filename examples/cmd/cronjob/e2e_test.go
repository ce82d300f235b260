package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/internal/flock"
	"moodfood/retrain"
)

// demoRoot returns the shipped demo root, skipping the test without it.
func demoRoot(t *testing.T) string {
	t.Helper()
	demo, err := filepath.Abs(filepath.Join("..", "..", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(demo, baseDatasetRel)); err != nil {
		t.Skip("no demo root:", err)
	}
	return demo
}

// addCurated appends a line to root's curated dataset, so that the next
// forced run trains on new data (on unchanged data it stores nothing).
func addCurated(t *testing.T, root, line string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, baseDatasetRel), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, line); err != nil {
		t.Fatal(err)
	}
}

// mustHeartbeat reads root's heartbeat and checks its mode.
func mustHeartbeat(t *testing.T, root string) *heartbeat {
	t.Helper()
	hb, err := readHeartbeat(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(heartbeatPath(root)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("heartbeat mode: %v %v", fi.Mode(), err)
	}
	return hb
}

// checkFinished checks a finished heartbeat's exit code and outcome.
func checkFinished(t *testing.T, hb *heartbeat, code int, outcome string) {
	t.Helper()
	if hb.State != stateFinished || hb.ExitCode == nil || *hb.ExitCode != code || hb.Outcome != outcome {
		t.Fatalf("heartbeat: state %s exit %v outcome %s, want finished %d %s", hb.State, hb.ExitCode, hb.Outcome, code, outcome)
	}
	if hb.PID <= 0 || hb.Host == "" || hb.Finished.Before(hb.Started) || hb.Deadline.IsZero() {
		t.Fatalf("heartbeat fields: %+v", hb)
	}
}

// TestEndToEnd drives the built binary over a copy of the demo root:
// run → status → run (skipped) → forced run → backups → rollback → verify →
// monitor → prune, checking exit codes and files.
func TestEndToEnd(t *testing.T) {
	demo := demoRoot(t)
	root := filepath.Join(t.TempDir(), "run", "demo") // does not exist yet: --init creates it
	env, tab := fakeEnv(t)
	if err := os.WriteFile(tab, []byte(foreignTab+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	r := cronjob(t, env, "run", "--force", "--root", root, "--init", demo)
	r.want(t, exitOK, "first forced run")
	if !strings.Contains(r.stdout, "initialized "+root) || !strings.Contains(r.stdout, " deployed: model_backup_") {
		t.Fatalf("first run output:\n%s", r.stdout)
	}
	for _, p := range []string{"data", "data/logs", "models"} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want dir 0700", p, fi.Mode(), err)
		}
	}
	for _, p := range []string{baseDatasetRel, "data/golden_dataset.jsonl", "data/logs/query_logs.jsonl", "data/logs/" + historyName} {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want file 0600", p, fi.Mode(), err)
		}
	}
	hb := mustHeartbeat(t, root)
	checkFinished(t, hb, exitOK, "deployed")
	if hb.Result == nil || !strings.HasPrefix(hb.Result.Version, "model_backup_") || !hb.Force || !hb.NextRun.IsZero() {
		t.Fatalf("heartbeat result: %+v", hb)
	}
	first := hb.Result.Version

	// Schedule it; later heartbeats carry the next run.
	cronjob(t, env, "setup", "--root", root, "--schedule", "0 3 * * *").want(t, exitOK, "setup")

	r = cronjob(t, env, "status", "--root", root)
	r.want(t, exitOK, "status")
	for _, w := range []string{first + " (created", "intact", "pending:", "trigger:       not due", "[ ] min_new_samples"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("status lacks %q:\n%s", w, r.stdout)
		}
	}
	r = cronjob(t, env, "status", "--json", "--root", root)
	r.want(t, exitOK, "status --json")
	var st retrain.Status
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Deployed == nil || string(st.Deployed.Version) != first {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}

	// Without --force the trigger says no, with reasons: exit 0.
	r = cronjob(t, append(env, "MOODFOOD_ROOT="+root), "run")
	r.want(t, exitOK, "second run")
	if !strings.Contains(r.stdout, " skipped: ") || !strings.Contains(r.stdout, "[ ] min_new_samples: ") {
		t.Fatalf("second run should skip with reasons:\n%s", r.stdout)
	}
	hb = mustHeartbeat(t, root)
	checkFinished(t, hb, exitOK, "skipped")
	if hb.Schedule != "0 3 * * *" || !hb.NextRun.After(hb.Started) || len(hb.Result.Reasons) == 0 {
		t.Fatalf("skipped heartbeat: %+v", hb)
	}

	// A dry run writes nothing, not even the heartbeat.
	before, _ := os.ReadFile(heartbeatPath(root))
	histBefore, _ := os.ReadFile(filepath.Join(root, "data", "logs", historyName))
	r = cronjob(t, env, "run", "--force", "--dry-run", "--root", root)
	r.want(t, exitOK, "dry run")
	if !strings.Contains(r.stdout, "(dry run)") || !strings.Contains(r.stdout, "a real run would:") {
		t.Errorf("dry run output:\n%s", r.stdout)
	}
	after, _ := os.ReadFile(heartbeatPath(root))
	histAfter, _ := os.ReadFile(filepath.Join(root, "data", "logs", historyName))
	if string(before) != string(after) || string(histBefore) != string(histAfter) {
		t.Error("dry run wrote the heartbeat or the history")
	}

	// Forced again on the same data: the candidate is the deployed bytes,
	// and is not stored a second time.
	r = cronjob(t, env, "run", "--force", "--root", root)
	r.want(t, exitOK, "forced run on unchanged data")
	hb = mustHeartbeat(t, root)
	checkFinished(t, hb, exitOK, "skipped")
	if !strings.Contains(r.stdout, "byte-identical to the deployed version "+first) {
		t.Fatalf("forced run on unchanged data:\n%s", r.stdout)
	}

	// New curated data: a forced run deploys a new version.
	addCurated(t, root, `{"text":"so glad it is sunny, ice cream time","labels":["emotion_happy","weather_sunny"]}`)
	r = cronjob(t, env, "run", "--force", "--root", root, "--timeout", "5m")
	r.want(t, exitOK, "forced run")
	hb = mustHeartbeat(t, root)
	checkFinished(t, hb, exitOK, "deployed")
	second := hb.Result.Version
	if second == first || hb.Result.Previous != first || hb.Deadline.Sub(hb.Started) != 5*time.Minute {
		t.Fatalf("forced run heartbeat: %+v", hb)
	}

	r = cronjob(t, env, "backups", "--root", root)
	r.want(t, exitOK, "backups")
	if !strings.Contains(r.stdout, "*  "+second) || !strings.Contains(r.stdout, first) || !strings.Contains(r.stdout, "2 version(s)") {
		t.Fatalf("backups:\n%s", r.stdout)
	}

	r = cronjob(t, env, "rollback", "--root", root)
	r.want(t, exitOK, "rollback")
	if !strings.Contains(r.stdout, "deployed "+first+" (was "+second+")") {
		t.Fatalf("rollback: %s", r.stdout)
	}
	if link, err := os.Readlink(filepath.Join(root, "models", "intent_classifier")); err != nil || !strings.Contains(link, first) {
		t.Fatalf("deployed link after rollback: %q %v", link, err)
	}
	// The rollback is a history line: status rolled_back, manual, with the
	// versions before and after.
	checkRollbackLine(t, root, second, first)
	cronjob(t, env, "rollback", "--root", root, "--to", second).want(t, exitOK, "rollback --to")
	checkRollbackLine(t, root, first, second)
	histLines := len(readHistoryLines(t, root))
	r = cronjob(t, env, "rollback", "--root", root, "--to", second)
	r.want(t, exitOK, "rollback to the deployed version")
	if !strings.Contains(r.stdout, "already deployed") || len(readHistoryLines(t, root)) != histLines {
		t.Fatalf("rollback to the deployed version wrote history or said: %s", r.stdout)
	}
	r = cronjob(t, env, "status", "--root", root)
	r.want(t, exitOK, "status after rollback")
	if !strings.Contains(r.stdout, "rolled_back: manual rollback to "+second) {
		t.Errorf("status lacks the rollback:\n%s", r.stdout)
	}
	r = cronjob(t, env, "status", "--json", "--root", root)
	r.want(t, exitOK, "status --json after rollback")
	st = retrain.Status{}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.LastRun == nil || !st.LastRun.Manual ||
		st.LastRollback == nil || st.LastAttempt == nil || st.LastAttempt.Manual || st.LastSuccess == nil || string(st.LastSuccess.NewVersion) != second {
		t.Fatalf("status after rollback: %v\n%s", err, r.stdout)
	}
	cronjob(t, env, "rollback", "--root", root, "--to", "../../etc").want(t, exitUsage, "rollback to a bad name")
	cronjob(t, env, "rollback", "--root", root, "--to", "model_backup_20000101_000000_zz").want(t, exitFailed, "rollback to a missing version")

	r = cronjob(t, env, "verify", "--root", root)
	r.want(t, exitOK, "verify")
	if !strings.Contains(r.stdout, "2 version(s) verified") {
		t.Fatalf("verify: %s", r.stdout)
	}

	// Manual rollbacks are the newest history lines: monitor stays OK.
	r = cronjob(t, env, "monitor", "--root", root)
	r.want(t, monOK, "monitor after manual rollbacks")
	if !strings.HasPrefix(r.stdout, "RETRAIN OK - last run ") || !strings.Contains(r.stdout, "| age=") || !strings.Contains(r.stdout, "failures=0") {
		t.Fatalf("monitor: %s", r.stdout)
	}

	cronjob(t, env, "prune", "--root", root).want(t, exitUsage, "prune without a policy")
	r = cronjob(t, env, "prune", "--root", root, "--keep-last", "1")
	r.want(t, exitOK, "prune")
	if !strings.Contains(r.stdout, "0 version(s) deleted") { // deployed + rollback target are pinned
		t.Fatalf("prune: %s", r.stdout)
	}

	// A flipped byte in the rollback target: verify fails, rollback refuses.
	body := filepath.Join(root, "models", "backups", first, "model.bin")
	b, err := os.ReadFile(body)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.Chmod(body, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(body, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r = cronjob(t, env, "verify", "--root", root)
	r.want(t, exitFailed, "verify of a corrupt backup")
	if !strings.Contains(r.stdout, first+" CORRUPT") {
		t.Fatalf("verify: %s", r.stdout)
	}
	histLines = len(readHistoryLines(t, root))
	cronjob(t, env, "rollback", "--root", root, "--to", first).want(t, exitFailed, "rollback to a corrupt version")
	if n := len(readHistoryLines(t, root)); n != histLines {
		t.Fatalf("a refused rollback wrote %d history line(s)", n-histLines)
	}
	r = cronjob(t, env, "rollback", "--root", root)
	r.want(t, exitFailed, "rollback with only a corrupt previous version")
	if !strings.Contains(r.stderr, "no previous version") || !strings.Contains(r.stderr, "checksum") {
		t.Errorf("rollback: %s", r.stderr)
	}
	if link, _ := os.Readlink(filepath.Join(root, "models", "intent_classifier")); !strings.Contains(link, second) {
		t.Fatalf("a refused rollback changed the deployed model: %q", link)
	}

	// Mend the first version, deploy a third and corrupt the second: rollback
	// skips the corrupt previous version for the older good one.
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(body, b, 0o600); err != nil {
		t.Fatal(err)
	}
	addCurated(t, root, `{"text":"celebrating tonight with friends","labels":["emotion_celebratory"]}`)
	cronjob(t, env, "run", "--force", "--root", root).want(t, exitOK, "third run")
	corrupt := filepath.Join(root, "models", "backups", second, "model.bin")
	if err := os.Chmod(corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(corrupt, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = cronjob(t, env, "rollback", "--root", root)
	r.want(t, exitOK, "rollback past a corrupt version")
	if !strings.Contains(r.stdout, "deployed "+first+" ") {
		t.Fatalf("rollback: %s", r.stdout)
	}
	checkRollbackLine(t, root, "", first)
}

// readHistoryLines returns the root's history records, oldest first.
func readHistoryLines(t *testing.T, root string) []retrain.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", historyName))
	if err != nil {
		t.Fatal(err)
	}
	var out []retrain.Record
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec retrain.Record
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("history line %q: %v", l, err)
		}
		out = append(out, rec)
	}
	return out
}

// checkRollbackLine checks that the newest history line records a manual
// rollback from old (any when "") to new.
func checkRollbackLine(t *testing.T, root, old, new string) {
	t.Helper()
	h := readHistoryLines(t, root)
	rec := h[len(h)-1]
	if rec.Status != "rolled_back" || !rec.Manual || string(rec.NewVersion) != new || (old != "" && string(rec.OldVersion) != old) ||
		!strings.HasPrefix(rec.Reason, "manual rollback to ") || !strings.HasPrefix(rec.RetrainID, "retrain_") {
		t.Fatalf("last history line after rollback %s -> %s: %+v", old, new, rec)
	}
}

// TestRunBusy holds the root's run lock: run, rollback and prune exit 4, and
// run leaves the holder's heartbeat alone.
func TestRunBusy(t *testing.T) {
	demo := demoRoot(t)
	root := t.TempDir()
	env, _ := fakeEnv(t)
	if _, err := initRoot(root, demo); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "data", "logs"), 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := flock.TryLock(filepath.Join(root, "data", "logs", "retrain.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	running := newHeartbeat(root, time.Now(), time.Hour, false, false)
	if err := writeHeartbeat(root, running); err != nil {
		t.Fatal(err)
	}
	r := cronjob(t, env, "run", "--force", "--root", root)
	r.want(t, exitBusy, "run while locked")
	if !strings.Contains(r.stderr, "another run holds the lock") {
		t.Errorf("stderr: %s", r.stderr)
	}
	if hb := mustHeartbeat(t, root); hb.State != stateRunning || hb.PID != running.PID {
		t.Fatalf("busy run overwrote the holder's heartbeat: %+v", hb)
	}
	cronjob(t, env, "rollback", "--root", root).want(t, exitBusy, "rollback while locked")
	cronjob(t, env, "prune", "--root", root, "--keep-last", "1").want(t, exitBusy, "prune while locked")
	// Without a running heartbeat, the busy attempt is recorded.
	if err := os.Remove(heartbeatPath(root)); err != nil {
		t.Fatal(err)
	}
	cronjob(t, env, "run", "--root", root).want(t, exitBusy, "run while locked")
	checkFinished(t, mustHeartbeat(t, root), exitBusy, "busy")
}

// TestRunFailed runs on a root without data: exit 1, a failed heartbeat, and
// monitor CRITICAL.
func TestRunFailed(t *testing.T) {
	root := t.TempDir()
	env, _ := fakeEnv(t)
	cronjob(t, env, "run", "--force", "--root", root).want(t, exitFailed, "run without data")
	checkFinished(t, mustHeartbeat(t, root), exitFailed, "failed")
	r := cronjob(t, env, "monitor", "--root", root)
	r.want(t, monCritical, "monitor after a failure")
	if !strings.HasPrefix(r.stdout, "RETRAIN CRITICAL - ") {
		t.Errorf("monitor: %s", r.stdout)
	}
	cronjob(t, env, "run", "--root", filepath.Join(root, "missing")).want(t, exitFailed, "run on a missing root")
	if _, err := os.Stat(filepath.Join(root, "missing")); err == nil {
		t.Error("run without --init created a missing root")
	}
	cronjob(t, env, "run", "--root", root, "--init", t.TempDir()).want(t, exitFailed, "--init from a non-root")
}

// TestMonitorStates crafts heartbeats for the three monitor states.
func TestMonitorStates(t *testing.T) {
	root := t.TempDir()
	env, _ := fakeEnv(t)
	cronjob(t, env, "monitor", "--root", root).want(t, monWarning, "monitor with nothing")
	cronjob(t, env, "setup", "--root", root, "--schedule", "0 3 * * *").want(t, exitOK, "setup")
	deployFake(t, root) // the heartbeats below speak of a deployed model
	code := func(c int) *int { return &c }
	host, _ := os.Hostname()
	now := time.Now()
	tests := []struct {
		name  string
		hb    *heartbeat
		raw   string
		grace string
		code  int
		want  string
	}{
		{"healthy", &heartbeat{State: stateFinished, Started: now.Add(-2 * time.Hour), Finished: now.Add(-2 * time.Hour),
			ExitCode: code(0), Outcome: "deployed", Result: &resultSummary{Version: "model_backup_20261127_010000_000001"}},
			"", "30h", monOK, "RETRAIN OK - last run 2h ago deployed model_backup_20261127_010000_000001"},
		{"late", &heartbeat{State: stateFinished, Started: now.Add(-72 * time.Hour), Finished: now.Add(-72 * time.Hour),
			ExitCode: code(0), Outcome: "skipped"}, "", "6h", monWarning, "RETRAIN WARNING - late: a run was due"},
		{"failing", &heartbeat{State: stateFinished, Started: now.Add(-time.Hour), Finished: now.Add(-time.Hour),
			ExitCode: code(1), Outcome: "failed", Error: "retrain: load: boom"}, "", "30h", monCritical, "RETRAIN CRITICAL - last run 1h ago failed: retrain: load: boom"},
		{"died", &heartbeat{State: stateRunning, Started: now.Add(-time.Minute), Deadline: now.Add(time.Hour), PID: 1 << 22, Host: host},
			"", "30h", monCritical, "died without finishing"},
		{"corrupt", nil, "{not json", "6h", monCritical, "RETRAIN CRITICAL - heartbeat unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.hb != nil {
				tt.hb.Schema, tt.hb.Root = 1, root
				if err := writeHeartbeat(root, tt.hb); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(heartbeatPath(root), []byte(tt.raw), 0o600); err != nil {
				t.Fatal(err)
			}
			r := cronjob(t, env, "monitor", "--root", root, "--grace", tt.grace)
			r.want(t, tt.code, "monitor")
			if !strings.Contains(r.stdout, tt.want) || strings.Count(r.stdout, "\n") != 1 {
				t.Errorf("monitor line %q lacks %q", r.stdout, tt.want)
			}
		})
	}
	cronjob(t, env, "remove", "--root", root).want(t, exitOK, "remove")
	r := cronjob(t, env, "monitor", "--root", root, "--grace", "30h")
	r.want(t, monCritical, "monitor after remove") // the last heartbeat is still corrupt
	if !strings.Contains(r.stdout, "no crontab entry for this root") {
		t.Errorf("monitor: %s", r.stdout)
	}
}

// cronCommand returns the command cron would give sh for a five-field
// crontab line: the sixth field on, "\%" turned into "%", cut at the first
// unescaped "%" (what follows would be stdin).
func cronCommand(t *testing.T, line string) string {
	t.Helper()
	rest := strings.TrimSpace(line)
	for range 5 {
		i := strings.IndexAny(rest, " \t")
		if i < 0 {
			t.Fatalf("short crontab line %q", line)
		}
		rest = strings.TrimLeft(rest[i:], " \t")
	}
	var b strings.Builder
	for i := 0; i < len(rest); i++ {
		switch {
		case rest[i] == '\\' && i+1 < len(rest) && rest[i+1] == '%':
			b.WriteByte('%')
			i++
		case rest[i] == '%':
			return b.String()
		default:
			b.WriteByte(rest[i])
		}
	}
	return b.String()
}

// TestCronLineRuns runs the command of the line setup installs the way cron
// would: sh -c, from "/", with cron's bare environment. The root's path has a
// space, a quote and a "%" in it.
func TestCronLineRuns(t *testing.T) {
	demo := demoRoot(t)
	root := filepath.Join(t.TempDir(), "it's 100% mood")
	if _, err := initRoot(root, demo); err != nil {
		t.Fatal(err)
	}
	env, _ := fakeEnv(t)
	for _, args := range [][]string{{"--schedule", "0 3 * * *"}, {"--day", "last"}} {
		r := cronjob(t, env, append([]string{"setup", "--print", "--root", root}, args...)...)
		r.want(t, exitOK, "setup --print")
		cmd := cronCommand(t, strings.TrimSpace(r.stdout))
		sh := exec.Command("/bin/sh", "-c", cmd)
		sh.Dir = "/"
		sh.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "SHELL=/bin/sh", "MOODFOOD_CRONTAB=" + fakeCrontab,
			"FAKE_CRONTAB_FILE=" + filepath.Join(t.TempDir(), "tab")}
		out, err := sh.CombinedOutput()
		if len(out) > 0 {
			t.Errorf("cron would mail output: %s", out)
		}
		lastDay := args[0] == "--day"
		if lastDay {
			// The guard lets the job through only on the last day of the
			// month; either way sh must not choke on the line.
			if err != nil && time.Now().AddDate(0, 0, 1).Day() == 1 {
				t.Fatalf("%s: %v", cmd, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		log, err := os.ReadFile(filepath.Join(root, "data", "logs", cronLogName))
		if err != nil || !strings.Contains(string(log), "cronjob run: root "+root) || !strings.Contains(string(log), " deployed: ") {
			t.Fatalf("cron log: %v\n%s", err, log)
		}
		checkFinished(t, mustHeartbeat(t, root), exitOK, "deployed")
	}
}
