package pgstore_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
)

// BenchmarkDeployPickup: 3 replicas (Sources on their own pools) watch
// while MOODFOOD_BENCH_DEPLOYS deploys (20 by default; b.N is ignored) are
// made at random instants; it reports the p50 and p99 of the time from the
// deploy's commit to each replica's Current returning it. NOTIFY deploys
// with Deploy (the poll set to an hour, so only NOTIFY can be seen); Poll
// moves the pointer behind the store's back without a NOTIFY, so only the
// default poll (SourceOptions.Poll, 1 s) finds it.
func BenchmarkDeployPickup(b *testing.B) {
	deploys := 20
	if n, err := strconv.Atoi(os.Getenv("MOODFOOD_BENCH_DEPLOYS")); err == nil && n > 0 {
		deploys = n
	}
	ctx := context.Background()
	run := func(b *testing.B, poll time.Duration, deploy func(db *pgstore.DB, v backup.Version) error) {
		db, url := openDB(b, nil)
		ms := db.Models()
		var vs []backup.Version
		for i := range 2 {
			m, err := ms.Put(ctx, backup.Manifest{}, strings.NewReader("model "+strconv.Itoa(i)))
			if err != nil {
				b.Fatal(err)
			}
			vs = append(vs, m.Version)
		}
		if err := ms.Deploy(ctx, vs[1]); err != nil {
			b.Fatal(err)
		}
		var srcs []*pgstore.Source
		for range 3 {
			r, err := pgstore.Dial(ctx, url, &pgstore.Options{Schema: db.Schema()})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			s := r.Source(&pgstore.SourceOptions{Poll: poll})
			defer s.Close()
			srcs = append(srcs, s)
		}
		time.Sleep(300 * time.Millisecond) // the listeners start
		var lat []time.Duration
		for i := range deploys {
			v := vs[i%2]
			time.Sleep(time.Duration(100+(i*7919)%400) * time.Millisecond) // not in step with the poll
			if err := deploy(db, v); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for _, s := range srcs {
				for {
					if cur, err := s.Current(ctx); err == nil && cur == v {
						lat = append(lat, time.Since(start))
						break
					}
					if time.Since(start) > 30*time.Second {
						b.Fatalf("deploy %d of %s not seen in 30 s", i, v)
					}
					time.Sleep(time.Millisecond)
				}
			}
		}
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
		b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1].Microseconds())/1000, "p99_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
	}
	b.Run("NOTIFY", func(b *testing.B) {
		run(b, time.Hour, func(db *pgstore.DB, v backup.Version) error { return db.Models().Deploy(ctx, v) })
	})
	b.Run("Poll", func(b *testing.B) {
		run(b, 0, func(db *pgstore.DB, v backup.Version) error {
			return db.Exec(ctx, "UPDATE model_deployed SET version = $1, deployed_at = now()", string(v))
		})
	})
}

// readCLINCSplit reads a CLINC150 split from the shared data beside the
// module root, skipping the benchmark when it is absent.
func readCLINCSplit(b *testing.B, name string) []model.Example {
	f, err := os.Open(filepath.Join("..", "..", "..", "shared", "data", "clinc150", name))
	if err != nil {
		b.Skipf("CLINC150 not available: %v", err)
	}
	defer f.Close()
	var out []model.Example
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ex model.Example
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			b.Fatal(err)
		}
		out = append(out, ex)
	}
	return out
}

// BenchmarkCLINC150Run: one forced retraining run on CLINC150-sized data,
// PostgreSQL against the file store: 15,000 base samples (train) and 5,000
// queries logged through each store's query log (val and 2,000 of test,
// answered by the LLM), so the run exports, trains, gates, stores and
// deploys. It reports the run's seconds; b.N is ignored.
func BenchmarkCLINC150Run(b *testing.B) {
	ctx := context.Background()
	var base []dataset.Sample
	for _, ex := range readCLINCSplit(b, "train.jsonl") {
		base = append(base, dataset.Sample{Text: ex.Text, Labels: ex.Labels, Source: dataset.SourceSeed})
	}
	var queries []dataset.Query
	for _, ex := range append(readCLINCSplit(b, "val.jsonl"), readCLINCSplit(b, "test.jsonl")[:2000]...) {
		queries = append(queries, dataset.Query{Text: ex.Text, Method: dataset.MethodLLM, LLMLabels: ex.Labels})
	}
	logAllTo := func(b *testing.B, l interface {
		Log(dataset.Query) error
		Flush(context.Context) error
	}) {
		for _, q := range queries {
			for l.Log(q) != nil {
				time.Sleep(time.Millisecond)
			}
		}
		if err := l.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	timeRun := func(b *testing.B, r *retrain.Retrainer) {
		start := time.Now()
		res, err := r.Run(ctx, retrain.RunOptions{Force: true})
		d := time.Since(start)
		if err != nil || !res.Deployed || res.Record.DatasetQuality.NewSamples < len(queries)-10 {
			b.Fatalf("run: %s %s (%d new), %v", res.Outcome, res.Reason, res.Record.DatasetQuality.NewSamples, err)
		}
		b.ReportMetric(d.Seconds(), "run_s")
		for _, s := range res.Record.Durations {
			switch s.Stage {
			default:
				b.ReportMetric(s.Seconds, s.Stage+"_s")
			}
		}
	}
	b.Run("PostgreSQL", func(b *testing.B) {
		db, url := openDB(b, nil)
		ds, _ := db.Dataset(nil)
		if err := ds.SetBase(ctx, base); err != nil {
			b.Fatal(err)
		}
		l := db.QueryLog(nil)
		logAllTo(b, l)
		l.Close()
		b.ResetTimer()
		timeRun(b, openRetrainerWith(b, url, db.Schema(), nil))
	})
	b.Run("File", func(b *testing.B) {
		root := b.TempDir()
		p := filepath.Join(root, "data", "intent_dataset.jsonl")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		var buf []byte
		for _, s := range base {
			line, _ := json.Marshal(s)
			buf = append(append(buf, line...), '\n')
		}
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			b.Fatal(err)
		}
		r, err := retrain.Open(root, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		fs, err := dataset.OpenFileStore(root, nil)
		if err != nil {
			b.Fatal(err)
		}
		l, err := fs.Logger()
		if err != nil {
			b.Fatal(err)
		}
		logAllTo(b, l)
		fs.Close()
		b.ResetTimer()
		timeRun(b, r)
	})
}
