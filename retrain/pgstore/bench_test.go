package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
)

// Benchmarks of the PostgreSQL backend, each with its file-store anchor in
// the same run. See BENCHMARKS.md for the numbers and how to rerun them.

func benchQuery(i int) dataset.Query {
	q := dataset.Query{
		QueryID: fmt.Sprintf("b%09d", i), Timestamp: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond),
		Text:   fmt.Sprintf("something warm and cozy for a rainy dinner number %d", i),
		Method: dataset.MethodML, PrimaryIntent: "goal_comfort", Confidence: 0.8, ModelVersion: "model_backup_20260101_000000_000001",
		// As the serving layer logs them: the ranked intents, a session, the latency.
		AllIntents: []dataset.IntentScore{{Intent: "goal_comfort", Score: 0.8}, {Intent: "meal_dinner", Score: 0.15}, {Intent: "mood_sad", Score: 0.03}},
		SessionID:  fmt.Sprintf("s%08d", i/10), LatencyMS: 3.2,
	}
	if i%10 < 4 {
		q.Method, q.LLMLabels, q.LLMConfidence = dataset.MethodLLM, []string{"goal_comfort", "meal_dinner"}, 0.9
	}
	return q
}

type logger interface {
	Log(dataset.Query) error
	Flush(context.Context) error
	Close() error
}

// benchLog logs b.N queries from 3 loggers (3 processes' worth: own pools or
// own file handles) with 8 goroutines each, as fast as they can, and
// reports the rate written (final flush timed), the drops and the Log p99.
func benchLog(b *testing.B, open func() logger) {
	const writers, per = 3, 8
	ls := make([]logger, writers)
	for i := range ls {
		ls[i] = open()
	}
	n := b.N/(writers*per) + 1
	lat := make([][]time.Duration, writers*per)
	var dropped sync.Map
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range writers {
		for g := range per {
			wg.Go(func() {
				d := make([]time.Duration, 0, n)
				drops := 0
				for i := range n {
					q := benchQuery((w*per+g)*n + i)
					t := time.Now()
					if ls[w].Log(q) != nil {
						drops++
					}
					d = append(d, time.Since(t))
				}
				lat[w*per+g] = d
				dropped.Store(w*per+g, drops)
			})
		}
	}
	wg.Wait()
	for _, l := range ls {
		if err := l.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	for _, l := range ls {
		l.Close()
	}
	var all []time.Duration
	for _, d := range lat {
		all = append(all, d...)
	}
	slices.Sort(all)
	drops := 0
	dropped.Range(func(_, v any) bool { drops += v.(int); return true })
	total := writers * per * n
	b.ReportMetric(float64(total-drops)/el.Seconds(), "written/s")
	b.ReportMetric(float64(drops)/float64(total), "drop_ratio")
	b.ReportMetric(float64(all[len(all)*99/100].Nanoseconds()), "log_p99_ns")
	b.ReportMetric(float64(all[len(all)/2].Nanoseconds()), "log_p50_ns")
}

// BenchmarkQueryLog: PostgreSQL vs the file Logger (anchor).
func BenchmarkQueryLog(b *testing.B) {
	b.Run("PostgreSQL", func(b *testing.B) {
		db, url := openDB(b, nil)
		benchLog(b, func() logger {
			other, err := pgstore.Dial(context.Background(), url, &pgstore.Options{Schema: db.Schema()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { other.Close() })
			return other.QueryLog(&pgstore.QueryLogOptions{QueueRecords: 1 << 18})
		})
	})
	b.Run("File", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "query_logs.jsonl")
		benchLog(b, func() logger {
			l, err := dataset.OpenLogger(path, &dataset.LoggerOptions{Overflow: dataset.OverflowDrop, QueueRecords: 1 << 18})
			if err != nil {
				b.Fatal(err)
			}
			return l
		})
	})
}

func benchN() int {
	if n, err := strconv.Atoi(os.Getenv("MOODFOOD_BENCH_QUERIES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkExportSnapshot: Snapshot (export included) of a log of
// MOODFOOD_BENCH_QUERIES queries (100,000 by default), and Pending before
// it; the file store on the same queries is the anchor.
func BenchmarkExportSnapshot(b *testing.B) {
	n := benchN()
	ctx := context.Background()
	b.Run("PostgreSQL", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			db, _ := openDB(b, nil)
			l := db.QueryLog(&pgstore.QueryLogOptions{QueueRecords: 1 << 20, FlushRecords: 50_000})
			for i := range n {
				for l.Log(benchQuery(i)) != nil {
					time.Sleep(time.Millisecond)
				}
			}
			if err := l.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			l.Close()
			if st := l.Stats(); st.Written != uint64(n) {
				b.Fatalf("%d of %d queries written", st.Written, n)
			}
			ds, _ := db.Dataset(nil)
			b.StartTimer()
			t0 := time.Now()
			if _, err := ds.Pending(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t0).Milliseconds()), "pending_ms")
			t1 := time.Now()
			snap, err := ds.Snapshot(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t1).Milliseconds()), "snapshot_ms")
			b.ReportMetric(float64(len(snap.New)), "exported")
			st, err := retrain.OpenStores(retrain.Stores{Data: ds, Models: db.Models(), Locker: db.Locker(), History: db.History()}, nil)
			if err != nil {
				b.Fatal(err)
			}
			t2 := time.Now()
			if _, err := st.Status(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t2).Milliseconds()), "status_ms")
		}
	})
	b.Run("File", func(b *testing.B) {
		for range b.N {
			b.StopTimer()
			root := b.TempDir()
			fs, err := dataset.OpenFileStore(root, nil)
			if err != nil {
				b.Fatal(err)
			}
			l, _ := fs.Logger()
			for i := range n {
				l.Log(benchQuery(i))
			}
			fs.Close()
			fs, _ = dataset.OpenFileStore(root, nil)
			b.StartTimer()
			t0 := time.Now()
			fs.Pending(ctx)
			b.ReportMetric(float64(time.Since(t0).Milliseconds()), "pending_ms")
			t1 := time.Now()
			snap, err := fs.Snapshot(ctx)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t1).Milliseconds()), "snapshot_ms")
			b.ReportMetric(float64(len(snap.New)), "exported")
			fs.Close()
		}
	})
}

// BenchmarkPutDeploy25MB: Put and Deploy of a 25 MB body; the file store is
// the anchor.
func BenchmarkPutDeploy25MB(b *testing.B) {
	body := make([]byte, 25<<20)
	rand.Read(body)
	ctx := context.Background()
	run := func(b *testing.B, s retrain.ModelStore) {
		for range b.N {
			m, err := s.Put(ctx, backup.Manifest{}, bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Deploy(ctx, m.Version); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("PostgreSQL", func(b *testing.B) {
		db, _ := openDB(b, nil)
		run(b, db.Models())
	})
	b.Run("File", func(b *testing.B) {
		s, err := backup.OpenFileStore(b.TempDir(), nil)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		run(b, s)
	})
}

// Environment of the child processes of BenchmarkQueryLogProcesses.
const (
	benchChildEnv  = "MOODFOOD_PGSTORE_BENCH_CHILD"  // "pg" or "file"
	benchTargetEnv = "MOODFOOD_PGSTORE_BENCH_TARGET" // database URL or log path
	benchSchemaEnv = "MOODFOOD_PGSTORE_BENCH_SCHEMA"
	benchCountEnv  = "MOODFOOD_PGSTORE_BENCH_COUNT" // queries per process
	benchStartEnv  = "MOODFOOD_PGSTORE_BENCH_START" // Unix nanoseconds to start at
	benchFirstEnv  = "MOODFOOD_PGSTORE_BENCH_FIRST" // the first query number
	benchRateEnv   = "MOODFOOD_BENCH_RATE"          // offered queries/s in all (0: as fast as possible)
)

// BenchmarkQueryLogProcesses: 3 processes (this test binary run again)
// log MOODFOOD_BENCH_QUERIES queries in all (100,000 by default; b.N is
// ignored), 8 goroutines each, from one instant, then flush; the rate is
// what all three wrote divided by the time from the start to the last
// flush. With MOODFOOD_BENCH_RATE set the processes offer that many
// queries per second in all, evenly paced (a sustained load: nothing may be
// dropped); without it they log as fast as they can (drops show what the
// writers could not keep up with). Log p99 is the worst of the three
// processes' p99. The file Logger on one file is the anchor.
func BenchmarkQueryLogProcesses(b *testing.B) {
	n := benchN()
	run := func(b *testing.B, kind, target, schema string) {
		for range b.N {
			const procs = 3
			start := time.Now().Add(2 * time.Second)
			outs := make([][]byte, procs)
			errs := make([]error, procs)
			var wg sync.WaitGroup
			for p := range procs {
				cmd := exec.Command(os.Args[0], "-test.run", "^TestQueryLogBenchChild$", "-test.count", "1", "-test.v")
				cmd.Env = append(os.Environ(), benchChildEnv+"="+kind, benchTargetEnv+"="+target, benchSchemaEnv+"="+schema,
					benchCountEnv+"="+strconv.Itoa(n/procs), benchStartEnv+"="+strconv.FormatInt(start.UnixNano(), 10),
					benchFirstEnv+"="+strconv.Itoa(p*(n/procs)), benchRateEnv+"="+os.Getenv(benchRateEnv))
				wg.Go(func() { outs[p], errs[p] = cmd.CombinedOutput() })
			}
			wg.Wait()
			var end time.Time
			var p99, written, dropped float64
			for p := range procs {
				var r benchChildResult
				line := regexp.MustCompile(`BENCHCHILD (\{.*\})`).FindSubmatch(outs[p])
				if errs[p] != nil || line == nil || json.Unmarshal(line[1], &r) != nil {
					b.Fatalf("child %d: %v\n%s", p, errs[p], outs[p])
				}
				if e := time.Unix(0, r.End); e.After(end) {
					end = e
				}
				p99 = max(p99, float64(r.P99))
				written += float64(r.Written)
				dropped += float64(r.Dropped)
			}
			b.ReportMetric(written/end.Sub(start).Seconds(), "written/s")
			b.ReportMetric(dropped/(written+dropped), "drop_ratio")
			b.ReportMetric(p99, "log_p99_ns")
		}
	}
	b.Run("PostgreSQL", func(b *testing.B) {
		db, url := openDB(b, nil)
		run(b, "pg", url, db.Schema())
	})
	b.Run("File", func(b *testing.B) {
		run(b, "file", filepath.Join(b.TempDir(), "query_logs.jsonl"), "")
	})
}

// benchChildResult is what a child of BenchmarkQueryLogProcesses reports.
type benchChildResult struct {
	End              int64 // Unix nanoseconds after the final flush
	P99              int64 // Log p99, ns
	Written, Dropped uint64
}

// TestQueryLogBenchChild is one process of BenchmarkQueryLogProcesses; it
// does nothing on its own.
func TestQueryLogBenchChild(t *testing.T) {
	kind := os.Getenv(benchChildEnv)
	if kind == "" {
		t.Skip("a child of BenchmarkQueryLogProcesses")
	}
	n, _ := strconv.Atoi(os.Getenv(benchCountEnv))
	first, _ := strconv.Atoi(os.Getenv(benchFirstEnv))
	startNs, _ := strconv.ParseInt(os.Getenv(benchStartEnv), 10, 64)
	target := os.Getenv(benchTargetEnv)
	var l logger
	var stats func() dataset.LoggerStats
	switch kind {
	case "pg":
		db, err := pgstore.Dial(context.Background(), target, &pgstore.Options{Schema: os.Getenv(benchSchemaEnv)})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ql := db.QueryLog(nil)
		l, stats = ql, ql.Stats
	default:
		fl, err := dataset.OpenLogger(target, &dataset.LoggerOptions{Overflow: dataset.OverflowDrop})
		if err != nil {
			t.Fatal(err)
		}
		l, stats = fl, fl.Stats
	}
	const per = 8
	rate, _ := strconv.ParseFloat(os.Getenv(benchRateEnv), 64)
	perG := rate / 3 / per // queries/s of one goroutine
	lat := make([][]time.Duration, per)
	start := time.Unix(0, startNs)
	time.Sleep(time.Until(start))
	var wg sync.WaitGroup
	for g := range per {
		wg.Go(func() {
			d := make([]time.Duration, 0, n/per+1)
			k := 0
			for i := g; i < n; i, k = i+per, k+1 {
				if perG > 0 {
					for float64(k) > time.Since(start).Seconds()*perG {
						time.Sleep(time.Millisecond)
					}
				}
				q := benchQuery(first + i)
				t0 := time.Now()
				l.Log(q)
				d = append(d, time.Since(t0))
			}
			lat[g] = d
		})
	}
	wg.Wait()
	if err := l.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	l.Close()
	var all []time.Duration
	for _, d := range lat {
		all = append(all, d...)
	}
	slices.Sort(all)
	st := stats()
	b, _ := json.Marshal(benchChildResult{End: end.UnixNano(), P99: all[len(all)*99/100].Nanoseconds(), Written: st.Written, Dropped: st.Dropped})
	fmt.Printf("BENCHCHILD %s\n", b)
}
