package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"moodfood/model"
	"moodfood/retrain/serve"
)

// synthLabels, synthKeywords and synthFillers make the built-in synthetic
// data set: each label has its own keywords, every text mixes one or two of
// them with shared filler words. A seed set of a few examples per label sees
// only some keywords, so the first model is unsure of many queries; as the
// traffic teaches it the rest, the fallback rate falls.
var (
	synthLabels  = []string{"breakfast", "lunch", "dinner", "snack", "dessert", "drink"}
	synthFillers = strings.Fields("i want some please now today maybe really would like to get a the for me my")
)

// synthKeywords returns label's 4 keywords: made-up five-letter words,
// so that a keyword the model has not seen tells it nothing.
func synthKeywords(label string) []string {
	out := make([]string, 4)
	for i := range out {
		var w [5]byte
		for j := range w {
			w[j] = 'a' + byte(hash01(11, label, fmt.Sprint(i, j))*26)
		}
		out[i] = string(w[:])
	}
	return out
}

// synthExamples makes n examples per label for split, deterministically.
func synthExamples(split string, n int) []model.Example {
	var out []model.Example
	for _, l := range synthLabels {
		kw := synthKeywords(l)
		for i := range n {
			key := fmt.Sprint(split, l, i)
			pick := func(tag string, xs []string) string {
				return xs[int(hash01(7, key, tag)*float64(len(xs)))]
			}
			words := []string{pick("f1", synthFillers), pick("k1", kw), pick("f2", synthFillers)}
			if hash01(7, key, "two") < 0.5 {
				words = append(words, pick("k2", kw))
			}
			words = append(words, pick("f3", synthFillers), pick("f4", synthFillers))
			out = append(out, model.Example{Text: strings.Join(words, " "), Labels: []string{l}})
		}
	}
	return out
}

// writeSynth writes the synthetic data set to dir in CLINC150's layout.
func writeSynth(t *testing.T, dir string) {
	t.Helper()
	for split, n := range map[string]int{"train": 60, "val": 15, "test": 20} {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		for _, e := range synthExamples(split, n) {
			if err := enc.Encode(e); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, split+".jsonl"), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRun runs a 3-month simulation through the command's entry point and
// checks its invariants: every month is reported, the fallback rate falls on
// easy data, the JSON has the promised keys, the CSV and the SVG are written
// and well-formed, and the root's history has one line per month.
func TestRun(t *testing.T) {
	const months = 3
	dir := t.TempDir()
	writeSynth(t, dir)
	root := filepath.Join(dir, "root")
	csvPath, svgPath := filepath.Join(dir, "out.csv"), filepath.Join(dir, "out.svg")
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), []string{
		"-data", dir, "-seed-per-label", "4", "-months", fmt.Sprint(months), "-noise", "0.05",
		"-root", root, "-csv", csvPath, "-svg", svgPath, "-json", "-quiet",
		"-train-epochs", "0", // the model's automatic epochs: tiny data needs many
	}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr.String())
	}
	t.Logf("table:\n%s", stderr.String())

	// JSON: one object per month 0..months, with the promised keys.
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatalf("stdout is not a JSON array: %v\n%s", err, stdout.String())
	}
	if len(raw) != months+1 {
		t.Fatalf("got %d months in JSON, want %d", len(raw), months+1)
	}
	for i, m := range raw {
		for _, k := range []string{"month", "accuracy", "fallback_rate", "ml_precision", "llm_calls", "dataset_size", "deployed", "threshold"} {
			if _, ok := m[k]; !ok {
				t.Errorf("month %d: key %q missing", i, k)
			}
		}
	}
	var ms []Month
	if err := json.Unmarshal(stdout.Bytes(), &ms); err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.Month != i {
			t.Errorf("row %d is month %d", i, m.Month)
		}
		if i > 0 && m.Queries == 0 {
			t.Errorf("month %d served no queries", i)
		}
		if i > 0 && m.LLMCalls != m.Queries-m.MLAnswers+m.Corrections {
			t.Errorf("month %d: %d LLM calls, want %d fallbacks + %d corrections", i, m.LLMCalls, m.Queries-m.MLAnswers, m.Corrections)
		}
		// Only a wrong ML answer is corrected.
		if wrong := float64(m.MLAnswers) * (1 - float64(m.MLPrecision)); i > 0 && float64(m.Corrections) > wrong+0.5 {
			t.Errorf("month %d: %d corrections of %.0f wrong ML answers", i, m.Corrections, wrong)
		}
		if i > 0 && m.DatasetSize < ms[i-1].DatasetSize {
			t.Errorf("month %d: dataset shrank from %d to %d", i, ms[i-1].DatasetSize, m.DatasetSize)
		}
	}
	if !ms[0].Deployed {
		t.Errorf("the seed model was not deployed: %s", ms[0].Reason)
	}
	// Every model routes with the threshold it earned: none was given.
	for _, m := range ms {
		if th := float64(m.Threshold); !(th > 0 && th <= 1) || th == serve.DefaultThreshold {
			t.Errorf("month %d: threshold %v, want one the model earned", m.Month, th)
		}
	}
	first, last := float64(ms[1].FallbackRate), float64(ms[months].FallbackRate)
	if !(last < first) {
		t.Errorf("fallback rate did not fall on easy data: month 1 %.3f, month %d %.3f", first, months, last)
	}
	if last > 0 && float64(ms[months].Accuracy) < float64(ms[0].Accuracy) {
		t.Errorf("accuracy fell: %.3f -> %.3f", float64(ms[0].Accuracy), float64(ms[months].Accuracy))
	}

	// CSV: a header and one row per month.
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != months+2 || recs[0][0] != "month" {
		t.Errorf("CSV has %d records (header %v), want %d", len(recs), recs[0], months+2)
	}

	// SVG: well-formed XML with one path per series.
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(svg); err != nil {
		t.Errorf("SVG is not well-formed: %v", err)
	}
	if !bytes.HasPrefix(svg, []byte("<svg")) || bytes.Count(svg, []byte("<path d=\"M")) < len(chartSeries) {
		t.Errorf("SVG lacks its lines:\n%s", svg)
	}

	// History: one line per month (month 0's bootstrap included).
	hf, err := os.Open(filepath.Join(root, "data", "logs", "retrain_history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	lines := 0
	for sc := bufio.NewScanner(hf); sc.Scan(); lines++ {
		var rec struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Status == "" {
			t.Errorf("history line %d: %v %q", lines+1, err, sc.Text())
		}
	}
	if lines != months+1 {
		t.Errorf("history has %d lines, want %d (one per month, month 0 included)", lines, months+1)
	}
}

// TestRunUsage checks the usage errors.
func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{{"-months", "0"}, {"-nope"}, {"stray"}} {
		if code := run(t.Context(), args, io.Discard, io.Discard); code != exitUsage {
			t.Errorf("run(%q) = %d, want %d", args, code, exitUsage)
		}
	}
	if code := run(t.Context(), []string{"-data", t.TempDir()}, io.Discard, io.Discard); code != exitFailed {
		t.Errorf("missing data: exit %d, want %d", code, exitFailed)
	}
}

// TestSplitSeed checks that the seed set has perLabel examples of each
// label, that seed and traffic partition train, and that the split is
// deterministic.
func TestSplitSeed(t *testing.T) {
	train := synthExamples("train", 20)
	s1, tr1 := splitSeed(train, 4, 1)
	s2, tr2 := splitSeed(train, 4, 1)
	if len(s1) != 4*len(synthLabels) || len(s1)+len(tr1) != len(train) {
		t.Fatalf("seed %d + traffic %d, want %d + %d", len(s1), len(tr1), 4*len(synthLabels), len(train)-4*len(synthLabels))
	}
	seen := map[string]bool{}
	for _, e := range append(append([]model.Example{}, s1...), tr1...) {
		if seen[e.Text] {
			t.Errorf("%q twice", e.Text)
		}
		seen[e.Text] = true
	}
	for i := range s1 {
		if s1[i].Text != s2[i].Text {
			t.Fatal("seed set not deterministic")
		}
	}
	for i := range tr1 {
		if tr1[i].Text != tr2[i].Text {
			t.Fatal("traffic order not deterministic")
		}
	}
	if s3, _ := splitSeed(train, 4, 2); s3[0].Text == s1[0].Text && s3[1].Text == s1[1].Text && s3[2].Text == s1[2].Text {
		t.Error("another seed picks the same seed set")
	}
	parts := monthSlices(tr1, 7)
	n := 0
	for _, p := range parts {
		n += len(p)
		if len(p) < len(tr1)/7 || len(p) > len(tr1)/7+1 {
			t.Errorf("uneven month of %d queries", len(p))
		}
	}
	if n != len(tr1) {
		t.Errorf("months hold %d queries, want %d", n, len(tr1))
	}
}

// TestSplitSeed_MultiLabel: with label sets, every label and "no intent"
// get at least perLabel seed examples, and the wrong answers of the teacher
// are other label sets of the corpus.
func TestSplitSeed_MultiLabel(t *testing.T) {
	var train []model.Example
	for i := range 60 {
		labels := [][]string{{"a", "b"}, {"b"}, {}, {"c", "a"}, {"d"}}[i%5]
		train = append(train, model.Example{Text: fmt.Sprint("query ", i), Labels: labels})
	}
	seed, traffic := splitSeed(train, 3, 1)
	count := map[string]int{}
	for _, e := range seed {
		if len(e.Labels) == 0 {
			count["none"]++
		}
		for _, l := range e.Labels {
			count[l]++
		}
	}
	for _, l := range []string{"a", "b", "c", "d", "none"} {
		if count[l] < 3 {
			t.Errorf("label %s has %d seed examples, want at least 3", l, count[l])
		}
	}
	if len(seed)+len(traffic) != len(train) || len(seed) > 15 {
		t.Errorf("seed %d + traffic %d of %d", len(seed), len(traffic), len(train))
	}
	llm := newFakeLLM(Corpus{Train: train}, 1, 1, 0, newSimClock(time.Now()))
	for _, e := range train[:10] {
		got, _, err := llm.Label(t.Context(), e.Text)
		if err != nil {
			t.Fatal(err)
		}
		if setKey(got) == setKey(e.Labels) || !slices.ContainsFunc(llm.sets, func(s []string) bool { return setKey(s) == setKey(got) }) {
			t.Errorf("noise 1: %q answered %q, want another label set of the corpus", e.Text, got)
		}
	}
}

// TestFakeLLM checks the teacher's noise rate, its determinism and that it
// advances the simulated clock.
func TestFakeLLM(t *testing.T) {
	c := Corpus{Train: synthExamples("train", 200)}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newSimClock(start)
	if !clock.Now().Equal(start) {
		t.Fatal("a new clock is not stopped at its start")
	}
	l := newFakeLLM(c, 0.1, 3, time.Second, clock)
	wrong := 0
	for _, e := range c.Train {
		got, conf, err := l.Label(t.Context(), e.Text)
		if err != nil || len(got) != 1 || conf != llmConfidence {
			t.Fatalf("Label(%q) = %v, %v, %v", e.Text, got, conf, err)
		}
		again, _, _ := l.Label(t.Context(), e.Text)
		if again[0] != got[0] {
			t.Fatalf("Label(%q) not deterministic", e.Text)
		}
		if got[0] != e.Labels[0] {
			wrong++
		}
	}
	rate := float64(wrong) / float64(len(c.Train))
	if math.Abs(rate-0.1) > 0.03 {
		t.Errorf("noise rate %.3f, want about 0.1", rate)
	}
	if int(l.wrong.Load()) != 2*wrong {
		t.Errorf("wrong counter %d, want %d", l.wrong.Load(), 2*wrong)
	}
	if d := clock.Now().Sub(start); d < time.Duration(2*len(c.Train))*time.Second {
		t.Errorf("clock advanced %v, want at least %d s", d, 2*len(c.Train))
	}
	if _, _, err := l.Label(t.Context(), "not in the corpus"); err == nil {
		t.Error("unknown text: no error")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, _, err := l.Label(ctx, c.Train[0].Text); err == nil {
		t.Error("canceled context: no error")
	}
}

// TestNumJSON checks that NaN round-trips as null.
func TestNumJSON(t *testing.T) {
	b, err := json.Marshal([]Num{1.5, Num(math.NaN())})
	if err != nil || string(b) != "[1.5,null]" {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back []Num
	if err := json.Unmarshal(b, &back); err != nil || back[0] != 1.5 || !math.IsNaN(float64(back[1])) {
		t.Fatalf("Unmarshal = %v, %v", back, err)
	}
}

// TestPercentile checks the nearest-rank percentile.
func TestPercentile(t *testing.T) {
	for _, tt := range []struct {
		xs   []float64
		p    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{4, 1, 3, 2}, 50, 2},
		{[]float64{5}, 50, 5},
		{[]float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
	} {
		if got := percentile(tt.xs, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.xs, tt.p, got, tt.want)
		}
	}
	if !math.IsNaN(percentile(nil, 50)) {
		t.Error("percentile of nothing is not NaN")
	}
}

// wellFormed reports whether b parses as XML.
func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
