package dataset_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/dataset"
)

func TestLogger(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs", "query_logs.jsonl")
	l, err := dataset.OpenLogger(path, &dataset.LoggerOptions{MaxRecord: 1024, FlushInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("RoundTrip", func(t *testing.T) {
		q := dataset.Query{QueryID: "x", Timestamp: t0, Text: "a\nb\u2028c\"d\\\x01", Method: dataset.MethodML,
			PrimaryIntent: "p", Confidence: 0.5, AllIntents: []dataset.IntentScore{{"p", 0.5}}, Success: ptr(true)}
		if err := l.Log(q); err != nil {
			t.Fatal(err)
		}
		l.Flush(ctx)
		data, _ := os.ReadFile(path)
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		var got dataset.Query
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
			t.Fatal(err)
		}
		if got.Text != q.Text || !got.Timestamp.Equal(t0) || *got.Success != true || got.AllIntents[0] != q.AllIntents[0] {
			t.Fatalf("got %+v", got)
		}
		if !strings.Contains(lines[len(lines)-1], `"timestamp":"2026-03-01T12:00:00.000000Z"`) {
			t.Fatalf("timestamp format: %s", lines[len(lines)-1])
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		if err := l.Log(dataset.Query{Text: strings.Repeat("x", 2000)}); !errors.Is(err, dataset.ErrTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		if err := l.Log(dataset.Query{}); !errors.Is(err, dataset.ErrInvalid) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		l.Log(dataset.Query{Text: "queued before close"})
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if err := l.Log(dataset.Query{Text: "late"}); !errors.Is(err, dataset.ErrClosed) {
			t.Fatalf("err = %v", err)
		}
		if st := l.Stats(); st.Written != 2 || st.TooLarge != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestLogger_Drop(t *testing.T) {
	l, err := dataset.OpenLogger(filepath.Join(t.TempDir(), "q.jsonl"), &dataset.LoggerOptions{
		QueueRecords: 10, FlushRecords: 10, FlushInterval: time.Hour, Overflow: dataset.OverflowDrop})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	drops := 0
	for range 1000 {
		if errors.Is(l.Log(dataset.Query{Text: "hello"}), dataset.ErrQueueFull) {
			drops++
		}
	}
	if st := l.Stats(); st.Dropped != uint64(drops) || st.Logged+st.Dropped != 1000 {
		t.Fatalf("stats %+v, drops %d", st, drops)
	}
}

func TestLogger_RotateAndPrune(t *testing.T) {
	dir := t.TempDir()
	now := t0 // read only by the test; the logger's own clock is fixed
	l, err := dataset.OpenLogger(filepath.Join(dir, "query_logs.jsonl"), &dataset.LoggerOptions{
		RotateSize: 1 << 30, Retention: time.Hour, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i := range 3 {
		l.Log(dataset.Query{Text: "x"})
		l.Flush(context.Background())
		if ok, err := l.Rotate(now, true); !ok || err != nil {
			t.Fatalf("rotate %d: %v %v", i, ok, err)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "query_logs.0*.jsonl"))
	if len(segs) != 3 || filepath.Base(segs[2]) != "query_logs.00000003.jsonl" {
		t.Fatalf("segments %v", segs)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(segs[0], old, old)
	now = time.Now()
	if n, err := l.Prune(now); n != 1 || err != nil {
		t.Fatalf("pruned %d, %v", n, err)
	}
}

func TestSample_EmptyLabels(t *testing.T) {
	b, _ := json.Marshal(dataset.Sample{Text: "x"})
	if !strings.Contains(string(b), `"labels":[]`) {
		t.Fatalf("%s", b)
	}
	var s dataset.Sample
	json.Unmarshal([]byte(`{"text":"x","labels":null}`), &s)
	if s.Labels == nil {
		t.Fatal("nil labels after read")
	}
}

func TestFileStore_Signals(t *testing.T) {
	s := openStore(t, nil)
	var qs []dataset.Query
	for i := range 120 {
		q := llmQuery("", "some text here", "a")
		q.Timestamp = t0.Add(time.Duration(i) * time.Minute)
		q.PrimaryIntent = []string{"a", "b"}[i%2]
		if i%3 == 0 {
			q.Method, q.LLMLabels = dataset.MethodML, nil
		}
		qs = append(qs, q)
	}
	logAll(t, s, qs...)
	w, err := s.Signals(context.Background(), t0.Add(2*time.Hour), time.Hour, 3,
		func(text string) (int, int) { return 1, len(strings.Fields(text)) })
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 3 || w[0].Queries != 0 || w[1].Queries != 60 || w[2].Queries != 60 {
		t.Fatalf("windows %+v", w)
	}
	if w[1].FallbackRate < 0.66 || w[1].FallbackRate > 0.67 || w[1].Agreement != 0.5 || w[1].Intents["a"] != 0.5 || w[1].OOVRate < 0.33 || w[1].OOVRate > 0.34 {
		t.Fatalf("window %+v", w[1])
	}
}
