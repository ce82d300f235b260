// Command gen regenerates the MoodFood demo data in examples/demo/data:
// the base dataset, the frozen golden set and the demo query log.
//
//	go run ./examples/demo/internal/gen            # from the module root
//	go run ./examples/demo/internal/gen -dir DIR   # DIR is the demo root
//	go run ./examples/demo/internal/gen -table     # print the README taxonomy table
//
// The output is deterministic: a fixed seed and a self-contained random
// number generator, so running it again reproduces the committed files byte
// for byte (the test in this directory checks that).
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"moodfood/dataset"
)

// The files gen writes, relative to the demo root.
const (
	baseFile   = "data/intent_dataset.jsonl"
	goldenFile = "data/golden_dataset.jsonl"
	logFile    = "data/logs/query_logs.jsonl"
)

const (
	baseSeed  = 20261101
	logSeed   = 20261102
	baseTotal = 400 // hand-written plus generated base queries
)

func main() {
	dir := flag.String("dir", "examples/demo", "demo root to write data/ into")
	table := flag.Bool("table", false, "print the taxonomy table for README.md and exit")
	flag.Parse()
	files, err := build()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	if *table {
		os.Stdout.Write(files[tableKey])
		return
	}
	for _, name := range []string{baseFile, goldenFile, logFile} {
		p := filepath.Join(*dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("wrote %s (%d bytes)\n", p, len(files[name]))
	}
}

const tableKey = "README table"

// build produces every file's content, keyed by its path under the root.
func build() (map[string][]byte, error) {
	base, golden, err := buildDatasets()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	if files[baseFile], err = encodeSamples(base, dataset.SourceSeed); err != nil {
		return nil, err
	}
	if files[goldenFile], err = encodeSamples(golden, dataset.SourceHuman); err != nil {
		return nil, err
	}
	if files[logFile], err = buildLog(base, golden); err != nil {
		return nil, err
	}
	files[tableKey] = []byte(taxonomyTable(base, golden))
	return files, nil
}

// buildDatasets returns the base dataset (hand-written plus generated
// queries, shuffled) and the golden set.
func buildDatasets() (base, golden []entry, err error) {
	hand, err := parseHand(handBase)
	if err != nil {
		return nil, nil, err
	}
	if golden, err = parseHand(handGolden); err != nil {
		return nil, nil, err
	}
	seen := map[string]bool{}
	for _, e := range golden {
		k := normKey(e.Text)
		if seen[k] {
			return nil, nil, fmt.Errorf("duplicate golden text %q", e.Text)
		}
		seen[k] = true
	}
	r := &rng{s: baseSeed}
	pk := &labelPicker{r: r, count: map[string]int{}}
	for _, e := range hand {
		k := normKey(e.Text)
		if seen[k] {
			return nil, nil, fmt.Errorf("duplicate hand-written text %q", e.Text)
		}
		seen[k] = true
		pk.add(e.Labels)
		base = append(base, e)
	}
	c := &composer{r: r}
	for tries := 0; len(base) < baseTotal; tries++ {
		if tries > 100*baseTotal {
			return nil, nil, fmt.Errorf("cannot generate %d distinct queries", baseTotal)
		}
		ls := pk.pickSet()
		t := c.compose(ls)
		k := normKey(t)
		if seen[k] {
			continue
		}
		seen[k] = true
		pk.add(ls)
		base = append(base, entry{Text: t, Labels: ls})
	}
	for i := len(base) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		base[i], base[j] = base[j], base[i]
	}
	for i := range base {
		base[i].Labels = sortLabels(base[i].Labels)
	}
	for i := range golden {
		golden[i].Labels = sortLabels(golden[i].Labels)
	}
	return base, golden, nil
}

// marshalLine encodes v as one JSON line without HTML escaping.
func marshalLine(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func encodeSamples(es []entry, src dataset.Source) ([]byte, error) {
	var buf bytes.Buffer
	for _, e := range es {
		if err := marshalLine(&buf, dataset.Sample{Text: e.Text, Labels: e.Labels, Source: src}); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// taxonomyTable renders the README table: label, description, number of
// base and golden examples.
func taxonomyTable(base, golden []entry) string {
	nb, ng := map[string]int{}, map[string]int{}
	for _, e := range base {
		for _, l := range e.Labels {
			nb[l]++
		}
	}
	for _, e := range golden {
		for _, l := range e.Labels {
			ng[l]++
		}
	}
	var b bytes.Buffer
	b.WriteString("| label | description | base | golden |\n|---|---|---:|---:|\n")
	for _, l := range taxonomy {
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d |\n", l.Name, l.Desc, nb[l.Name], ng[l.Name])
	}
	return b.String()
}
