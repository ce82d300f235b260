package metrics_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"moodfood/retrain"
	"moodfood/retrain/metrics"
	"moodfood/retrain/report"
	"moodfood/trigger"
)

// demoLines are the shipped demo's base samples, one JSON line each.
func demoLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "demo", "data", "intent_dataset.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// demoRoot is a fresh root whose base dataset is the first n demo samples
// (few, to keep training short).
func demoRoot(t *testing.T, n int) string {
	t.Helper()
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "data"), 0o700)
	writeBase(t, root, demoLines(t)[:n])
	return root
}

func writeBase(t *testing.T, root string, lines []string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(root, "data", "intent_dataset.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRetrainCollector: the retraining metrics of a real root after a
// deploy, a second deploy, a skipped run and a manual rollback.
func TestRetrainCollector(t *testing.T) {
	ctx := context.Background()
	root := demoRoot(t, 120)
	rt, err := retrain.Open(root, &retrain.Options{Trigger: trigger.TriggerFunc(
		func(ctx context.Context, s trigger.State) (trigger.Decision, error) {
			return trigger.Decision{Retrain: s.Force}, nil
		})})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	l, err := report.NewLoader(report.LoaderConfig{History: rt.History(), Models: rt.Models(), Pending: rt.Data().Pending})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reg := prometheus.NewRegistry()
	if err := metrics.RegisterRetrain(reg, l.Load); err != nil {
		t.Fatal(err)
	}

	g := gather(t, reg)
	if got := g.value(t, "moodfood_retrain_runs_total", "outcome=deployed"); got != 0 {
		t.Errorf("runs before any run = %v", got)
	}
	if g.has("moodfood_retrain_last_run_timestamp_seconds") || g.has("moodfood_deployed_model_score", "metric=accuracy") {
		t.Error("a last-run time or a score before any run")
	}

	first, err := rt.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !first.Deployed {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	g = gather(t, reg)
	rec := first.Record
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"moodfood_retrain_runs_total", []string{"outcome=deployed"}, 1},
		{"moodfood_retrain_runs_total", []string{"outcome=failed"}, 0},
		{"moodfood_retrain_last_run_timestamp_seconds", nil, float64(rec.Timestamp.UnixNano()) / 1e9},
		{"moodfood_retrain_last_deploy_timestamp_seconds", nil, float64(rec.Timestamp.UnixNano()) / 1e9},
		{"moodfood_retrain_duration_seconds", []string{"stage=run"}, rec.DurationSeconds},
		{"moodfood_deployed_model_score", []string{"metric=accuracy"}, rec.NewMetrics["accuracy"]},
		{"moodfood_deployed_model_score", []string{"metric=macro_f1"}, rec.NewMetrics["macro_f1"]},
		{"moodfood_dataset_samples", []string{"kind=total"}, float64(rec.DatasetQuality.TotalEntries)},
		{"moodfood_dataset_samples", []string{"kind=holdout"}, float64(rec.DatasetQuality.HoldoutSamples)},
		{"moodfood_dataset_samples_by_source", []string{"source=seed"}, float64(rec.DatasetQuality.Sources["seed"])},
		{"moodfood_pending_samples", nil, 0},
		{"moodfood_retrain_consecutive_failures", nil, 0},
	} {
		if got := g.value(t, c.name, c.labels...); math.Abs(got-c.want) > 1e-5 { // times: microseconds in the history
			t.Errorf("after a deploy: %s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if !g.has("moodfood_retrain_duration_seconds", "stage=train") {
		t.Error("no training stage duration")
	}

	writeBase(t, root, demoLines(t)[:160]) // new data: a different candidate
	second, err := rt.Run(ctx, retrain.RunOptions{Force: true})
	if err != nil || !second.Deployed {
		t.Fatalf("second run: %+v, %v", second, err)
	}
	skipped, err := rt.Run(ctx, retrain.RunOptions{})
	if err != nil || !skipped.Skipped {
		t.Fatalf("third run: %+v, %v", skipped, err)
	}
	g = gather(t, reg)
	if got := g.value(t, "moodfood_retrain_runs_total", "outcome=deployed"); got != 2 {
		t.Errorf("deployed runs = %v, want 2", got)
	}
	if got := g.value(t, "moodfood_retrain_runs_total", "outcome=skipped"); got != 1 {
		t.Errorf("skipped runs = %v, want 1", got)
	}
	if got, want := g.value(t, "moodfood_retrain_last_run_timestamp_seconds"), float64(skipped.Record.Timestamp.UnixNano())/1e9; math.Abs(got-want) > 1e-5 {
		t.Errorf("last run time = %v, want the skipped run's %v", got, want)
	}
	if got, want := g.value(t, "moodfood_retrain_last_deploy_timestamp_seconds"), float64(second.Record.Timestamp.UnixNano())/1e9; math.Abs(got-want) > 1e-5 {
		t.Errorf("last deploy time = %v, want the second run's %v", got, want)
	}

	rb, err := rt.Rollback(ctx, "")
	if err != nil || rb.NewVersion != first.NewVersion {
		t.Fatalf("rollback: %+v, %v", rb, err)
	}
	g = gather(t, reg)
	if got := g.value(t, "moodfood_retrain_runs_total", "outcome=rolled_back"); got != 1 {
		t.Errorf("rolled back runs = %v, want 1", got)
	}
	if !g.has("moodfood_deployed_model_score", "metric=accuracy") {
		t.Error("no deployed score after the rollback")
	}
}

// TestWriteTextfile: the file holds the gathered metrics in the text format
// node_exporter reads, is replaced whole, and leaves no temp file.
func TestWriteTextfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "moodfood.prom")
	reg := prometheus.NewRegistry()
	d := &report.Data{Pending: 7, Runs: []retrain.Record{
		{RetrainID: "r1", Timestamp: time.Unix(1700000000, 0), Status: trigger.OutcomeFailed},
		{RetrainID: "r2", Timestamp: time.Unix(1700000100, 0), Status: trigger.OutcomeFailed},
	}}
	metrics.RegisterRetrain(reg, func(context.Context) (*report.Data, error) { return d, nil })
	os.WriteFile(path, []byte("old content"), 0o644)
	if err := metrics.WriteTextfile(path, 0o644, reg); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("the file does not parse as Prometheus text: %v", err)
	}
	if got := mfs["moodfood_retrain_consecutive_failures"].Metric[0].Gauge.GetValue(); got != 2 {
		t.Errorf("consecutive failures = %v, want 2", got)
	}
	if got := mfs["moodfood_pending_samples"].Metric[0].Gauge.GetValue(); got != 7 {
		t.Errorf("pending = %v, want 7", got)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the metrics file", len(ents))
	}
}

// TestAlertRules: the shipped alerting rules pass `promtool check rules`
// and their unit tests (testdata/alerts_test.yml), when promtool is
// installed.
func TestAlertRules(t *testing.T) {
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (Debian package prometheus)")
	}
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "testdata/alerts_test.yml"}} {
		out, err := exec.Command(path, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "SUCCESS") {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
