package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"moodfood/model"
)

// Corpus is the labelled data a simulation runs on: Train is split into the
// seed set and the traffic, Val (optional) is the golden set, Test scores
// every model the simulation deploys. Examples may carry any number of
// labels (none means "no intent").
type Corpus struct {
	Train, Val, Test []model.Example
}

// loadCorpus reads dir/{train,val,test}.jsonl, CLINC150's layout: one
// {"text": ..., "labels": [...]} object per line, single- or multi-label.
// val.jsonl is optional.
func loadCorpus(dir string) (Corpus, error) {
	var c Corpus
	var err error
	if c.Train, err = loadJSONL(filepath.Join(dir, "train.jsonl")); err != nil {
		return c, err
	}
	if c.Test, err = loadJSONL(filepath.Join(dir, "test.jsonl")); err != nil {
		return c, err
	}
	c.Val, err = loadJSONL(filepath.Join(dir, "val.jsonl"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return c, err
	}
	return c, nil
}

// loadError is a failure to read a data file, with its path.
type loadError struct {
	Path string
	Err  error
}

func (e *loadError) Error() string { return "load " + e.Path + ": " + e.Err.Error() }
func (e *loadError) Unwrap() error { return e.Err }

// loadJSONL reads one data file. A line that is not valid JSON is an error
// (the data set is an input we control, not a log to be forgiving with).
func loadJSONL(path string) ([]model.Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &loadError{path, err}
	}
	defer f.Close()
	var out []model.Example
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var e model.Example
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, &loadError{path, fmt.Errorf("line %d: %w", n, err)}
		}
		if e.Text == "" {
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, &loadError{path, err}
	}
	if len(out) == 0 {
		return nil, &loadError{path, fmt.Errorf("no examples")}
	}
	return out, nil
}

// labelsOf returns the sorted distinct labels of data.
func labelsOf(data []model.Example) []string {
	seen := map[string]bool{}
	for _, e := range data {
		for _, l := range e.Labels {
			seen[l] = true
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// hash01 maps (seed, parts...) to a number in [0, 1), deterministically and
// independently of call order: every random decision of the simulation
// (seed selection, traffic order, LLM noise, feedback) is a hash of what it is
// about, so changing one knob does not reshuffle the others.
func hash01(seed uint64, parts ...string) float64 {
	h := fnv.New64a()
	var b [8]byte
	for i := range b {
		b[i] = byte(seed >> (8 * i))
	}
	h.Write(b[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	// FNV's low bits mix poorly for short inputs: finish with splitmix64.
	z := h.Sum64() + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// setKey names a label set, whatever its order ("" for no intent).
func setKey(labels []string) string {
	ls := slices.Clone(labels)
	slices.Sort(ls)
	return strings.Join(ls, "\x1f")
}

// splitSeed picks the seed set: going through train in the order of
// hash01(seed, "seed", text), an example joins it while one of its labels
// (or, for a text without labels, "no intent") has fewer than perLabel
// seed examples. For single-label data that is, for each label, the
// perLabel examples with the smallest hash: deterministic, spread over the
// file and independent of its order. The rest is the traffic, in an order
// shuffled by hash01(seed, "order", text) so that every month sees every
// label (CLINC150's files are grouped by label). Both results are new
// slices.
func splitSeed(train []model.Example, perLabel int, seed uint64) (seedSet, traffic []model.Example) {
	type keyed struct {
		e model.Example
		k float64
		i int
	}
	byHash := make([]keyed, len(train))
	for i, e := range train {
		byHash[i] = keyed{e, hash01(seed, "seed", e.Text, fmt.Sprint(i)), i}
	}
	slices.SortFunc(byHash, func(a, b keyed) int { return cmpFloat(a.k, b.k, a.i, b.i) })
	chosen := make([]bool, len(train))
	count := map[string]int{}
	for _, x := range byHash {
		keys := x.e.Labels
		if len(keys) == 0 {
			keys = []string{"\x00none"}
		}
		if slices.ContainsFunc(keys, func(l string) bool { return count[l] < perLabel }) {
			chosen[x.i] = true
			for _, l := range keys {
				count[l]++
			}
		}
	}
	var rest []keyed
	for i, e := range train {
		if chosen[i] {
			seedSet = append(seedSet, e)
		} else {
			rest = append(rest, keyed{e, hash01(seed, "order", e.Text, fmt.Sprint(i)), i})
		}
	}
	slices.SortFunc(rest, func(a, b keyed) int { return cmpFloat(a.k, b.k, a.i, b.i) })
	traffic = make([]model.Example, len(rest))
	for i, x := range rest {
		traffic[i] = x.e
	}
	return seedSet, traffic
}

// cmpFloat orders by a, then by the tie breaker ia.
func cmpFloat(a, b float64, ia, ib int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return ia - ib
}

// monthSlices cuts traffic into months nearly equal consecutive parts (the
// first len%months months get one more query).
func monthSlices(traffic []model.Example, months int) [][]model.Example {
	out := make([][]model.Example, months)
	n := len(traffic)
	start := 0
	for m := range months {
		size := n / months
		if m < n%months {
			size++
		}
		out[m] = traffic[start : start+size]
		start += size
	}
	return out
}

// percentile returns the p-th percentile (0..100) of xs by the
// nearest-rank method, or NaN for no data. xs is sorted in place.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	slices.Sort(xs)
	rank := int(math.Ceil(p / 100 * float64(len(xs))))
	rank = max(1, min(rank, len(xs)))
	return xs[rank-1]
}
