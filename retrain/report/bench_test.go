package report_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/metrics"
	"moodfood/retrain/report"
	"moodfood/trigger"
)

// benchRoot writes a root with runs history records (every fifth a deploy
// with a 43-intent evaluation, like the demo's) and a query log of queries
// lines over the last 30 days, and returns a Loader over it wired as the
// server wires it. cold is how long the first Load took (it reads the whole
// query log once).
func benchRoot(b *testing.B, runs, queries int) (l *report.Loader, logs string, cold time.Duration) {
	b.Helper()
	root := b.TempDir()
	logs = filepath.Join(root, "data", "logs")
	os.MkdirAll(logs, 0o700)
	now := time.Now().UTC()
	hist, err := os.Create(filepath.Join(logs, "retrain_history.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(hist)
	for i := range runs {
		r := benchRecord(i, now.Add(time.Duration(i-runs)*6*time.Hour))
		line, _ := json.Marshal(r)
		w.Write(append(line, '\n'))
	}
	w.Flush()
	hist.Close()

	ql, err := os.Create(filepath.Join(logs, "query_logs.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	w = bufio.NewWriterSize(ql, 1<<20)
	fmt.Fprintf(w, `{"schema":1,"type":"segment","seq":1,"created":"%s"}`+"\n", now.Add(-31*24*time.Hour).Format(dataset.TimeFormat))
	start := now.Add(-30 * 24 * time.Hour)
	step := 30 * 24 * time.Hour / time.Duration(queries)
	var line []byte
	for i := range queries {
		line = queryLine(line[:0], i, start.Add(time.Duration(i)*step))
		w.Write(line)
	}
	w.Flush()
	ql.Close()

	models, err := backup.OpenFileStore(filepath.Join(root, "models"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { models.Close() })
	m, err := models.Put(context.Background(), backup.Manifest{RunID: "bench", Metrics: map[string]float64{"accuracy": 0.8}}, strings.NewReader("model"))
	if err != nil {
		b.Fatal(err)
	}
	models.Deploy(context.Background(), m.Version)
	data, err := dataset.OpenFileStore(root, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { data.Close() })
	ls := data.LogStats(nil)
	l, err = report.NewLoader(report.LoaderConfig{
		History: retrain.NewFileHistory(filepath.Join(logs, "retrain_history.jsonl")),
		Models:  models, Pending: data.Pending,
		Days: ls.Days,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	t := time.Now()
	if _, err := l.Load(context.Background()); err != nil {
		b.Fatal(err)
	}
	return l, logs, time.Since(t)
}

func benchRecord(i int, at time.Time) retrain.Record {
	st := []string{"skipped", "rejected", "deployed", "skipped", "failed"}[i%5]
	r := retrain.Record{RetrainID: fmt.Sprintf("retrain_bench_%06d", i), Timestamp: at, Status: "skipped", Reason: "bench run " + strconv.Itoa(i),
		DurationSeconds: 1, Durations: []retrain.StageDuration{{Stage: "trigger", Seconds: 0.1}}}
	if st == "skipped" || st == "failed" {
		r.Status = retrainOutcome(st)
		return r
	}
	r.Status = retrainOutcome(st)
	r.DatasetQuality = retrain.DatasetQuality{TotalEntries: 400 + i, TrainSamples: 320 + i, HoldoutSamples: 80, Sources: map[string]int{"seed": 400, "llm": i}}
	r.NewMetrics = map[string]float64{"accuracy": 0.7 + float64(i%100)/1000, "macro_f1": 0.65}
	r.Durations = append(r.Durations, retrain.StageDuration{Stage: "train", Seconds: 12})
	ev := &retrain.Evaluation{}
	for k := range 43 {
		old := 0.8
		ev.Intents = append(ev.Intents, retrain.IntentF1{Intent: fmt.Sprintf("intent_%02d", k), Support: 20, F1: 0.8 + float64(k%7)/100, OldF1: &old})
	}
	for k := range 15 {
		ev.Reliability = append(ev.Reliability, retrain.ReliabilityBin{Lo: float64(k) / 15, Hi: float64(k+1) / 15, N: 5, Confidence: float64(k) / 15, Accuracy: float64(k) / 15})
	}
	r.Evaluation = ev
	if st == "deployed" {
		r.NewVersion = backup.Version(fmt.Sprintf("model_backup_bench_%06d", i))
	}
	return r
}

func retrainOutcome(s string) trigger.Outcome { return trigger.Outcome(s) }

// queryLine appends one query-log line in the Logger's layout: every third
// query went to the LLM, every tenth has feedback.
func queryLine(b []byte, i int, at time.Time) []byte {
	method := "ml"
	if i%3 == 0 {
		method = "llm"
	}
	b = fmt.Appendf(b, `{"schema":1,"type":"query","query_id":"q%08d","timestamp":"%s","classification_method":"%s",`, i, at.Format(dataset.TimeFormat), method)
	if method == "llm" {
		b = append(b, `"llm_labels":["goal_comfort"],`...)
	}
	b = fmt.Appendf(b, `"text_input":"i feel like something warm and comforting tonight %d","primary_intent":"goal_comfort","confidence":0.62,"model_version":"model_backup_bench"`, i)
	if i%10 == 0 {
		b = append(b, `,"positive":true`...)
	}
	return append(b, "}\n"...)
}

// BenchmarkDashboard measures one GET /dashboard's work (Load and Page) and
// one /metrics scrape's (the retraining and serving collectors), on a big
// root (1,000 runs, 1,000,000 query-log lines) against the same on a small
// one (10 runs, 1,000 lines): the anchor. "+100q" appends 100 queries before
// each request, so the incremental read is measured too.
//
//	go test -run '^$' -bench Dashboard -benchtime 20x ./retrain/report/
func BenchmarkDashboard(b *testing.B) {
	for _, size := range []struct {
		name          string
		runs, queries int
	}{{"small", 10, 1000}, {"big", 1000, 1000000}} {
		l, logs, cold := benchRoot(b, size.runs, size.queries) // lives as long as b
		b.Logf("%s root: first Load (reads the whole query log) took %v", size.name, cold)
		b.Run(size.name+"/page", func(b *testing.B) {
			for b.Loop() {
				d, err := l.Load(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if err := report.Page(io.Discard, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/page+100q", func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(logs, "query_logs.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var buf []byte
			n := size.queries
			for b.Loop() {
				b.StopTimer()
				buf = buf[:0]
				for range 100 {
					buf = queryLine(buf, n, time.Now().UTC())
					n++
				}
				f.Write(buf)
				b.StartTimer()
				d, err := l.Load(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if err := report.Page(io.Discard, d); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(size.name+"/metrics", func(b *testing.B) {
			reg := metrics.NewRegistry()
			metrics.RegisterRetrain(reg, l.Load)
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
