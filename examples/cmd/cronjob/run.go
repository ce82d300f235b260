package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"moodfood/retrain"
	"moodfood/trigger"
)

// defaultTimeout bounds one run unless --timeout says otherwise.
const defaultTimeout = 2 * time.Hour

// exitCode maps a run's result to the exit codes of docs/ARCHITECTURE.md §6:
// 0 deployed or nothing to do (skipped), 3 candidate rejected (by the gate,
// or by the post-deploy canary check, which rolls back: the old model keeps
// serving), 4 another run holds the lock (retrain.ErrBusy), 1 failed. A dry
// run exits with the code the real run would have had.
func exitCode(res retrain.Result, err error) (int, string) {
	switch {
	case errors.Is(err, retrain.ErrBusy):
		return exitBusy, "busy"
	case err != nil:
		return exitFailed, string(trigger.OutcomeFailed)
	}
	switch res.Outcome {
	case trigger.OutcomeDeployed, trigger.OutcomeSkipped, trigger.OutcomeStaged:
		return exitOK, string(res.Outcome)
	case trigger.OutcomeRejected, trigger.OutcomeRolledBack:
		return exitRejected, string(res.Outcome)
	default:
		return exitFailed, string(res.Outcome)
	}
}

// cmdRun implements "cronjob run".
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("run", stderr,
		"run [--root DIR | --database-url URL] [--init DIR] [--force] [--dry-run] [--require-approval] [--corrections-logged] [--timeout 2h] [--metrics-file F.prom] [--webhook-url-file F] [--webhook-secret-file F]",
		"Runs one retraining pass and exits 0 (deployed, staged or nothing to do), 3 (candidate\n"+
			"rejected), 4 (another run holds the lock) or 1 (failed).")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	dbF := registerDatabaseURL(fl)
	initF := fl.String("init", "", "copy `DIR`/data into the root first when it has no data/intent_dataset.jsonl")
	force := fl.Bool("force", false, "retrain whatever the trigger says")
	dry := fl.Bool("dry-run", false, "go as far as the gate's verdict and write nothing (no heartbeat either)")
	timeout := fl.Duration("timeout", defaultTimeout, "give up after this long (the run is recorded as failed)")
	metricsFile := fl.String("metrics-file", "", "after the run, replace `file` (*.prom) with the retraining metrics for node_exporter's textfile collector")
	approval := fl.Bool("require-approval", false, "store a candidate that passes the gate without deploying it (staged; see approve, reject, promote)")
	corrected := fl.Bool("corrections-logged", false, "the server asks the LLM about every ML answer a user rejects (serve.Server.Correct): derive routing thresholds on user-confirmed samples too (retrain.Config.CorrectionsLogged)")
	var wh webhookFlags
	wh.register(fl)
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "cronjob run: --timeout must be positive")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if u := databaseURL(*dbF); u != "" {
		if *initF != "" {
			loaded, err := initDatabase(ctx, u, *initF)
			if err != nil {
				fmt.Fprintln(stderr, "cronjob run:", err)
				return exitFailed
			}
			if loaded {
				fmt.Fprintf(stdout, "initialized %s from %s\n", redactURL(u), *initF)
			}
		}
		r := &runner{dbURL: u, stdout: stdout, stderr: stderr, dry: *dry, metricsFile: *metricsFile, corrected: *corrected}
		return r.run(ctx, retrain.RunOptions{Force: *force, DryRun: *dry, RequireApproval: *approval}, wh)
	}
	var root string
	var err error
	if *initF != "" {
		if root, err = resolveRoot(*rootF); err == nil {
			var copied bool
			if copied, err = initRoot(root, *initF); copied {
				fmt.Fprintf(stdout, "initialized %s from %s\n", root, *initF)
			}
		}
	} else {
		root, err = existingRoot(*rootF)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cronjob run:", err)
		return exitFailed
	}
	r := &runner{root: root, stdout: stdout, stderr: stderr, dry: *dry, metricsFile: *metricsFile, corrected: *corrected,
		hb: newHeartbeat(root, time.Now(), *timeout, *force, *dry)}
	code := r.run(ctx, retrain.RunOptions{Force: *force, DryRun: *dry, RequireApproval: *approval}, wh)
	return code
}

// runner carries one "cronjob run" through the Retrainer and the heartbeat.
type runner struct {
	root           string
	dbURL          string // the stores are in this database (no root, no heartbeat)
	stdout, stderr io.Writer
	dry            bool
	corrected      bool // --corrections-logged
	metricsFile    string
	hb             *heartbeat

	startOnce sync.Once
}

// start writes the "running" heartbeat, once, when the Retrainer reports
// its first event: only then does this process hold the root's lock, so a run
// that finds the lock busy never overwrites the heartbeat of the run that
// holds it. A dry run writes no heartbeat.
func (r *runner) start(ctx context.Context) {
	r.startOnce.Do(func() {
		if r.dry || r.root == "" {
			return
		}
		s, _ := installedSchedule(ctx, r.root)
		setSchedule(r.hb, s, time.Now())
		if err := writeHeartbeat(r.root, r.hb); err != nil {
			fmt.Fprintln(r.stderr, "cronjob run: warning:", err)
		}
	})
}

// finish writes the final heartbeat.
func (r *runner) finish(ctx context.Context, code int, outcome string, res *resultSummary, runErr error) {
	if r.dry || r.root == "" {
		return
	}
	if code == exitBusy {
		// Leave the heartbeat of the run that holds the lock alone.
		if prev, err := readHeartbeat(r.root); err == nil && prev.State == stateRunning {
			return
		}
	}
	r.start(ctx) // a run that failed before its first event
	s, _ := installedSchedule(context.WithoutCancel(ctx), r.root)
	now := time.Now()
	setSchedule(r.hb, s, now)
	finishHeartbeat(r.hb, now, code, outcome, res, runErr)
	if err := writeHeartbeat(r.root, r.hb); err != nil {
		fmt.Fprintln(r.stderr, "cronjob run: warning:", err)
	}
}

// run opens the Retrainer, runs it once and reports; it returns the exit code.
func (r *runner) run(ctx context.Context, opts retrain.RunOptions, wh webhookFlags) int {
	prog := &progressPrinter{w: r.stderr, tty: isTerminal(r.stderr)}
	if !prog.tty {
		prog.now = time.Now
		fmt.Fprintf(r.stderr, "%s cronjob run: %s, force %v, dry run %v, pid %d\n",
			time.Now().UTC().Format(time.RFC3339), r.where(), opts.Force, opts.DryRun, os.Getpid())
	}
	ropts := &retrain.Options{
		OnProgress: func(p retrain.Progress) {
			r.start(ctx)
			prog.update(p)
		},
		OnEvent:           func(ctx context.Context, e retrain.Event) { r.start(ctx) },
		CorrectionsLogged: r.corrected,
	}
	notifier, err := wh.notifier(r.stderr)
	if err != nil {
		return r.fail(ctx, err)
	}
	ropts.Notifier = notifier
	var rt *retrain.Retrainer
	if r.dbURL != "" {
		rt, _, err = openDatabaseRetrainer(ctx, r.dbURL, ropts)
	} else {
		rt, err = retrain.Open(r.root, ropts)
	}
	if err != nil {
		return r.fail(ctx, err)
	}
	res, runErr := rt.Run(ctx, opts)
	prog.finish()
	if r.metricsFile != "" && !opts.DryRun {
		if err := writeMetrics(context.WithoutCancel(ctx), rt, r.metricsFile); err != nil {
			fmt.Fprintln(r.stderr, "cronjob run: warning: metrics file:", err)
		}
	}
	if err := rt.Close(); err != nil && runErr == nil {
		fmt.Fprintln(r.stderr, "cronjob run: warning: close:", err)
	}
	code, outcome := exitCode(res, runErr)
	if res.DryRun {
		outcome = "dry_run"
	}
	sum := &resultSummary{RunID: res.RunID, Version: string(res.NewVersion), Previous: string(res.OldVersion), Reason: res.Reason}
	if res.Record.Trigger != nil {
		for _, rs := range res.Record.Trigger.Reasons {
			sum.Reasons = append(sum.Reasons, strings.Repeat("  ", rs.Depth)+rs.Policy+": "+rs.Text)
		}
	}
	if res.RunID == "" {
		sum = nil
	}
	r.report(res, code, runErr)
	r.finish(ctx, code, outcome, sum, runErr)
	return code
}

// where names the stores for people: the root, or the database URL
// without its password.
func (r *runner) where() string {
	if r.dbURL != "" {
		return "database " + redactURL(r.dbURL)
	}
	return "root " + r.root
}

// fail reports an error that came before Run and records it.
func (r *runner) fail(ctx context.Context, err error) int {
	fmt.Fprintln(r.stderr, "cronjob run:", err)
	r.finish(ctx, exitFailed, string(trigger.OutcomeFailed), nil, err)
	return exitFailed
}

// report prints what the run did: the record's summary line, then the
// details a person needs (the trigger's reasons on a skip, the failed gate
// checks on a rejection, the plan of a dry run).
func (r *runner) report(res retrain.Result, code int, err error) {
	switch {
	case errors.Is(err, retrain.ErrBusy):
		fmt.Fprintln(r.stderr, "cronjob run: another run holds the lock on the", r.where())
		return
	case res.RunID == "" && err != nil:
		fmt.Fprintln(r.stderr, "cronjob run:", err)
		return
	}
	fmt.Fprintln(r.stdout, res.Record.Summary())
	if res.Skipped && res.Record.Trigger != nil {
		fmt.Fprintln(r.stdout, indent(res.Record.Trigger.String(), "  "))
	}
	for _, c := range res.Record.Checks {
		if !c.Passed || code == exitRejected {
			verdict := "pass"
			if !c.Passed {
				verdict = "FAIL"
			}
			line := fmt.Sprintf("  [%s] %s: %.4f %s %.4f", verdict, c.Name, c.Value, c.Op, c.Threshold)
			if c.Detail != "" {
				line += " (" + c.Detail + ")"
			}
			fmt.Fprintln(r.stdout, line)
		}
	}
	if len(res.Plan) > 0 {
		fmt.Fprintln(r.stdout, "  a real run would:")
		for _, c := range res.Record.Canaries {
			fmt.Fprintf(r.stdout, "  canary %q: want %s, got %s\n", c.Text, c.Expected, c.Got)
		}
		for _, p := range res.Plan {
			fmt.Fprintln(r.stdout, "  - "+p)
		}
	}
	for _, w := range res.Record.Warnings {
		fmt.Fprintln(r.stderr, "warning:", w)
	}
	if err != nil {
		fmt.Fprintln(r.stderr, "cronjob run:", err)
	}
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	if s == "" {
		return s
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// cmdStatus implements "cronjob status [--json]".
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("status", stderr, "status [--root DIR | --database-url URL] [--json]",
		"Shows the retrainer's status: deployed model, last runs, pending samples, what the\n"+
			"trigger would say now, backups, a run in progress and the cron heartbeat.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	dbF := registerDatabaseURL(fl)
	asJSON := fl.Bool("json", false, "print the status as JSON")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	rt, root, err := openRetrainer(ctx, *rootF, *dbF)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob status:", err)
		return exitFailed
	}
	defer rt.Close()
	st, err := rt.Status(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob status:", err)
		return exitFailed
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintln(stderr, "cronjob status:", err)
			return exitFailed
		}
		return exitOK
	}
	printStatus(stdout, root, st)
	return exitOK
}

// refitNote says when the deployed version was refit on all its samples.
func refitNote(m map[string]float64) string {
	if m[retrain.MetricRefit] != 1 {
		return ""
	}
	return fmt.Sprintf("; refit on all %.0f samples after the gate", m["train_samples"])
}

// printStatus renders a Status as a readable table.
func printStatus(w io.Writer, root string, st retrain.Status) {
	row := func(k, v string) { fmt.Fprintf(w, "%-14s %s\n", k+":", v) }
	row("root", root)
	if d := st.Deployed; d != nil {
		integrity := "intact"
		if !d.Intact {
			integrity = "DAMAGED: " + d.Integrity
		}
		scores := fmt.Sprintf("accuracy %s, macro-F1 %s", metric(d.Metrics, "accuracy"), metric(d.Metrics, "macro_f1"))
		if _, multi := d.Metrics["subset_accuracy"]; multi {
			// Multi-label: "accuracy" counts a query right only when its whole
			// label set is (exact match); micro-F1 credits each right label.
			scores = fmt.Sprintf("multi-label: micro-F1 %s, macro-F1 %s, exact-match accuracy %s",
				metric(d.Metrics, "micro_f1"), metric(d.Metrics, "macro_f1"), metric(d.Metrics, "subset_accuracy"))
		}
		row("deployed", fmt.Sprintf("%s (created %s, %s, %s)", d.Version, fmtTime(d.Created), scores, integrity))
		if th, ok := d.Metrics[retrain.MetricRoutingThreshold]; ok {
			row("routing", fmt.Sprintf("threshold %.3f for ML-route precision %s (coverage %s of %.0f samples it did not train on)%s", th,
				metric(d.Metrics, retrain.MetricRoutingTarget), metric(d.Metrics, retrain.MetricRoutingCoverage),
				d.Metrics[retrain.MetricRoutingSamples], refitNote(d.Metrics)))
		}
	} else {
		row("deployed", "nothing")
	}
	recLine := func(rec *retrain.Record) string {
		return fmt.Sprintf("%s (%s ago) %s", fmtTime(rec.Timestamp), retrain.Ago(st.Now.Sub(rec.Timestamp)), rec.Summary())
	}
	if st.LastSuccess != nil {
		row("last success", recLine(st.LastSuccess))
	} else {
		row("last success", "never")
	}
	if st.LastRun != nil {
		row("last run", recLine(st.LastRun))
	}
	if st.LastRollback != nil && (st.LastRun == nil || st.LastRollback.RetrainID != st.LastRun.RetrainID) {
		row("rollback", recLine(st.LastRollback))
	}
	if st.LastAttempt != nil && st.LastAttempt != st.LastRun && (st.LastRun == nil || st.LastAttempt.RetrainID != st.LastRun.RetrainID) {
		row("last attempt", recLine(st.LastAttempt))
	}
	row("pending", fmt.Sprintf("%d new sample(s)", st.Pending))
	if d := st.Decision; d != nil {
		verdict := "not due"
		if d.Retrain {
			verdict = "due: the next run will train"
		} else if d.Need != "" {
			verdict += " (need " + d.Need + ")"
		}
		row("trigger", verdict)
		if s := d.String(); s != "" {
			fmt.Fprintln(w, indent(s, "  "))
		}
	}
	row("backups", fmt.Sprintf("%d version(s), %s", len(st.Backups), humanBytes(st.BackupBytes)))
	if st.Running {
		v := fmt.Sprintf("yes, pid %d", st.RunningPID)
		if st.RunningID != "" {
			v += " " + st.RunningID
		}
		row("running", v)
	} else {
		row("running", "no")
	}
	var hb heartbeat
	switch {
	case len(st.Cron) == 0:
		row("cron", "no heartbeat (never run by cronjob run)")
	case json.Unmarshal(st.Cron, &hb) != nil:
		row("cron", "heartbeat unreadable")
	case hb.State == stateRunning:
		row("cron", fmt.Sprintf("running since %s (pid %d on %s)", fmtTime(hb.Started), hb.PID, hb.Host))
	default:
		v := fmt.Sprintf("last run finished %s: %s", fmtTime(hb.Finished), hb.Outcome)
		if !hb.NextRun.IsZero() {
			v += "; next run " + fmtTime(hb.NextRun)
		}
		row("cron", v)
	}
	if st.HistoryCorrupt > 0 {
		row("history", fmt.Sprintf("%d damaged line(s) skipped", st.HistoryCorrupt))
	}
	for _, p := range st.Problems {
		row("problem", p)
	}
}
