package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var fastStrings = []string{"", "plain text", "i'm hungry", "a \"quoted\" \\ back", "tab\there\nnl\r\b\f",
	"<b>&amp;</b>", "ünïcödé ☕ 🍜", "line\u2028sep\u2029", "ctl\x01\x1f\x7f", "bad \xc3\x28 utf8", "  padded  "}

func randSample(r *rand.Rand) Sample {
	x := Sample{Text: fastStrings[r.IntN(len(fastStrings))]}
	for range r.IntN(3) {
		x.Labels = append(x.Labels, fastStrings[r.IntN(len(fastStrings))])
	}
	if r.IntN(2) == 0 {
		x.Source = Source(fastStrings[r.IntN(3)])
	}
	switch r.IntN(4) {
	case 1:
		x.Confidence = r.Float64()
	case 2:
		x.Confidence = r.Float64() * 1e-8
	case 3:
		x.Confidence = -r.Float64() * 1e22
	}
	if r.IntN(3) > 0 {
		x.Timestamp = time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC()
		if r.IntN(3) == 0 {
			x.Timestamp = x.Timestamp.Truncate(time.Second)
		}
	}
	if r.IntN(2) == 0 {
		x.QueryID = "q" + fastStrings[r.IntN(len(fastStrings))]
	}
	return x
}

// TestAppendSample checks the fast sample encoder against json.Marshal and
// the fast decoder against json.Unmarshal.
func TestAppendSample(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var scratch []byte
	for i := range iters(20000) {
		x := randSample(r)
		want, err := json.Marshal(x)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendSample(nil, &x)
		if !ok || string(got) != string(want) {
			t.Fatalf("%d: appendSample\n got %s\nwant %s", i, got, want)
		}
		var a, b Sample
		errA := decodeSample(want, &a, &scratch)
		errB := json.Unmarshal(want, &b)
		if (errA == nil) != (errB == nil) || !reflect.DeepEqual(a, b) {
			t.Fatalf("%d: decodeSample %s\n got %+v %v\nwant %+v %v", i, want, a, errA, b, errB)
		}
	}
}

func randQuery(r *rand.Rand) Query {
	q := Query{QueryID: "q" + fastStrings[r.IntN(len(fastStrings))], Text: fastStrings[r.IntN(len(fastStrings))],
		Timestamp: time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC(), Method: MethodML,
		PrimaryIntent: fastStrings[r.IntN(4)], Confidence: r.Float64(), ModelVersion: "v1", LatencyMS: r.Float64() * 10,
		SessionID: fastStrings[r.IntN(3)]}
	if r.IntN(2) == 0 {
		q.Method = MethodLLM
		for range r.IntN(3) {
			q.LLMLabels = append(q.LLMLabels, fastStrings[r.IntN(len(fastStrings))])
		}
		q.LLMConfidence = r.Float64()
		if r.IntN(3) == 0 {
			q.Corrects = "q" + fastStrings[r.IntN(len(fastStrings))]
		}
	}
	if r.IntN(3) == 0 {
		b := r.IntN(2) == 0
		q.Success = &b
	}
	if r.IntN(3) == 0 {
		b := r.IntN(2) == 0
		q.Positive = &b
	}
	for range r.IntN(3) {
		q.AllIntents = append(q.AllIntents, IntentScore{Intent: fastStrings[r.IntN(4)], Score: r.Float64()})
	}
	return q
}

// checkDecode compares the fast query decoder with decodeRecord on line.
func checkDecode(t *testing.T, line []byte) {
	t.Helper()
	d := queryDecoder{full: true}
	var fast, slow record
	errSlow := decodeRecord(line, &slow)
	var lite record
	liteOK := utf8.Valid(line) && (&queryDecoder{}).decode(line, &lite)
	if !utf8.Valid(line) || !d.decode(line, &fast) {
		if liteOK {
			t.Fatalf("lite decoder accepts what the full one rejects: %q", line)
		}
		return // slow path
	}
	if !liteOK {
		t.Fatalf("lite decoder rejects what the full one accepts: %q", line)
	}
	if errSlow != nil {
		t.Fatalf("fast path accepted a line encoding/json rejects (%v): %q", errSlow, line)
	}
	slow.AllIntents = nil
	if !reflect.DeepEqual(fast, slow) {
		t.Fatalf("decode %q\n got %+v\nwant %+v", line, fast, slow)
	}
}

// TestQueryDecoder checks the fast query decoder against encoding/json on
// Logger lines, json.Marshal lines and mutations of both.
func TestQueryDecoder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	fastHits := 0
	for range iters(5000) {
		q := randQuery(r)
		lines := [][]byte{appendQuery(nil, &q)}
		b, _ := json.Marshal(q)
		lines = append(lines, b)
		f := Feedback{QueryID: q.QueryID, Timestamp: q.Timestamp, Positive: true, Success: q.Success}
		lines = append(lines, appendFeedback(nil, &f))
		for _, l := range lines {
			var d queryDecoder
			var rec record
			if utf8.Valid(l) && d.decode(l, &rec) {
				fastHits++
			}
			checkDecode(t, l)
			for range 8 {
				m := append([]byte(nil), l...)
				switch i := r.IntN(len(m)); r.IntN(4) {
				case 0:
					m[i] = byte(r.IntN(128))
				case 1:
					m = append(m[:i], m[i+1:]...)
				case 2:
					m = append(m[:i], append([]byte(" "), m[i:]...)...)
				case 3:
					m = m[:i]
				}
				checkDecode(t, m)
			}
		}
	}
	if fastHits < iters(5000) {
		t.Errorf("fast path used for only %d lines", fastHits)
	}
	for _, l := range []string{`{}`, `{"schema":1.0}`, `{"Type":"query"}`, `{"text_input":null}`, `{"timestamp":"2026-02-30T00:00:00Z"}`,
		`{"timestamp":"2026-01-01T00:00:00.1234567891Z"}`, `{"schema":1} x`, `{"confidence":1e999}`, `{"llm_labels":[]}`,
		`{"success":tru}`, `{"all_intents":[{"intent":"a","score":1,"x":2}]}`, `{"text_input":"a\u0041"}`, `{"text_input":"a\/b"}`} {
		checkDecode(t, []byte(l))
	}
}

func FuzzQueryDecoder(f *testing.F) {
	q := randQuery(rand.New(rand.NewPCG(5, 6)))
	f.Add(appendQuery(nil, &q))
	f.Add([]byte(`{"schema":1,"type":"feedback","query_id":"x","timestamp":"2026-01-01T00:00:00Z","positive":true}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		checkDecode(t, line)
		var a, b Sample
		var scratch []byte
		if utf8.Valid(line) && decodeSampleFast(line, &a, &scratch) {
			if err := json.Unmarshal(line, &b); err != nil || !reflect.DeepEqual(a, b) {
				t.Fatalf("sample %q: got %+v want %+v (%v)", line, a, b, err)
			}
		}
	})
}

func TestNormalizeFast(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alpha := "aZ 9.,!?'-_\t\n\x01\x7f~$<>"
	for range 100000 {
		var sb strings.Builder
		for range r.IntN(12) {
			sb.WriteByte(alpha[r.IntN(len(alpha))])
		}
		s := sb.String()
		if got, want := Normalize(s), normalizeSlow(s); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
	}
	for _, s := range fastStrings {
		if got, want := Normalize(s), normalizeSlow(s); got != want {
			t.Fatalf("Normalize(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestQuickJudge checks that Pending's byte-level rules never reject a line
// that Judge accepts (the estimate is an upper bound), on Logger lines.
func TestQuickJudge(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, pol := range []ExportPolicy{{}, {ModelShare: 0.2}, {AllowFailure: true, AllowNegative: true, MinLength: 1, MaxLength: 5}} {
		p := pol.withDefaults()
		for range iters(20000) {
			q := randQuery(r)
			if r.IntN(4) == 0 {
				q.Text = strings.Repeat("x ", r.IntN(8))
			}
			if q.Text == "" || q.QueryID == "" {
				continue
			}
			line := appendQuery(nil, &q)
			var rec record
			if decodeRecord(line, &rec) != nil {
				continue
			}
			_, reason := p.judge(&rec.Query)
			got := quickJudge(&p, line)
			if reason == "" && got == quickNone {
				t.Fatalf("quickJudge rejects an accepted query: %s", line)
			}
		}
	}
}

// TestPending_Estimate compares Pending's estimate with the exact count on
// the demo root: the estimate must never be below it.
func TestPending_Estimate(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS("../examples/demo")); err != nil {
		t.Skip(err)
	}
	s, err := OpenFileStore(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	est, err := s.pending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := s.PendingExact(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("estimate %d, exact %d, exported %d", est, exact, st.Exported)
	if exact != st.Exported || est < exact {
		t.Errorf("estimate %d, exact %d, exported %d", est, exact, st.Exported)
	}
}

// iters is n with MOODFOOD_LONG=1, n/5 otherwise (keeps -race runs short).
func iters(n int) int {
	if os.Getenv("MOODFOOD_LONG") != "" {
		return n
	}
	return n / 5
}

// TestScanChunks compares scanChunks with jsonl.Reader on lines of random
// lengths around the buffer and record limits.
func TestScanChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for trial := range 20 {
		maxRec := []int{100, 5000, 600 << 10}[trial%3]
		var data []byte
		for range min(200, (8<<20)/maxRec) {
			n := r.IntN(3 * maxRec / 2)
			if r.IntN(4) == 0 {
				n = r.IntN(50)
			}
			data = append(data, strings.Repeat("x", n)...)
			data = append(data, '\n')
		}
		if trial%2 == 1 {
			data = append(data, "torn"...)
		}
		path := t.TempDir() + "/f"
		os.WriteFile(path, data, 0o600)
		var want []string
		rd := jsonlReaderLines(data, maxRec)
		want = append(want, rd...)
		var got []string
		err := scanChunks(context.Background(), path, 0, maxRec, func(buf []byte, _ int64) error {
			for len(buf) > 0 {
				e := bytes.IndexByte(buf, '\n')
				line, ok := trimLine(buf[:e+1], maxRec)
				buf = buf[e+1:]
				if ok && len(line) > 0 {
					got = append(got, string(line))
				}
			}
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d: %d lines, want %d (%v)", trial, len(got), len(want), err)
		}
	}
}

func jsonlReaderLines(data []byte, maxRec int) []string {
	var out []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasSuffix(l, "\n") {
			break
		}
		l = l[:len(l)-1]
		if len(l) <= maxRec && len(l) > 0 {
			out = append(out, l)
		}
	}
	return out
}

// TestJudgeParallel_Cancel cancels Export's pipeline while it runs and
// checks that it returns the context error and leaves no goroutine behind.
func TestJudgeParallel_Cancel(t *testing.T) {
	s, err := OpenFileStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.Logger()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30000 {
		l.Log(Query{QueryID: "q" + strings.Repeat("x", i%7) + string(rune('a'+i%26)), Text: "some text here",
			Method: MethodLLM, LLMLabels: []string{"a"}})
	}
	l.Flush(context.Background())
	before := runtime.NumGoroutine()
	for _, d := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		_, err := s.Export(ctx)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Export: %v", err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("goroutines: %d before, %d after", before, n)
	}
}

// FuzzAppendString checks that appendString escapes exactly as
// encoding/json does, with and without HTML escaping.
func FuzzAppendString(f *testing.F) {
	for _, s := range fastStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, html := range []bool{false, true} {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(html)
			if err := enc.Encode(s); err != nil {
				t.Fatal(err)
			}
			if got := appendString(nil, s, html); !bytes.Equal(got, bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
				t.Fatalf("appendString(%q, html=%v) = %s, want %s", s, html, got, want.Bytes())
			}
		}
	})
}
