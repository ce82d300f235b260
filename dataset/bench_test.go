package dataset_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"moodfood/dataset"
)

var intents = []string{"goal_comfort", "goal_energy", "meal_dinner", "meal_lunch", "goal_spicy", "mood_sad", "mood_happy", "diet_vegan"}

var words = strings.Fields("i want something warm spicy light sweet cheap quick comforting fresh healthy pizza soup noodles salad curry tacos after work rainy day tired happy sad hungry tonight lunch dinner breakfast with friends alone")

// genQuery makes a realistic query; i picks the route and the text.
func genQuery(i int) dataset.Query {
	w := make([]string, 3+i%7)
	for k := range w {
		w[k] = words[(i*7+k*13+i/len(words))%len(words)]
	}
	q := dataset.Query{
		QueryID:       "q" + strconv.Itoa(i),
		Timestamp:     t0.Add(time.Duration(i) * time.Millisecond),
		Text:          strings.Join(w, " ") + " " + strconv.Itoa(i%50000),
		Method:        dataset.MethodML,
		PrimaryIntent: intents[i%len(intents)],
		Confidence:    0.5 + float64(i%50)/100,
		AllIntents: []dataset.IntentScore{{Intent: intents[i%len(intents)], Score: 0.8},
			{Intent: intents[(i+1)%len(intents)], Score: 0.15}},
		ModelVersion: "v000012",
		LatencyMS:    3.2,
		SessionID:    "s" + strconv.Itoa(i/10),
	}
	if i%10 < 4 {
		q.Method = dataset.MethodLLM
		q.LLMLabels = []string{intents[(i+i/8)%len(intents)]}
		q.LLMConfidence = 0.6 + float64(i%40)/100
	}
	return q
}

// BenchmarkLogger_Parallel64 logs from 64 goroutines to a real file with
// group-commit fsync (default options: flush+fsync every 1 s or 4096
// records). It reports the per-call p50/p99 latency and the sustained rate
// to disk (the final Flush is inside the timed region).
func BenchmarkLogger_Parallel64(b *testing.B) {
	b.Run("Wait", func(b *testing.B) { benchLogger(b, nil, 0) })
	b.Run("Drop", func(b *testing.B) { benchLogger(b, &dataset.LoggerOptions{Overflow: dataset.OverflowDrop}, 0) })
}

// BenchmarkLogger_Rate200k offers a steady 200,000 queries/s in total from
// 64 goroutines (each logs a small burst every millisecond) with the default
// options, for b.N queries, and reports the per-call p50/p99 latency and the
// rate written and fsynced. Unlike BenchmarkLogger_Parallel64, whose
// goroutines log as fast as they can and so outrun any disk (and measure
// the overflow policy), this measures the serving path at a target load.
func BenchmarkLogger_Rate200k(b *testing.B) {
	benchLogger(b, nil, 200_000)
}

// benchLogger logs b.N queries from 64 goroutines through a Logger opened
// with opts and reports the per-call p50/p99 latency and the rate written
// and fsynced (the final Flush is timed). A positive rate is the total
// offered load in queries/s; zero means as fast as the goroutines can.
func benchLogger(b *testing.B, opts *dataset.LoggerOptions, rate int) {
	const G = 64
	l, err := dataset.OpenLogger(filepath.Join(b.TempDir(), "query_logs.jsonl"), opts)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	qs := make([]dataset.Query, 1024)
	for i := range qs {
		qs[i] = genQuery(i)
	}
	per := b.N/G + 1
	lat := make([][]time.Duration, G)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for g := range G {
		wg.Go(func() {
			d := make([]time.Duration, 0, per)
			defer func() { lat[g] = d }()
			// logUpTo logs queries i..due-1 and reports false on an error.
			logUpTo := func(i, due int) bool {
				for ; i < due; i++ {
					t := time.Now()
					err := l.Log(qs[(g*per+i)%len(qs)])
					d = append(d, time.Since(t))
					if err != nil && !errors.Is(err, dataset.ErrQueueFull) {
						b.Error(err)
						return false
					}
				}
				return true
			}
			if rate <= 0 {
				logUpTo(0, per)
				return
			}
			perMS := float64(rate) / G / 1000 // records per goroutine per millisecond
			// Goroutine g ticks at g/G ms past each millisecond, so that
			// the offered load is spread evenly rather than in bursts.
			phase := time.Duration(g) * time.Millisecond / G
			for i, tick := 0, 1; i < per; tick++ {
				due := min(per, int(float64(tick)*perMS))
				if !logUpTo(i, due) {
					return
				}
				i = due
				time.Sleep(time.Until(start.Add(time.Duration(tick)*time.Millisecond + phase)))
			}
		})
	}
	wg.Wait()
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	el := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds()), "p99-ns")
	st := l.Stats()
	b.ReportMetric(float64(st.Written)/el.Seconds(), "written/s")
	b.ReportMetric(float64(st.Dropped), "dropped")
	b.ReportMetric(float64(st.Flushes), "flushes")
}

// makeLog writes n generated queries (plus positive feedback for one in
// three ML queries) through a Logger under root.
func makeLog(tb testing.TB, root string, n int) *dataset.FileStore {
	tb.Helper()
	s, err := dataset.OpenFileStore(root, &dataset.FileStoreOptions{Logger: dataset.LoggerOptions{
		QueueRecords: 1 << 18, FlushRecords: 1 << 16, MaxWait: time.Second, RotateSize: -1, RotateAge: -1}})
	if err != nil {
		tb.Fatal(err)
	}
	l, err := s.Logger()
	if err != nil {
		tb.Fatal(err)
	}
	for i := range n {
		q := genQuery(i)
		if err := l.Log(q); err != nil {
			tb.Fatal(err)
		}
		if q.Method == dataset.MethodML && i%3 == 0 {
			if err := l.Feedback(dataset.Feedback{QueryID: q.QueryID, Timestamp: q.Timestamp, Positive: i%9 != 0}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := l.Flush(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}

// BenchmarkPending_1M counts pending samples on a 1,000,000-query log that
// was never exported (the worst case: every line is scanned).
func BenchmarkPending_1M(b *testing.B) {
	s := makeLog(b, b.TempDir(), 1_000_000)
	defer s.Close()
	fi, _ := os.Stat(queryLog(s))
	b.ReportMetric(float64(fi.Size())/1e6, "log-MB")
	for _, bb := range []struct {
		name string
		fn   func(context.Context) (int, error)
	}{{"Estimate", s.Pending}, {"Exact", s.PendingExact}} {
		b.Run(bb.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				var err error
				if n, err = bb.fn(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "pending")
		})
	}
}

// BenchmarkExport measures Export alone on a fresh 100,000-query log.
func BenchmarkExport(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := makeLog(b, b.TempDir(), 100_000)
		b.StartTimer()
		if _, err := s.Export(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

// TestScale (MOODFOOD_LONG=1) generates a 1,000,000-query log and runs
// Snapshot (export + reads) and Merge over it, reporting time and peak RSS.
// It measures; it asserts only correctness.
func TestScale(t *testing.T) {
	if os.Getenv("MOODFOOD_LONG") == "" {
		t.Skip("set MOODFOOD_LONG=1")
	}
	ctx := context.Background()
	root := t.TempDir()
	var base []dataset.Sample
	for i := range 5000 {
		base = append(base, dataset.Sample{Text: genQuery(i * 13).Text, Labels: []string{intents[i%len(intents)]}})
	}
	writeLines(t, filepath.Join(root, "data", "intent_dataset.jsonl"), func() []any {
		v := make([]any, len(base))
		for i := range base {
			v[i] = base[i]
		}
		return v
	}()...)
	gen := time.Now()
	s := makeLog(t, root, 1_000_000)
	defer s.Close()
	t.Logf("generated 1,000,000 queries in %v", time.Since(gen))
	runtime.GC()
	start := time.Now()
	pend, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tPending := time.Since(start)
	start = time.Now()
	exact, err := s.PendingExact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tExact := time.Since(start)
	start = time.Now()
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tSnap := time.Since(start)
	out, st := dataset.Merge(snap.Base, snap.Old, snap.New, nil)
	tAll := time.Since(start)
	if snap.Export.Scanned != 1_000_000 || len(out) == 0 {
		t.Fatalf("scanned %d merged %d", snap.Export.Scanned, len(out))
	}
	if exact != snap.Export.Exported || pend < exact {
		t.Errorf("Pending %d, PendingExact %d, exported %d", pend, exact, snap.Export.Exported)
	}
	start = time.Now()
	after, err := s.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tAfter := time.Since(start)
	t.Logf("SCALE {\"queries\": 1000000, \"pending_estimate\": %d, \"pending_s\": %.3f, \"pending_exact\": %d, \"pending_exact_s\": %.3f, \"exported\": %d, \"rejected\": %v, \"snapshot_s\": %.2f, \"merge_s\": %.2f, \"export_merge_dedupe_s\": %.2f, \"merged\": %d, \"duplicates\": %d, \"conflicts\": %d, \"pending_after_export\": %d, \"pending_after_export_s\": %.3f, \"peak_rss_mb\": %s}",
		pend, tPending.Seconds(), exact, tExact.Seconds(), snap.Export.Exported, snap.Export.Rejected, tSnap.Seconds(), (tAll - tSnap).Seconds(), tAll.Seconds(), st.Total, st.Duplicates, st.Conflicts, after, tAfter.Seconds(), peakRSS())
}

// peakRSS reads VmHWM from /proc/self/status (Linux), in MB.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "null"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%.0f", float64(kb)/1024)
		}
	}
	return "null"
}
