package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"moodfood/internal/pgtest"
)

// binPath is the cronjob binary TestMain builds once for the package;
// fakeCrontab is a file-backed stand-in for crontab(1).
var binPath, fakeCrontab string

// fakeCrontabScript implements "crontab -l" and "crontab -" over the file
// named by FAKE_CRONTAB_FILE, with cron's "no crontab for" message.
const fakeCrontabScript = `#!/bin/sh
f="${FAKE_CRONTAB_FILE:?}"
case "$1" in
-l) if [ -f "$f" ]; then cat "$f"; else echo "no crontab for tester" >&2; exit 1; fi ;;
-) cat > "$f.tmp" && mv "$f.tmp" "$f" ;;
*) echo "fake crontab: unsupported $*" >&2; exit 2 ;;
esac
`

// TestMain builds the binary once for the package.
func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

// testMain is TestMain with deferred cleanup.
func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "cronjob-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "cronjob")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(gobin, "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building cronjob: %v\n%s", err, out)
		return 1
	}
	fakeCrontab = filepath.Join(dir, "fakecrontab")
	if err := os.WriteFile(fakeCrontab, []byte(fakeCrontabScript), 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return pgtest.Main(m)
}

// result is one run of the binary.
type result struct {
	code           int
	stdout, stderr string
}

// cronjob runs the built binary with args and env (KEY=VALUE) added to a
// copy of the environment without any MOODFOOD_ variable.
func cronjob(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binPath, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MOODFOOD_") && !strings.HasPrefix(kv, "FAKE_CRONTAB_FILE=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Dir = t.TempDir() // the working directory must not matter
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := errors.AsType[*exec.ExitError](err)
		if !ok {
			t.Fatalf("cronjob %q: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{code, stdout.String(), stderr.String()}
}

// want fails the test unless r exited with code.
func (r result) want(t *testing.T, code int, what string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
	}
}

// fakeEnv returns the environment that points crontab at a fake backed by
// a new file, and that file's path.
func fakeEnv(t *testing.T) ([]string, string) {
	tab := filepath.Join(t.TempDir(), "crontab")
	return []string{"MOODFOOD_CRONTAB=" + fakeCrontab, "FAKE_CRONTAB_FILE=" + tab}, tab
}

// TestUsage checks the usage exit codes.
func TestUsage(t *testing.T) {
	cronjob(t, nil).want(t, exitUsage, "no command")
	cronjob(t, nil, "frobnicate").want(t, exitUsage, "unknown command")
	cronjob(t, nil, "help").want(t, exitOK, "help")
	cronjob(t, nil, "run", "--bogus").want(t, exitUsage, "bad flag")
	cronjob(t, nil, "status", "extra").want(t, exitUsage, "stray argument")
	cronjob(t, nil, "setup", "-h").want(t, exitOK, "setup -h")
}

// TestRootRequired checks that no command falls back to the working
// directory.
func TestRootRequired(t *testing.T) {
	for _, cmd := range []string{"run", "status", "setup", "remove", "backups"} {
		r := cronjob(t, nil, cmd)
		r.want(t, exitFailed, cmd+" without root")
		if !strings.Contains(r.stderr, "MOODFOOD_ROOT") || !strings.Contains(r.stderr, "working directory") {
			t.Errorf("%s: error does not explain the root: %s", cmd, r.stderr)
		}
	}
	r := cronjob(t, nil, "monitor")
	r.want(t, monCritical, "monitor without root")
	if !strings.HasPrefix(r.stdout, "RETRAIN CRITICAL - ") {
		t.Errorf("monitor line: %q", r.stdout)
	}
}

// TestSetupValidation is the table of setup's schedule flags.
func TestSetupValidation(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{[]string{}, exitOK, " 0 3 1 * * "},
		{[]string{"--day", "15", "--hour", "2", "--minute", "30"}, exitOK, " 30 2 15 * * "},
		{[]string{"--day", "28", "--hour", "23", "--minute", "59"}, exitOK, " 59 23 28 * * "},
		{[]string{"--day", "last"}, exitOK, " 0 3 28-31 * * [ \"$(date -d tomorrow +\\%d)\" = 01 ] && "},
		{[]string{"--day", "31", "--allow-short-months"}, exitOK, "no run in February, April, June, September and November"},
		{[]string{"--day", "30"}, exitUsage, "--day last"},
		{[]string{"--day", "29"}, exitUsage, "--allow-short-months"},
		{[]string{"--day", "0"}, exitUsage, "want 1-31"},
		{[]string{"--day", "32"}, exitUsage, "want 1-31"},
		{[]string{"--day", "x"}, exitUsage, "want 1-31"},
		{[]string{"--hour", "24"}, exitUsage, "want 0-23"},
		{[]string{"--hour", "-1"}, exitUsage, "want 0-23"},
		{[]string{"--minute", "60"}, exitUsage, "want 0-59"},
		{[]string{"--schedule", "0 2 * * 0"}, exitOK, " 0 2 * * 0 "},
		{[]string{"--schedule", "*/30 1-5 * jan,jul mon-fri"}, exitOK, " */30 1-5 * jan,jul mon-fri "},
		{[]string{"--schedule", "@weekly"}, exitOK, " @weekly "},
		{[]string{"--schedule", "0 2 * *"}, exitUsage, "want 5 fields"},
		{[]string{"--schedule", "61 2 * * *"}, exitUsage, "minute field"},
		{[]string{"--schedule", "0 0 31 2 *"}, exitUsage, "never fires"},
		{[]string{"--schedule", "@reboot"}, exitUsage, "unsupported macro"},
		{[]string{"--schedule", "0 2 * * 0", "--day", "3"}, exitUsage, "exclusive"},
		{[]string{"--binary", "/nonexistent/cronjob"}, exitFailed, "no such file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			env, tab := fakeEnv(t)
			r := cronjob(t, env, append([]string{"setup", "--root", root}, tt.args...)...)
			r.want(t, tt.code, "setup")
			if out := r.stdout + r.stderr; !strings.Contains(out, tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			_, err := os.Stat(tab)
			if installed := err == nil; installed != (tt.code == exitOK) {
				t.Errorf("crontab written: %v, want %v", installed, tt.code == exitOK)
			}
		})
	}
	t.Run("print", func(t *testing.T) {
		env, tab := fakeEnv(t)
		r := cronjob(t, env, "setup", "--root", root, "--print", "--timeout", "90m")
		r.want(t, exitOK, "setup --print")
		if _, err := os.Stat(tab); err == nil {
			t.Error("--print installed the entry")
		}
		if !strings.Contains(r.stdout, "'--timeout' '1h30m0s'") {
			t.Errorf("line lacks the timeout: %s", r.stdout)
		}
		if !strings.Contains(r.stderr, "has no data/intent_dataset.jsonl yet") {
			t.Errorf("no warning about the empty root: %s", r.stderr)
		}
	})
	t.Run("missing root", func(t *testing.T) {
		env, _ := fakeEnv(t)
		cronjob(t, env, "setup", "--root", filepath.Join(root, "nope")).want(t, exitFailed, "setup on a missing root")
	})
}

// foreignTab is a crontab with everything remove must keep byte for byte.
const foreignTab = "# m h  dom mon dow   command\nMAILTO=\"ops@example.com\"\nSHELL=/bin/sh\n\n" +
	"17 4 * * * /usr/bin/backup --all # nightly\n" +
	"  # indented comment\t\n" +
	"0 1 * * * /bin/true # moodfood-retrain root=/some/other/root\n" +
	"@reboot /bin/echo up"

// TestCrontabFake round-trips setup, setup again and remove through the
// file-backed fake crontab with foreign lines around the entry.
func TestCrontabFake(t *testing.T) {
	env, tab := fakeEnv(t)
	root := t.TempDir()
	if err := os.WriteFile(tab, []byte(foreignTab), 0o600); err != nil {
		t.Fatal(err)
	}
	cronjob(t, env, "cron-status", "--root", root).want(t, exitFailed, "cron-status before setup")
	cronjob(t, env, "setup", "--root", root).want(t, exitOK, "setup")
	cronjob(t, env, "setup", "--root", root, "--day", "15", "--hour", "2", "--minute", "30").want(t, exitOK, "setup again")
	got, err := os.ReadFile(tab)
	if err != nil {
		t.Fatal(err)
	}
	line, ok := findEntry(got, root)
	if !ok || strings.Count(string(got), "moodfood-retrain root="+root) != 1 || !strings.HasPrefix(line, "30 2 15 * * '"+binPath+"' run --root '"+root+"'") {
		t.Fatalf("after setup twice:\n%s", got)
	}
	if !strings.HasPrefix(string(got), foreignTab+"\n") {
		t.Fatalf("foreign lines changed:\n%s", got)
	}
	st := cronjob(t, env, "cron-status", "--root", root)
	st.want(t, exitOK, "cron-status")
	for _, w := range []string{"schedule:  30 2 15 * *", "next runs:", "other:     entry for root /some/other/root", "last run:  none recorded"} {
		if !strings.Contains(st.stdout, w) {
			t.Errorf("cron-status lacks %q:\n%s", w, st.stdout)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "data", "logs")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("setup did not create data/logs 0700: %v", err)
	}
	r := cronjob(t, env, "remove", "--root", root)
	r.want(t, exitOK, "remove")
	got, _ = os.ReadFile(tab)
	// The foreign crontab lacked a final newline; setup had to add one to
	// start its line, and remove keeps everything else byte for byte.
	if string(got) != foreignTab+"\n" {
		t.Fatalf("after remove:\n got %q\nwant %q", got, foreignTab+"\n")
	}
	cronjob(t, env, "remove", "--root", root).want(t, exitOK, "remove again")
	if again, _ := os.ReadFile(tab); !bytes.Equal(again, got) {
		t.Fatalf("second remove changed the crontab: %q", again)
	}
	// MOODFOOD_ROOT works like --root.
	cronjob(t, append(env, "MOODFOOD_ROOT="+root), "setup").want(t, exitOK, "setup via MOODFOOD_ROOT")
	if got, _ := os.ReadFile(tab); !strings.Contains(string(got), marker(root)) {
		t.Fatalf("setup via env: %s", got)
	}
}

// TestCrontabReal drives the real crontab(1) with other jobs before and
// after ours, and restores the user's crontab afterwards.
func TestCrontabReal(t *testing.T) {
	prog, err := exec.LookPath("crontab")
	if err != nil {
		t.Skip("crontab not installed (Debian package cron)")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: not touching the user's real crontab")
	}
	orig, err := exec.Command(prog, "-l").Output()
	hadNone := false
	if err != nil {
		ee, ok := errors.AsType[*exec.ExitError](err)
		if !ok || !strings.Contains(string(ee.Stderr), "no crontab for") {
			t.Skipf("crontab -l: %v", err)
		}
		hadNone = true
	}
	install := func(b []byte) {
		t.Helper()
		cmd := exec.Command(prog, "-")
		cmd.Stdin = bytes.NewReader(b)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("crontab -: %v: %s", err, out)
		}
	}
	t.Cleanup(func() {
		if hadNone {
			exec.Command(prog, "-r").Run()
			return
		}
		install(orig)
	})
	root := t.TempDir()
	before := string(orig) + "MAILTO=\"\"\n# foreign comment\n\n17 4 * * * /bin/true # other job\n"
	install([]byte(before))
	list := func() string {
		t.Helper()
		out, err := exec.Command(prog, "-l").Output()
		if err != nil {
			t.Fatalf("crontab -l: %v", err)
		}
		return string(out)
	}
	if list() != before {
		t.Skipf("this crontab does not round-trip bytes: %q", list())
	}
	cronjob(t, nil, "setup", "--root", root).want(t, exitOK, "setup")
	install([]byte(list() + "# added after\n5 5 * * * /bin/false\n"))
	cronjob(t, nil, "setup", "--root", root, "--schedule", "0 2 * * 0").want(t, exitOK, "setup again")
	tab := list()
	if strings.Count(tab, marker(root)) != 1 || !strings.Contains(tab, "\n0 2 * * 0 '"+binPath+"'") {
		t.Fatalf("after setup twice:\n%s", tab)
	}
	cronjob(t, nil, "cron-status", "--root", root).want(t, exitOK, "cron-status")
	cronjob(t, nil, "remove", "--root", root).want(t, exitOK, "remove")
	if got, want := list(), before+"# added after\n5 5 * * * /bin/false\n"; got != want {
		t.Fatalf("after remove:\n got %q\nwant %q", got, want)
	}
}
