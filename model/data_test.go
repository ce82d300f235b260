package model

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// dataDir is where the shared public data sets live, relative to this package.
const dataDir = "../../shared/data"

// loadJSONL reads a JSONL file of Examples.
func loadJSONL(tb testing.TB, path string) []Example {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var ex Example
		if err := json.Unmarshal(sc.Bytes(), &ex); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, ex)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// clinc loads a CLINC150 split, skipping the test when the data is absent.
func clinc(tb testing.TB, names ...string) []Example {
	tb.Helper()
	var out []Example
	for _, n := range names {
		p := filepath.Join(dataDir, "clinc150", n+".jsonl")
		if _, err := os.Stat(p); err != nil {
			tb.Skipf("CLINC150 not available at %s", p)
		}
		out = append(out, loadJSONL(tb, p)...)
	}
	return out
}

func statData() (os.FileInfo, error) {
	return os.Stat(filepath.Join(dataDir, "clinc150", "train.jsonl"))
}
