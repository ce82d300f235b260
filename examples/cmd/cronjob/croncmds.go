package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// setupSpec is what the setup flags ask for, before validation.
type setupSpec struct {
	Day, Hour, Minute string
	Schedule          string
	// set records which of day/hour/minute/schedule were given explicitly.
	set              map[string]bool
	AllowShortMonths bool
}

// shortMonths lists, for days 29-31, the months that lack them.
var shortMonths = map[int]string{
	29: "February (except in leap years)",
	30: "February",
	31: "February, April, June, September and November",
}

// buildSchedule validates the setup flags and returns the schedule, whether
// it carries the last-day guard, and warnings to print. Errors are usage
// errors.
func buildSchedule(sp setupSpec) (expr string, lastDay bool, warnings []string, err error) {
	if sp.set["schedule"] {
		for _, f := range []string{"day", "hour", "minute"} {
			if sp.set[f] {
				return "", false, nil, fmt.Errorf("--schedule and --%s are exclusive", f)
			}
		}
		s, err := parseSchedule(sp.Schedule)
		if err != nil {
			return "", false, nil, err
		}
		if s.next(time.Now()).IsZero() {
			return "", false, nil, fmt.Errorf("schedule %q never fires", sp.Schedule)
		}
		return s.String(), false, nil, nil
	}
	hour, err := strconv.Atoi(sp.Hour)
	if err != nil || hour < 0 || hour > 23 {
		return "", false, nil, fmt.Errorf("--hour %q: want 0-23", sp.Hour)
	}
	minute, err := strconv.Atoi(sp.Minute)
	if err != nil || minute < 0 || minute > 59 {
		return "", false, nil, fmt.Errorf("--minute %q: want 0-59", sp.Minute)
	}
	if strings.EqualFold(sp.Day, "last") {
		return fmt.Sprintf("%d %d 28-31 * *", minute, hour), true, nil, nil
	}
	day, err := strconv.Atoi(sp.Day)
	if err != nil || day < 1 || day > 31 {
		return "", false, nil, fmt.Errorf("--day %q: want 1-31 or \"last\"", sp.Day)
	}
	if day >= 29 {
		if !sp.AllowShortMonths {
			return "", false, nil, fmt.Errorf("--day %d does not exist in %s, and cron skips those months silently: "+
				"use --day last for the last day of every month, or add --allow-short-months to accept the skipped months", day, shortMonths[day])
		}
		warnings = append(warnings, fmt.Sprintf("warning: --day %d: no run in %s", day, shortMonths[day]))
	}
	return fmt.Sprintf("%d %d %d * *", minute, hour, day), false, warnings, nil
}

// selfBinary returns the absolute path of the running binary, refusing a
// "go run" build that disappears when go run exits.
func selfBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	if strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "", fmt.Errorf("this binary (%s) is a temporary \"go run\" build that cron could not run later; "+
			"build it first (go build -o /usr/local/bin/cronjob ./examples/cmd/cronjob) and run setup with that binary, or pass --binary", exe)
	}
	return exe, nil
}

// absFile makes a file flag absolute and checks it can go into a crontab line.
func absFile(what, p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return abs, checkPath(what, abs)
}

// cmdSetup implements "cronjob setup".
func cmdSetup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("setup", stderr,
		"setup [--root DIR] [--day 1 --hour 3 --minute 0 | --schedule \"0 2 * * 0\"] [--allow-short-months] [--binary PATH] [--print]",
		"Installs (or updates) the crontab entry that runs \"cronjob run\" for the root.\n"+
			"--day 29, 30 and 31 need --allow-short-months (cron skips months without that day);\n"+
			"--day last runs on the last day of every month.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	var sp setupSpec
	fl.StringVar(&sp.Day, "day", "1", "day of the month, 1-31 or \"last\"")
	fl.StringVar(&sp.Hour, "hour", "3", "hour, 0-23")
	fl.StringVar(&sp.Minute, "minute", "0", "minute, 0-59")
	fl.StringVar(&sp.Schedule, "schedule", "", "a five-field cron `expression` instead of --day/--hour/--minute")
	fl.BoolVar(&sp.AllowShortMonths, "allow-short-months", false, "accept --day 29-31 (months without that day are skipped)")
	binary := fl.String("binary", "", "`path` of the cronjob binary cron runs (default: this binary)")
	timeout := fl.Duration("timeout", 0, "pass --timeout to the scheduled run (0: its default)")
	urlFile := fl.String("webhook-url-file", "", "pass --webhook-url-file to the scheduled run")
	secretFile := fl.String("webhook-secret-file", "", "pass --webhook-secret-file to the scheduled run")
	printOnly := fl.Bool("print", false, "print the crontab line instead of installing it")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	sp.set = map[string]bool{}
	fl.Visit(func(f *flag.Flag) { sp.set[f.Name] = true })
	expr, lastDay, warnings, err := buildSchedule(sp)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob setup:", err)
		return exitUsage
	}
	root, err := existingRoot(*rootF)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob setup:", err)
		return exitFailed
	}
	e := cronEntry{Schedule: expr, LastDay: lastDay, Root: root}
	if e.Binary, err = entryBinary(*binary); err == nil {
		e.Args, err = entryArgs(*timeout, *urlFile, *secretFile)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cronjob setup:", err)
		return exitFailed
	}
	if _, err := os.Stat(filepath.Join(root, baseDatasetRel)); err != nil {
		warnings = append(warnings, fmt.Sprintf("warning: %s has no %s yet; scheduled runs fail until it does (see run --init)", root, baseDatasetRel))
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, w)
	}
	line := e.line()
	if *printOnly {
		fmt.Fprintln(stdout, line)
		return exitOK
	}
	// cron appends to the log here; the directory must exist before the
	// first run.
	if err := os.MkdirAll(filepath.Join(root, "data", "logs"), 0o700); err != nil {
		fmt.Fprintln(stderr, "cronjob setup:", err)
		return exitFailed
	}
	ct := newCrontab()
	tab, err := ct.read(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob setup:", err)
		return exitFailed
	}
	_, existed := findEntry(tab, root)
	if err := ct.write(ctx, upsertEntry(tab, root, line)); err != nil {
		fmt.Fprintln(stderr, "cronjob setup:", err)
		return exitFailed
	}
	verb := "installed"
	if existed {
		verb = "updated"
	}
	fmt.Fprintf(stdout, "%s crontab entry for %s:\n  %s\n", verb, root, line)
	if s, err := entrySchedule(line); err == nil {
		fmt.Fprintf(stdout, "next run: %s\n", fmtTime(s.next(time.Now())))
	}
	fmt.Fprintf(stdout, "output goes to %s\n", filepath.Join(root, "data", "logs", cronLogName))
	return exitOK
}

// entryBinary returns the absolute path of the binary cron runs: flagVal
// when set (it must be an executable file), else this binary.
func entryBinary(flagVal string) (string, error) {
	if flagVal == "" {
		exe, err := selfBinary()
		if err != nil {
			return "", err
		}
		return exe, checkPath("binary", exe)
	}
	p, err := absFile("--binary", flagVal)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("--binary: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", fmt.Errorf("--binary %s is not an executable file", p)
	}
	return p, nil
}

// entryArgs returns the run flags setup passes through to the crontab line,
// with file paths made absolute.
func entryArgs(timeout time.Duration, urlFile, secretFile string) ([]string, error) {
	var args []string
	if timeout > 0 {
		args = append(args, "--timeout", timeout.String())
	}
	for _, f := range []struct{ flag, val string }{{"--webhook-url-file", urlFile}, {"--webhook-secret-file", secretFile}} {
		if f.val == "" {
			continue
		}
		p, err := absFile(f.flag, f.val)
		if err != nil {
			return nil, err
		}
		args = append(args, f.flag, p)
	}
	return args, nil
}

// cmdRemove implements "cronjob remove".
func cmdRemove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("remove", stderr, "remove [--root DIR]",
		"Removes the root's crontab entry; every other line of the crontab is kept byte for byte.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	root, err := resolveRoot(*rootF)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob remove:", err)
		return exitFailed
	}
	ct := newCrontab()
	tab, err := ct.read(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob remove:", err)
		return exitFailed
	}
	out, n := removeEntry(tab, root)
	if n == 0 {
		fmt.Fprintf(stdout, "no crontab entry for %s; crontab unchanged\n", root)
		return exitOK
	}
	if err := ct.write(ctx, out); err != nil {
		fmt.Fprintln(stderr, "cronjob remove:", err)
		return exitFailed
	}
	fmt.Fprintf(stdout, "removed %d crontab line(s) for %s\n", n, root)
	return exitOK
}

// cmdCronStatus implements "cronjob cron-status".
func cmdCronStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("cron-status", stderr, "cron-status [--root DIR]",
		"Shows the root's crontab entry, its next runs, the last heartbeat and the log file.\n"+
			"Exits 1 when no entry is installed for the root.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	root, err := resolveRoot(*rootF)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob cron-status:", err)
		return exitFailed
	}
	tab, err := newCrontab().read(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob cron-status:", err)
		return exitFailed
	}
	code := exitOK
	fmt.Fprintf(stdout, "root:      %s\n", root)
	if line, ok := findEntry(tab, root); ok {
		fmt.Fprintf(stdout, "entry:     %s\n", line)
		if s, err := entrySchedule(line); err != nil {
			fmt.Fprintf(stdout, "schedule:  unreadable: %v\n", err)
		} else {
			desc := s.String()
			if s.lastDay {
				desc += " (last day of the month only)"
			}
			fmt.Fprintf(stdout, "schedule:  %s\n", desc)
			t := time.Now()
			for i := range 3 {
				if t = s.next(t); t.IsZero() {
					break
				}
				label := "          "
				if i == 0 {
					label = "next runs:"
				}
				fmt.Fprintf(stdout, "%s %s\n", label, fmtTime(t))
			}
		}
	} else {
		fmt.Fprintln(stdout, "entry:     none (cronjob setup installs one)")
		code = exitFailed
	}
	for _, r := range findAllEntries(tab) {
		if r != root {
			fmt.Fprintf(stdout, "other:     entry for root %s\n", r)
		}
	}
	hb, err := readHeartbeat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintln(stdout, "last run:  none recorded")
	case err != nil:
		fmt.Fprintf(stdout, "last run:  heartbeat unreadable: %v\n", err)
	case hb.State == stateRunning:
		fmt.Fprintf(stdout, "last run:  running since %s (pid %d on %s)\n", fmtTime(hb.Started), hb.PID, hb.Host)
	default:
		ex := -1
		if hb.ExitCode != nil {
			ex = *hb.ExitCode
		}
		fmt.Fprintf(stdout, "last run:  %s, %s (exit %d)\n", fmtTime(hb.Finished), hb.Outcome, ex)
		if hb.Error != "" {
			fmt.Fprintf(stdout, "error:     %s\n", hb.Error)
		}
	}
	fmt.Fprintf(stdout, "heartbeat: %s\n", heartbeatPath(root))
	fmt.Fprintf(stdout, "log:       %s\n", filepath.Join(root, "data", "logs", cronLogName))
	return code
}

// fmtTime renders a time in local time with its zone, or "never".
func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("Mon 2006-01-02 15:04:05 MST")
}
