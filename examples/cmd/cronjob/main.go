// Command cronjob runs, schedules and watches moodfood retraining for one
// root directory (the layout of docs/ARCHITECTURE.md §2). It replaces the seed's
// retrain_classifier.py, setup_cron_retraining.py and monitor_cron.py.
//
// Usage:
//
//	cronjob run [--force] [--dry-run] [--root DIR] [--init DIR] [--timeout 2h] [--metrics-file F.prom]
//	cronjob status [--json]
//	cronjob setup [--day 1 --hour 3 --minute 0 | --schedule "0 2 * * 0"] [--allow-short-months] [--binary PATH] [--print]
//	cronjob remove
//	cronjob cron-status
//	cronjob monitor [--grace 6h]
//	cronjob history [--json] [--since 7d|DATE] [--outcome deployed,rejected] [--limit N]
//	cronjob report --html FILE [--days 30]
//	cronjob backups
//	cronjob rollback [--to NAME]
//	cronjob verify
//	cronjob prune [--keep-last N] [--keep-within D] [--max-bytes N]
//	cronjob migrate --database-url URL
//
// Every command takes --root DIR; without it the environment variable
// MOODFOOD_ROOT is used, and without either the command fails: the working
// directory is never used implicitly, because cron's is the home directory.
// --init DIR (run only) copies DIR/data into a root that has no
// data/intent_dataset.jsonl yet, which is how the README's quick start runs
// on the shipped demo:
//
//	go run ./examples/cmd/cronjob run --force --root run/demo --init examples/demo
//
// Many replicas: run, status, history, report, backups, rollback, verify,
// prune and migrate take --database-url URL (or the environment variable
// MOODFOOD_DATABASE_URL, better, since a process's arguments are public)
// and then keep everything in that PostgreSQL database (package retrain/pgstore) instead of under a root, in the schema
// named by MOODFOOD_DATABASE_SCHEMA ("moodfood" by default). migrate
// creates or upgrades the schema; run --init DIR also applies it and, when
// the database holds no samples yet, loads DIR's base set, golden set and
// the samples its query log exports. A database run writes no heartbeat
// file. The password never appears in the output.
//
// Exit codes of run (docs/ARCHITECTURE.md §6): 0 deployed or nothing to do, 3 candidate
// rejected by the gate, 4 another run holds the root's lock, 1 failed. Every
// command exits 2 on a usage error (bad flag, invalid schedule). monitor
// follows the monitoring-plugin convention: 0 OK, 1 WARNING (late or not
// scheduled), 2 CRITICAL (failing). cron-status exits 1 when no entry is
// installed for the root. rollback exits 0 when it deployed the version (or
// it was already deployed), 4 while a run holds the root's lock, and 1 when
// it failed or refused a corrupt or missing version; it goes through
// retrain.Retrainer.Rollback, so every rollback is a line in the run history
// (status rolled_back, manual: true) and a model.rolled_back webhook, and
// the next run does not count it as a failed retraining attempt.
//
// run writes the heartbeat ROOT/data/logs/cron_status.json atomically when it
// starts and when it ends (times, exit code, outcome, result, next scheduled
// run, pid, host); monitor reads it. On a terminal run draws a progress bar
// for training epochs; otherwise it prints plain lines, as cron's log wants.
//
// setup installs one line in the user's crontab, marked with the comment
// "# moodfood-retrain root=ROOT" so several roots can coexist; running it
// again replaces the line, remove deletes only that line and leaves every
// other byte of the crontab as it was. The line uses absolute paths (the
// binary from os.Executable or --binary, the root, the log
// ROOT/data/logs/cron_retrain.log it appends to), so it does not depend on
// cron's working directory. The crontab program is "crontab" on PATH, or the
// one named by the environment variable MOODFOOD_CRONTAB.
//
// Days 29-31: cron silently skips months without that day (day 31 runs only
// seven times a year). setup refuses --day 29, 30 or 31 unless
// --allow-short-months is given (and then warns which months are skipped);
// --day last schedules days 28-31 with a guard that lets the job through only
// when tomorrow is the 1st, so it runs on the last day of every month (the
// guard uses GNU date, as on Debian; elsewhere use --schedule).
//
// setup edits the crontab by reading it ("crontab -l"), replacing or adding
// its one line, and installing the result ("crontab -"); like crontab -e,
// it can lose an edit made by someone else in between.
//
// Webhook notifications (run, rollback): the URL comes from the file named by
// --webhook-url-file or from the environment variable MOODFOOD_WEBHOOK_URL,
// and the signing secret from --webhook-secret-file or MOODFOOD_WEBHOOK_SECRET;
// never from a flag value, since a process's arguments are public.
// MOODFOOD_WEBHOOK_ALLOW lists the non-public addresses (CIDRs) a delivery
// may connect to (none by default: loopback, private and link-local ones are
// refused) and MOODFOOD_WEBHOOK_DENY more addresses it may not.
// examples/webhook/receiver is a receiver that checks signatures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
)

// Exit codes (docs/ARCHITECTURE.md §6), plus the usual 2 for usage errors.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitRejected = 3
	exitBusy     = 4
)

// main runs the command with a context canceled by SIGINT or SIGTERM and
// exits with run's code.
func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	name string
	fn   func(ctx context.Context, args []string, stdout, stderr io.Writer) int
	help string
}

// commands lists the subcommands in the order usage shows them.
var commands = []command{
	{"run", cmdRun, "run one retraining (trigger, train, gate, deploy)"},
	{"status", cmdStatus, "show the retrainer's status"},
	{"setup", cmdSetup, "install or update the crontab entry for the root"},
	{"remove", cmdRemove, "remove the root's crontab entry, and nothing else"},
	{"cron-status", cmdCronStatus, "show the crontab entry, next runs and last heartbeat"},
	{"monitor", cmdMonitor, "one-line health check (exit 0 OK, 1 WARNING, 2 CRITICAL)"},
	{"history", cmdHistory, "list past runs (--json, --since, --outcome, --limit)"},
	{"report", cmdReport, "write the dashboard as one self-contained HTML file (--html FILE)"},
	{"backups", cmdBackups, "list model versions"},
	{"rollback", cmdRollback, "deploy the previous (or --to NAME) model version"},
	{"approve", cmdApprove, "deploy the candidate a --require-approval run staged"},
	{"reject", cmdReject, "drop the candidate a --require-approval run staged"},
	{"promote", cmdPromote, "deploy a rejected candidate on purpose (--reason required)"},
	{"verify", cmdVerify, "check the checksums of every stored model version"},
	{"prune", cmdPrune, "delete old model versions by retention policy"},
	{"migrate", cmdMigrate, "create or upgrade the schema of a PostgreSQL database (--database-url)"},
}

// run is the whole command: it dispatches args[0] and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.fn(ctx, args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "cronjob: unknown command %q\n", args[0])
	usage(stderr)
	return exitUsage
}

// usage lists the subcommands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: cronjob <command> [flags]   (cronjob <command> -h for its flags)")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.help)
	}
	fmt.Fprintln(w, "\nThe root comes from --root DIR or $MOODFOOD_ROOT, never from the working directory.")
}

// newFlagSet returns a flag set for one subcommand that reports errors
// instead of exiting.
func newFlagSet(name string, stderr io.Writer, synopsis, desc string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: cronjob %s\n\n%s\n\n", synopsis, desc)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; ok is false when the command should return code
// at once (-h: 0, a bad flag or a stray argument: 2).
func parseFlags(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "cronjob %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage, false
	}
	return 0, true
}

// errNoRoot is returned when neither --root nor MOODFOOD_ROOT is set.
var errNoRoot = errors.New("no root directory: pass --root DIR or set MOODFOOD_ROOT (the working directory is never used implicitly)")

// resolveRoot returns the absolute root from the flag value or, when it is
// empty, from MOODFOOD_ROOT.
func resolveRoot(flagVal string) (string, error) {
	root := flagVal
	if root == "" {
		root = os.Getenv("MOODFOOD_ROOT")
	}
	if root == "" {
		return "", errNoRoot
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", fmt.Errorf("root %q: %w", root, err)
	}
	if err := checkPath("root", abs); err != nil {
		return "", err
	}
	return abs, nil
}

// existingRoot resolves the root and checks that it is a directory.
func existingRoot(flagVal string) (string, error) {
	root, err := resolveRoot(flagVal)
	if err != nil {
		return "", err
	}
	st, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("root %s: %w", root, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("root %s is not a directory", root)
	}
	return root, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
