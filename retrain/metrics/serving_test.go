package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain/metrics"
	"moodfood/retrain/serve"
)

// constPredictor answers label with confidence 0.9, or 0.1 (unsure: the LLM
// is asked) for texts starting with "?".
type constPredictor struct{ label string }

func (p constPredictor) Predict(text string) model.Prediction {
	conf := 0.9
	if strings.HasPrefix(text, "?") {
		conf = 0.1
	}
	return model.Prediction{Label: p.label, Labels: []string{p.label}, Confidence: conf,
		Ranked: []model.Score{{Label: p.label, Prob: conf}}}
}

// decodeBody decodes a model body "label:X" into constPredictor{X}; any
// other body is refused.
func decodeBody(r io.Reader) (model.Predictor, error) {
	b, _ := io.ReadAll(r)
	l, ok := strings.CutPrefix(string(b), "label:")
	if !ok {
		return nil, errors.New("not a model")
	}
	return constPredictor{l}, nil
}

// failingLog refuses queries whose text is "drop-me", as a full queue would.
type failingLog struct{ mu sync.Mutex }

func (l *failingLog) Log(q dataset.Query) error {
	if q.Text == "drop-me" {
		return dataset.ErrQueueFull
	}
	return nil
}

func (l *failingLog) Feedback(dataset.Feedback) error { return nil }

func put(t *testing.T, s *backup.FileStore, body string) backup.Version {
	t.Helper()
	m, err := s.Put(context.Background(), backup.Manifest{}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// gathered indexes a registry's metrics by name and label values.
type gathered map[string]*dto.Metric

func gather(t *testing.T, g prometheus.Gatherer) gathered {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := gathered{}
	for _, mf := range mfs {
		for _, m := range mf.Metric {
			key := mf.GetName()
			for _, lp := range m.Label {
				key += "|" + lp.GetName() + "=" + lp.GetValue()
			}
			out[key] = m
		}
	}
	return out
}

// value returns the value of the series name{labels} ("k=v" pairs in label
// name order), failing when it is absent.
func (g gathered) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	key := name
	for _, l := range labels {
		key += "|" + l
	}
	m, ok := g[key]
	if !ok {
		t.Fatalf("no series %s", key)
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("series %s has no value", key)
	return 0
}

func (g gathered) has(name string, labels ...string) bool {
	key := name
	for _, l := range labels {
		key += "|" + l
	}
	_, ok := g[key]
	return ok
}

// TestServingCollector: each serving metric after queries on every route,
// feedback, a reload, a refused version, a dropped log record, a canary and
// a shadow.
func TestServingCollector(t *testing.T) {
	ctx := context.Background()
	store, err := backup.OpenFileStore(filepath.Join(t.TempDir(), "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	v1 := put(t, store, "label:a")
	if err := store.Deploy(ctx, v1); err != nil {
		t.Fatal(err)
	}
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		if text == "?fail" {
			return nil, 0, errors.New("llm down")
		}
		return []string{"a"}, 0.9, nil
	})
	s, err := serve.Open(ctx, store, &serve.Options{Decode: decodeBody, LLM: llm, QueryLog: &failingLog{}, PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewRegistry()
	if err := metrics.RegisterServing(reg, metrics.ServingSource{Stats: s.Stats}); err != nil {
		t.Fatal(err)
	}
	classify := func(text string) serve.Answer {
		t.Helper()
		a, err := s.Classify(ctx, serve.Request{Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := classify("hello")
	b := classify("hi there")
	classify("?unsure")
	classify("?fail")
	classify("drop-me")
	if err := s.Feedback(ctx, a.QueryID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Correct(ctx, b.QueryID, "hi there"); err != nil {
		t.Fatal(err)
	}

	g := gather(t, reg)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"moodfood_classify_requests_total", []string{"route=ml"}, 3},
		{"moodfood_classify_requests_total", []string{"route=llm"}, 1},
		{"moodfood_classify_requests_total", []string{"route=ml_degraded"}, 1},
		{"moodfood_classify_duration_seconds", []string{"route=ml"}, 3},
		{"moodfood_classify_duration_seconds", []string{"route=llm"}, 1},
		{"moodfood_llm_calls_total", []string{"outcome=answered"}, 1},
		{"moodfood_llm_calls_total", []string{"outcome=error"}, 1},
		{"moodfood_llm_calls_total", []string{"outcome=timeout"}, 0},
		{"moodfood_feedback_total", []string{"positive=true"}, 1},
		{"moodfood_feedback_total", []string{"positive=false"}, 1},
		{"moodfood_corrections_total", nil, 1},
		{"moodfood_model_info", []string{"version=" + string(v1)}, 1},
		{"moodfood_routing_threshold", []string{"version=" + string(v1)}, serve.DefaultThreshold},
		{"moodfood_model_reloads_total", []string{"result=ok"}, 0},
		{"moodfood_query_log_dropped_total", []string{"reason=refused"}, 1},
	} {
		if got := g.value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if h := g["moodfood_classify_duration_seconds|route=ml"].Histogram; len(h.Bucket) != len(serve.LatencyBuckets) ||
		h.Bucket[len(h.Bucket)-1].GetCumulativeCount() != 3 {
		t.Errorf("ml latency histogram = %v, want %d buckets ending at 3", h, len(serve.LatencyBuckets))
	}

	// A reload to a new version, then a refused one.
	v2 := put(t, store, "label:b")
	store.Deploy(ctx, v2)
	if err := s.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	v3 := put(t, store, "garbage")
	store.Deploy(ctx, v3)
	s.Reload(ctx)
	g = gather(t, reg)
	if got := g.value(t, "moodfood_model_reloads_total", "result=ok"); got != 1 {
		t.Errorf("reloads ok = %v, want 1", got)
	}
	if got := g.value(t, "moodfood_model_reloads_total", "result=refused"); got != 1 {
		t.Errorf("reloads refused = %v, want 1", got)
	}
	if !g.has("moodfood_model_info", "version="+string(v2)) || g.has("moodfood_model_info", "version="+string(v1)) {
		t.Errorf("model_info after the reload: want only %s", v2)
	}

	// A canary taking all traffic, and a shadow.
	store.Deploy(ctx, v2)
	if err := s.StartCanary(ctx, v1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.StartShadow(ctx, v1); err != nil {
		t.Fatal(err)
	}
	classify("to the canary")
	g = gather(t, reg)
	if got := g.value(t, "moodfood_canary_requests_total", "arm=canary", "route=ml", "version="+string(v1)); got != 1 {
		t.Errorf("canary arm requests = %v, want 1", got)
	}
	if got := g.value(t, "moodfood_canary_requests_total", "arm=control", "route=ml", "version="+string(v2)); got != 0 {
		t.Errorf("control arm requests = %v, want 0", got)
	}
	if got := g.value(t, "moodfood_canary_fraction", "version="+string(v1)); got != 1 {
		t.Errorf("canary fraction = %v, want 1", got)
	}
	if got := g.value(t, "moodfood_shadow_queries_total", "version="+string(v1)); got != 1 {
		t.Errorf("shadow queries = %v, want 1", got)
	}
	if !g.has("moodfood_shadow_disagreements_total", "version="+string(v1)) {
		t.Error("no shadow disagreement series")
	}
	promtoolCheckMetrics(t, reg)
}

// promtoolCheckMetrics lints the registry's exposition with `promtool
// check metrics` when promtool is installed.
func promtoolCheckMetrics(t *testing.T, g prometheus.Gatherer) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed; skipping promtool check metrics")
		return
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(g, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(rec.Body.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
