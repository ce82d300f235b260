package model

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
)

// InHoldout reports whether key falls in the held-out share fraction of a
// stable split: the FNV-1a 64-bit hash of key, mixed by the SplitMix64
// finalizer (FNV's high bits alone are poorly spread over short keys) and
// read as a number in [0, 1), is below fraction. The answer for a key never changes as data grows.
func InHoldout(key string, fraction float64) bool {
	if fraction <= 0 {
		return false
	}
	if fraction >= 1 {
		return true
	}
	return holdoutPoint(key) < fraction
}

// holdoutPoint maps key to a number in [0, 1): the FNV-1a 64-bit hash,
// mixed by the SplitMix64 finalizer.
func holdoutPoint(key string) float64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// NormalizeKey is the default split key: text lower-cased, with runs of
// white space collapsed to one space and trimmed.
func NormalizeKey(text string) string {
	return strings.Join(strings.Fields(strings.ToLower(text)), " ")
}

// Split divides data into a training part and a held-out part of about
// fraction of it, by InHoldout(key(text)). key nil means NormalizeKey, so
// duplicates up to case and spacing land on the same side. Order is kept.
func Split(data []Example, fraction float64, key func(string) string) (train, holdout []Example) {
	if key == nil {
		key = NormalizeKey
	}
	for _, ex := range data {
		if InHoldout(key(ex.Text), fraction) {
			holdout = append(holdout, ex)
		} else {
			train = append(train, ex)
		}
	}
	return train, holdout
}

// Fingerprint is the hex SHA-256 of the canonical form of data: one line per
// example, "text" 0x1f "label" 0x1e "label"... with each example's labels
// sorted, lines sorted. It does not depend on the order of examples or of
// labels within an example.
func Fingerprint(data []Example) string {
	lines := make([]string, len(data))
	for i, ex := range data {
		ls := slices.Clone(ex.Labels)
		slices.Sort(ls)
		lines[i] = ex.Text + "\x1f" + strings.Join(ls, "\x1e")
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// SamplePerLabel returns at most n examples of each label set of data (all
// of them when a set has fewer), drawn with the given seed, in data's order:
// a learning-curve sample ("10 examples per intent"). Examples are grouped by
// their sorted labels joined with a comma, so multi-label data is sampled
// per label combination and unlabelled examples form one group. The same
// data, n and seed give the same sample.
func SamplePerLabel(data []Example, n int, seed uint64) []Example {
	groups := map[string][]int{}
	var keys []string
	for i, ex := range data {
		ls := slices.Clone(ex.Labels)
		slices.Sort(ls)
		k := strings.Join(ls, ",")
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.Sort(keys)
	rng := rand.New(rand.NewPCG(seed, 11))
	var keep []int
	for _, k := range keys {
		idx := groups[k]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		keep = append(keep, idx[:min(n, len(idx))]...)
	}
	slices.Sort(keep)
	out := make([]Example, len(keep))
	for i, k := range keep {
		out[i] = data[k]
	}
	return out
}
