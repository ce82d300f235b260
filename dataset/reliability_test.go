package dataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"moodfood/dataset"
	"moodfood/internal/jsonl"
)

func queryLog(s *dataset.FileStore) string {
	return filepath.Join(s.Root(), "data", "logs", "query_logs.jsonl")
}

func trainingIDs(t testing.TB, s *dataset.FileStore) map[string]int {
	t.Helper()
	ids := map[string]int{}
	f, err := os.Open(filepath.Join(s.Root(), "data", "logs", "training_dataset.jsonl"))
	if err != nil {
		return ids
	}
	defer f.Close()
	jsonl.Read(f, 0, func(line []byte, _ int) error {
		var x dataset.Sample
		if json.Unmarshal(line, &x) != nil {
			return jsonl.ErrSkip
		}
		ids[x.QueryID]++
		return nil
	})
	return ids
}

// TestExport_Damage appends damaged lines to the query log between good
// records; Export must skip and count each, and never export it.
func TestExport_Damage(t *testing.T) {
	good, _ := json.Marshal(llmQuery("good-1", "fine text here", "goal_comfort"))
	flipped := bytes.Replace(append([]byte(nil), good...), []byte(`"text_input"`), []byte(`"text_input"x`), 1)
	tests := []struct {
		name   string
		damage []byte
	}{
		{"FlippedByte", flipped},
		{"Garbage", []byte("garbage line ~~~")},
		{"NULBlock", bytes.Repeat([]byte{0}, 4096)},
		{"InvalidUTF8", []byte("{\"schema\":1,\"type\":\"query\",\"query_id\":\"bad\",\"classification_method\":\"llm\",\"llm_labels\":[\"a\"],\"text_input\":\"ok \xc3\x28 text\"}")},
		{"WrongShape", []byte(`{"schema":1,"type":"query","query_id":"shape","text_input":42,"llm_labels":"x"}`)},
		{"Array", []byte(`[1,2,3]`)},
		{"MissingText", []byte(`{"schema":1,"type":"query","query_id":"notext","classification_method":"llm","llm_labels":["a"]}`)},
		{"TooLong", []byte(`{"schema":1,"type":"query","query_id":"long","classification_method":"llm","llm_labels":["a"],"text_input":"` + strings.Repeat("x", 2<<20) + `"}`)},
	}
	runs, bad := 0, 0
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runs++
			s := openStore(t, nil)
			logAll(t, s, llmQuery("a", "before the damage", "goal_comfort"))
			f, _ := os.OpenFile(queryLog(s), os.O_WRONLY|os.O_APPEND, 0)
			f.Write(append(tt.damage, '\n'))
			f.Close()
			logAll(t, s, llmQuery("b", "after the damage", "goal_comfort"))
			st, err := s.Export(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			ids := trainingIDs(t, s)
			if st.Corrupt != 1 || len(st.Lines) != 1 || st.Lines[0] != 3 || ids["a"] != 1 || ids["b"] != 1 || len(ids) != 2 {
				bad++
				t.Errorf("corrupt %d lines %v exported %v", st.Corrupt, st.Lines, ids)
			}
		})
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d}", t.Name(), runs, bad)
}

// TestExport_TornTail tears the query log inside each of its last three
// records: Export must export exactly the complete ones, and after the
// logger appends again, the rest, once.
func TestExport_TornTail(t *testing.T) {
	s0 := openStore(t, nil)
	var qs []dataset.Query
	for i := range 5 {
		qs = append(qs, dataset.Query{QueryID: fmt.Sprint("q", i), Timestamp: t0, Method: dataset.MethodLLM,
			LLMLabels: []string{"a"}, Text: fmt.Sprintf("t\u2028\"%d\"\n", i)})
	}
	logAll(t, s0, qs...)
	s0.Close()
	full, _ := os.ReadFile(queryLog(s0))
	var ends []int
	for i, c := range full {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	runs, bad := 0, 0
	for cut := ends[len(ends)-4]; cut < len(full); cut++ {
		runs++
		s, err := dataset.OpenFileStore(t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(queryLog(s), full[:cut], 0o600)
		complete := 0
		for _, e := range ends[1:] { // ends[0] is the segment header
			if e <= cut {
				complete++
			}
		}
		s.Export(context.Background())
		if ids := trainingIDs(t, s); len(ids) != complete {
			bad++
			t.Errorf("cut %d: exported %d, want %d", cut, len(ids), complete)
		}
		logAll(t, s, llmQuery("after", "after the tear", "goal_comfort"))
		s.Export(context.Background())
		ids := trainingIDs(t, s)
		for id, n := range ids {
			if n != 1 {
				bad++
				t.Errorf("cut %d: %s exported %d times", cut, id, n)
			}
		}
		if ids["after"] != 1 {
			bad++
			t.Errorf("cut %d: append after tear not exported", cut)
		}
		s.Close()
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d}", t.Name(), runs, bad)
}

// TestExport_CrashBetweenAppendAndWatermark simulates a crash after the
// samples were appended but before the watermark was saved: the next export
// must not duplicate them.
func TestExport_CrashBetweenAppendAndWatermark(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, nil)
	state := filepath.Join(s.Root(), "data", "logs", "export_state.json")
	runs, bad := 0, 0
	for round := range 5 {
		var qs []dataset.Query
		for i := range 20 {
			qs = append(qs, llmQuery(fmt.Sprint("r", round, "-", i), fmt.Sprint("round ", round, " text ", i), "goal_comfort"))
		}
		logAll(t, s, qs...)
		before, _ := os.ReadFile(state)
		if _, err := s.Export(ctx); err != nil {
			t.Fatal(err)
		}
		if before != nil {
			os.WriteFile(state, before, 0o600) // the "crash": watermark not advanced
		} else {
			os.Remove(state)
		}
		st, err := s.Export(ctx)
		if err != nil {
			t.Fatal(err)
		}
		runs++
		if st.Recovered != 20 || st.Exported != 0 {
			bad++
			t.Errorf("round %d: recovered %d exported %d", round, st.Recovered, st.Exported)
		}
	}
	for id, n := range trainingIDs(t, s) {
		if n != 1 {
			bad++
			t.Errorf("%s exported %d times", id, n)
		}
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d}", t.Name(), runs, bad)
}

// TestLogger_Concurrent has 64 goroutines log 1,000 queries each (texts with
// newlines, U+2028 and quotes) while exports and forced rotations run; every
// record must be read back exactly once, and exported exactly once.
func TestLogger_Concurrent(t *testing.T) {
	const G, N = 64, 1000
	ctx := context.Background()
	s := openStore(t, &dataset.FileStoreOptions{Logger: dataset.LoggerOptions{
		// Log may wait for room this long: the test is about losing and
		// mixing nothing, and under -race on a loaded machine a full queue
		// can take longer than a second to drain.
		FlushInterval: 5 * time.Millisecond, QueueRecords: 4096, MaxWait: time.Minute}})
	l, err := s.Logger()
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var bg sync.WaitGroup
	var exportErr error
	bg.Add(1)
	go func() {
		defer bg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Export(ctx); err != nil {
				exportErr = err
				return
			}
			if _, err := l.Rotate(time.Now(), true); err != nil {
				exportErr = err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var wg sync.WaitGroup
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range N {
				q := llmQuery(fmt.Sprintf("g%d-%d", g, i), fmt.Sprintf("line\none \u2028 \"quoted\" %d/%d", g, i), "goal_comfort")
				if err := l.Log(q); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	if exportErr != nil {
		t.Fatal(exportErr)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Export(ctx); err != nil {
		t.Fatal(err)
	}
	// Read every segment back.
	seen := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(s.Root(), "data", "logs", "query_logs*.jsonl"))
	bad := 0
	for _, p := range files {
		f, _ := os.Open(p)
		st, _ := jsonl.Read(f, 0, func(line []byte, _ int) error {
			var q dataset.Query
			if err := json.Unmarshal(line, &q); err != nil {
				return jsonl.ErrSkip
			}
			if q.QueryID != "" {
				var g, i int
				fmt.Sscanf(q.QueryID, "g%d-%d", &g, &i)
				if q.Text != fmt.Sprintf("line\none \u2028 \"quoted\" %d/%d", g, i) {
					bad++
				}
				seen[q.QueryID]++
			}
			return nil
		})
		f.Close()
		bad += st.Bad
	}
	exported := trainingIDs(t, s)
	for g := range G {
		for i := range N {
			id := fmt.Sprintf("g%d-%d", g, i)
			if seen[id] != 1 || exported[id] != 1 {
				bad++
			}
		}
	}
	ls := l.Stats()
	if bad != 0 || ls.Dropped != 0 || ls.Written != G*N {
		t.Errorf("bad %d, stats %+v, distinct %d, exported %d", bad, ls, len(seen), len(exported))
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d, \"segments\": %d, \"rotations\": %d}", t.Name(), G*N, bad, len(files), ls.Rotations)
}
