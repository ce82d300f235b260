package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"moodfood/dataset"
)

// root is the demo root, relative to this package's directory.
const root = "../.."

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func lines(t *testing.T, b []byte) [][]byte {
	t.Helper()
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatal("file is empty or does not end in a newline")
	}
	return bytes.Split(b[:len(b)-1], []byte("\n"))
}

func strict(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func readSamples(t *testing.T, name string) []dataset.Sample {
	t.Helper()
	var out []dataset.Sample
	for i, l := range lines(t, readFile(t, name)) {
		var s dataset.Sample
		if err := strict(l, &s); err != nil {
			t.Fatalf("%s:%d: %v", name, i+1, err)
		}
		out = append(out, s)
	}
	return out
}

func TestSamples(t *testing.T) {
	base := readSamples(t, baseFile)
	golden := readSamples(t, goldenFile)
	if len(base) < 300 || len(base) > 500 {
		t.Errorf("base has %d samples, want 300..500", len(base))
	}
	if len(golden) < 50 || len(golden) > 80 {
		t.Errorf("golden has %d samples, want about 60", len(golden))
	}
	count := map[string]int{}
	keys := []map[string]string{{}, {}}
	nlabels := 0
	check := func(name string, s dataset.Sample, i int) {
		if strings.TrimSpace(s.Text) == "" {
			t.Errorf("%s:%d: empty text", name, i+1)
		}
		if len(s.Labels) < 1 || len(s.Labels) > 4 {
			t.Errorf("%s:%d: %d labels, want 1..4", name, i+1, len(s.Labels))
		}
		dup := map[string]bool{}
		for _, l := range s.Labels {
			if byName[l] == nil {
				t.Errorf("%s:%d: label %q not in the taxonomy", name, i+1, l)
			}
			if dup[l] {
				t.Errorf("%s:%d: label %q twice", name, i+1, l)
			}
			dup[l] = true
		}
		for j, k := range []string{dataset.Normalize(s.Text), normKey(s.Text)} {
			if prev, ok := keys[j][k]; ok {
				t.Errorf("%s:%d: %q duplicates %q", name, i+1, s.Text, prev)
			}
			keys[j][k] = s.Text
		}
	}
	for i, s := range base {
		if s.Source != dataset.SourceSeed {
			t.Errorf("base:%d: source %q", i+1, s.Source)
		}
		check("base", s, i)
		nlabels += len(s.Labels)
		for _, l := range s.Labels {
			count[l]++
		}
	}
	for i, s := range golden {
		check("golden", s, i) // also catches golden texts that are in base
	}
	for _, l := range taxonomy {
		if count[l.Name] < 8 {
			t.Errorf("label %s has %d base examples, want >= 8", l.Name, count[l.Name])
		}
	}
	if avg := float64(nlabels) / float64(len(base)); avg < 2 || avg > 3 {
		t.Errorf("average labels per base query %.2f, want 2..3", avg)
	}
}

// logRecord is a query-log line: a segment header, a query or a feedback.
type logRecord struct {
	Schema int    `json:"schema"`
	Type   string `json:"type"`
}

func TestQueryLog(t *testing.T) {
	base := readSamples(t, baseFile)
	known := map[string]bool{}
	for _, s := range base {
		known[dataset.Normalize(s.Text)] = true
	}
	for _, s := range readSamples(t, goldenFile) {
		known[dataset.Normalize(s.Text)] = true
	}
	var queries []*dataset.Query
	byID := map[string]*dataset.Query{}
	feedback := map[string]*bool{}
	for i, l := range lines(t, readFile(t, logFile)) {
		var rec logRecord
		if err := json.Unmarshal(l, &rec); err != nil {
			t.Fatalf("log:%d: %v", i+1, err)
		}
		if rec.Schema != dataset.Schema {
			t.Errorf("log:%d: schema %d", i+1, rec.Schema)
		}
		switch rec.Type {
		case dataset.TypeSegment:
			if i != 0 {
				t.Errorf("log:%d: segment header not on the first line", i+1)
			}
		case dataset.TypeQuery:
			var q struct {
				logRecord
				dataset.Query
			}
			if err := strict(l, &q); err != nil {
				t.Fatalf("log:%d: %v", i+1, err)
			}
			if byID[q.QueryID] != nil {
				t.Errorf("log:%d: query_id %s twice", i+1, q.QueryID)
			}
			qq := q.Query
			queries = append(queries, &qq)
			byID[q.QueryID] = &qq
			if q.Method != dataset.MethodML && q.Method != dataset.MethodLLM {
				t.Errorf("log:%d: method %q", i+1, q.Method)
			}
			for _, l := range q.LLMLabels {
				if byName[l] == nil {
					t.Errorf("log:%d: llm label %q not in the taxonomy", i+1, l)
				}
			}
			for _, s := range q.AllIntents {
				if byName[s.Intent] == nil {
					t.Errorf("log:%d: intent %q not in the taxonomy", i+1, s.Intent)
				}
			}
			if len(q.AllIntents) == 0 || q.PrimaryIntent != q.AllIntents[0].Intent || q.Confidence != q.AllIntents[0].Score {
				t.Errorf("log:%d: primary intent/confidence do not match all_intents", i+1)
			}
			if !strings.Contains(string(l), `"timestamp":"`+q.Timestamp.UTC().Format(dataset.TimeFormat)+`"`) {
				t.Errorf("log:%d: timestamp not UTC RFC 3339 with microseconds", i+1)
			}
		case dataset.TypeFeedback:
			var f struct {
				logRecord
				dataset.Feedback
			}
			if err := strict(l, &f); err != nil {
				t.Fatalf("log:%d: %v", i+1, err)
			}
			q := byID[f.QueryID]
			if q == nil {
				t.Errorf("log:%d: feedback for unknown or later query %s", i+1, f.QueryID)
			} else if !f.Timestamp.After(q.Timestamp) {
				t.Errorf("log:%d: feedback before its query", i+1)
			}
			feedback[f.QueryID] = &f.Positive
		default:
			t.Errorf("log:%d: unknown record type %q", i+1, rec.Type)
		}
	}
	if len(queries) < 350 || len(queries) > 450 {
		t.Errorf("%d queries in the log, want about 400", len(queries))
	}
	var ml, llm, export, exportNew int
	seen := map[string]bool{}
	for _, q := range queries {
		switch q.Method {
		case dataset.MethodML:
			ml++
		case dataset.MethodLLM:
			llm++
		}
		pos := q.Positive
		if f, ok := feedback[q.QueryID]; ok {
			pos = f
		}
		if exportable(q, pos) {
			export++
			k := dataset.Normalize(q.Text)
			if !known[k] && !seen[k] {
				exportNew++
			}
			seen[k] = true
		}
	}
	t.Logf("queries %d (ml %d, llm %d), exportable %d, new after dedupe %d", len(queries), ml, llm, export, exportNew)
	if exportNew < 100 {
		t.Errorf("only %d new exportable samples, want well over the retrain threshold of 50", exportNew)
	}
}

// TestReproducible checks that the generator reproduces the committed files
// and the README's taxonomy table byte for byte.
func TestReproducible(t *testing.T) {
	files, err := build()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{baseFile, goldenFile, logFile} {
		if got := readFile(t, name); !bytes.Equal(got, files[name]) {
			t.Errorf("%s differs from the generator's output; run go run ./examples/demo/internal/gen", name)
		}
	}
	if !bytes.Contains(readFile(t, "README.md"), files[tableKey]) {
		t.Errorf("README.md does not contain the current taxonomy table (go run ./examples/demo/internal/gen -table)")
	}
}

// TestHandWrittenLabels checks the hand-written lines before they are used.
func TestHandWrittenLabels(t *testing.T) {
	for _, set := range [][]string{handBase, handGolden} {
		es, err := parseHand(set)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			for _, l := range e.Labels {
				if byName[l] == nil {
					t.Errorf("%q: label %q not in the taxonomy", e.Text, l)
				}
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(strings.Join(handBase, "\n")))
	n := 0
	for sc.Scan() {
		n++
	}
	if n < 90 {
		t.Errorf("%d hand-written base queries, want about 100", n)
	}
}

// TestExport runs the dataset package's own export with the default policy
// on a copy of the demo root and checks that it yields well over the
// retrain threshold of 50 new samples.
func TestExport(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{baseFile, goldenFile, logFile} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, readFile(t, name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := dataset.OpenFileStore(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	stats, err := st.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("export: %+v; snapshot: base %d, golden %d, new %d", stats, len(snap.Base), len(snap.Golden), len(snap.New))
	if stats.Corrupt != 0 || snap.Corrupt != 0 {
		t.Errorf("corrupt lines: log %d, samples %d", stats.Corrupt, snap.Corrupt)
	}
	if len(snap.Base) != 400 || len(snap.Golden) != 60 {
		t.Errorf("snapshot has %d base and %d golden samples, want 400 and 60", len(snap.Base), len(snap.Golden))
	}
	if len(snap.New) < 100 {
		t.Errorf("export gave %d new samples, want well over 50", len(snap.New))
	}
}
