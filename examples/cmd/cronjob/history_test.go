package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"moodfood/retrain"
)

// TestHistoryReportMetrics: on the demo root, after two runs (one written
// with --metrics-file), history lists both newest first in a table and as
// JSON, filters by outcome and time, the metrics file holds the retraining
// metrics, and report --html writes one self-contained page with a chart
// per section.
func TestHistoryReportMetrics(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	cronjob(t, nil, "run", "--force", "--root", root, "--init", demoRoot(t)).want(t, exitOK, "first run")
	prom := filepath.Join(t.TempDir(), "moodfood.prom")
	cronjob(t, nil, "run", "--force", "--root", root, "--metrics-file", prom).want(t, exitOK, "second run")

	r := cronjob(t, nil, "history", "--root", root, "--json")
	r.want(t, exitOK, "history --json")
	var recs []retrain.Record
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil || len(recs) != 2 {
		t.Fatalf("history --json: %d records, %v\n%s", len(recs), err, r.stdout)
	}
	// The second forced run trains the same data again: its candidate is
	// byte-identical to the deployed model, so it is recorded as skipped.
	if !recs[0].Timestamp.After(recs[1].Timestamp) || recs[1].Status != "deployed" {
		t.Errorf("history --json not newest first: %s %s, %s %s", recs[0].RetrainID, recs[0].Timestamp, recs[1].RetrainID, recs[1].Timestamp)
	}
	r = cronjob(t, nil, "history", "--root", root)
	r.want(t, exitOK, "history")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "date (UTC)") || !strings.Contains(lines[2], string(recs[1].NewVersion)) || !strings.Contains(lines[1], string(recs[0].Status)) {
		t.Errorf("history table:\n%s", r.stdout)
	}
	r = cronjob(t, nil, "history", "--root", root, "--outcome", "deployed", "--json")
	if json.Unmarshal([]byte(r.stdout), &recs) != nil || len(recs) != 1 || recs[0].Status != "deployed" {
		t.Errorf("history --outcome deployed: %s", r.stdout)
	}
	r = cronjob(t, nil, "history", "--root", root, "--outcome", "rejected,failed")
	r.want(t, exitOK, "history --outcome")
	if !strings.Contains(r.stdout, "(no runs match)") {
		t.Errorf("history --outcome rejected,failed listed runs:\n%s", r.stdout)
	}
	r = cronjob(t, nil, "history", "--root", root, "--since", "2000-01-01", "--limit", "1", "--json")
	if json.Unmarshal([]byte(r.stdout), &recs) != nil || len(recs) != 1 {
		t.Errorf("history --since --limit 1: %s", r.stdout)
	}
	cronjob(t, nil, "history", "--root", root, "--outcome", "bogus").want(t, exitUsage, "history --outcome bogus")
	cronjob(t, nil, "history", "--root", root, "--since", "yesterday").want(t, exitUsage, "history --since yesterday")

	b, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`moodfood_retrain_runs_total{outcome="deployed"} 1`, `moodfood_retrain_runs_total{outcome="skipped"} 1`, "moodfood_retrain_last_run_timestamp_seconds ",
		`moodfood_deployed_model_score{metric="accuracy"}`, `moodfood_retrain_duration_seconds{stage="train"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics file lacks %q:\n%s", want, b)
		}
	}

	page := filepath.Join(t.TempDir(), "report.html")
	cronjob(t, nil, "report", "--root", root, "--html", page).want(t, exitOK, "report")
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(html), "<svg"); n != 6 {
		t.Errorf("report has %d charts, want 6", n)
	}
	if m := regexp.MustCompile(`(?i)(src|href)\s*=|<script|@import|url\(`).FindString(string(html)); m != "" {
		t.Errorf("report loads something: %q", m)
	}
	cronjob(t, nil, "report", "--root", root).want(t, exitUsage, "report without --html")
}
