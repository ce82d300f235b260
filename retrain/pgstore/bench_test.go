package pgstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
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
			l.Close()
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
