package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"moodfood/dataset"
	"moodfood/internal/atomicfile"
	"moodfood/retrain"
	"moodfood/retrain/metrics"
	"moodfood/retrain/report"
	"moodfood/trigger"
)

// outcomes are the run outcomes --outcome accepts.
var outcomes = []trigger.Outcome{trigger.OutcomeSkipped, trigger.OutcomeFailed, trigger.OutcomeRejected,
	trigger.OutcomeDeployed, trigger.OutcomeRolledBack}

// parseSince reads --since: a duration back from now ("72h", "7d") or a
// date ("2026-01-02", RFC 3339).
func parseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d >= 0 {
			return now.AddDate(0, 0, -d), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--since %q: want a duration (72h, 7d) or a date (2006-01-02, RFC 3339)", s)
}

// parseOutcomes reads --outcome: a comma-separated list of outcomes.
func parseOutcomes(s string) ([]trigger.Outcome, error) {
	if s == "" {
		return nil, nil
	}
	var out []trigger.Outcome
	for _, f := range strings.Split(s, ",") {
		o := trigger.Outcome(strings.TrimSpace(f))
		ok := false
		for _, k := range outcomes {
			ok = ok || k == o
		}
		if !ok {
			return nil, fmt.Errorf("--outcome %q: want one or more of skipped, failed, rejected, deployed, rolled_back", f)
		}
		out = append(out, o)
	}
	return out, nil
}

// cmdHistory implements "cronjob history [--json] [--since D] [--outcome O] [--limit N]".
func cmdHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("history", stderr, "history [--root DIR | --database-url URL] [--json] [--since 7d|DATE] [--outcome deployed,rejected] [--limit N]",
		"Lists past runs, newest first: date, outcome, samples, accuracy, macro-F1, the accuracy\n"+
			"change the gate saw, training seconds, version and reason. --json prints the full records.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	dbF := registerDatabaseURL(fl)
	asJSON := fl.Bool("json", false, "print the records as a JSON array")
	sinceF := fl.String("since", "", "only runs since this `time`: a duration back from now (72h, 7d) or a date")
	outcomeF := fl.String("outcome", "", "only runs with these `outcomes` (comma-separated)")
	limit := fl.Int("limit", 0, "at most `N` runs (0: all)")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	since, err := parseSince(*sinceF, time.Now())
	if err == nil && *limit < 0 {
		err = fmt.Errorf("--limit must not be negative")
	}
	var outs []trigger.Outcome
	if err == nil {
		outs, err = parseOutcomes(*outcomeF)
	}
	if err != nil {
		fmt.Fprintln(stderr, "cronjob history:", err)
		return exitUsage
	}
	rt, _, err := openRetrainer(ctx, *rootF, *dbF)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob history:", err)
		return exitFailed
	}
	defer rt.Close()
	p, err := rt.History().List(ctx, retrain.HistoryFilter{Outcomes: outs, Since: since, Limit: *limit})
	if err != nil {
		fmt.Fprintln(stderr, "cronjob history:", err)
		return exitFailed
	}
	if *asJSON {
		if p.Records == nil {
			p.Records = []retrain.Record{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(p.Records); err != nil {
			fmt.Fprintln(stderr, "cronjob history:", err)
			return exitFailed
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, strings.Join(report.RowHeader, "\t"))
		for i := range p.Records {
			fmt.Fprintln(tw, strings.Join(report.RowOf(&p.Records[i]).Cells(), "\t"))
		}
		tw.Flush()
		if len(p.Records) == 0 {
			fmt.Fprintln(stdout, "(no runs match)")
		}
	}
	if p.Damaged > 0 {
		fmt.Fprintf(stderr, "cronjob history: %d damaged history line(s) skipped\n", p.Damaged)
	}
	if p.Unrecorded > 0 {
		fmt.Fprintf(stderr, "cronjob history: the newest %d run(s) could not be written to the history yet (disk full?); shown from the side record\n", p.Unrecorded)
	}
	return exitOK
}

// openRetrainer opens the Retrainer of the root, or of the database when a
// URL is given (flag or environment), for the read-only commands; label
// names it for output (the URL without its password).
func openRetrainer(ctx context.Context, rootFlag, dbFlag string) (rt *retrain.Retrainer, label string, err error) {
	if u := databaseURL(dbFlag); u != "" {
		rt, _, err = openDatabaseRetrainer(ctx, u, nil)
		return rt, redactURL(u), err
	}
	root, err := existingRoot(rootFlag)
	if err != nil {
		return nil, "", err
	}
	rt, err = retrain.Open(root, nil)
	return rt, root, err
}

// cmdReport implements "cronjob report --html FILE".
func cmdReport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("report", stderr, "report [--root DIR | --database-url URL] --html FILE [--days 30]",
		"Writes the dashboard (the server's GET /dashboard page, without its live serving\n"+
			"counters) as one self-contained HTML file that works offline.")
	rootF := fl.String("root", "", "`root` directory (default $MOODFOOD_ROOT)")
	dbF := registerDatabaseURL(fl)
	out := fl.String("html", "", "write the page to this `file` (replaced atomically)")
	days := fl.Int("days", 30, "days of the query log to chart")
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "cronjob report: --html FILE is required")
		fl.Usage()
		return exitUsage
	}
	rt, label, err := openRetrainer(ctx, *rootF, *dbF)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob report:", err)
		return exitFailed
	}
	defer rt.Close()
	cfg := report.LoaderConfig{History: rt.History(), Models: rt.Models(), Pending: rt.Data().Pending,
		DaysShown: *days, Title: "moodfood " + label}
	if fs, ok := rt.Data().(*dataset.FileStore); ok {
		cfg.Days = fs.LogStats(nil).Days
	}
	l, err := report.NewLoader(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob report:", err)
		return exitFailed
	}
	defer l.Close()
	d, err := l.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "cronjob report:", err)
		return exitFailed
	}
	if err := atomicfile.WriteFile(*out, 0o600, func(w io.Writer) error { return report.Page(w, d) }); err != nil {
		fmt.Fprintln(stderr, "cronjob report:", err)
		return exitFailed
	}
	for _, p := range d.Problems {
		fmt.Fprintln(stderr, "cronjob report: problem:", p)
	}
	fmt.Fprintf(stdout, "wrote %s (%d runs, %d model versions)\n", *out, len(d.Runs), len(d.Backups))
	return exitOK
}

// writeMetrics replaces path with rt's retraining metrics in the
// Prometheus text format (atomically, fsynced). The file is 0644: node_exporter
// usually runs as another user.
func writeMetrics(ctx context.Context, rt *retrain.Retrainer, path string) error {
	l, err := report.NewLoader(report.LoaderConfig{History: rt.History(), Models: rt.Models(), Pending: rt.Data().Pending})
	if err != nil {
		return err
	}
	defer l.Close()
	reg := metrics.NewRegistry()
	if err := metrics.RegisterRetrain(reg, l.Load); err != nil {
		return err
	}
	return metrics.WriteTextfile(path, 0o644, reg)
}
