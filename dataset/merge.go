package dataset

import (
	"cmp"
	"slices"
)

// MergeOptions tunes Merge. The zero value (or nil) is the default.
type MergeOptions struct {
	// Exclude lists samples (typically the golden set) whose keys must not
	// appear in the result; matching samples are dropped and counted.
	// FileStore.Snapshot already removes golden keys, so callers of a
	// Snapshot need not set it.
	Exclude []Sample
	// MaxConflicts caps MergeStats.ConflictList; zero means 100.
	MaxConflicts int
}

// Conflict is one key seen with different label sets.
type Conflict struct {
	Key     string   `json:"key"`
	Kept    []string `json:"kept"`
	Dropped []string `json:"dropped"`
	// KeptSource and DroppedSource say where each label set came from.
	KeptSource    Source `json:"kept_source"`
	DroppedSource Source `json:"dropped_source"`
}

// MergeStats describes a merge.
type MergeStats struct {
	Total int `json:"total"` // samples in the result
	Base  int `json:"base"`  // base samples kept as they were
	// New is the number of result samples that came from old or new data:
	// Added (new keys) plus Replaced (base examples superseded).
	New      int `json:"new"`
	Added    int `json:"added"`
	Replaced int `json:"replaced"`
	// Duplicates counts input samples removed because another sample with
	// the same key was kept.
	Duplicates int `json:"duplicates"`
	// Excluded counts samples dropped by MergeOptions.Exclude; Empty those
	// whose normalized text is empty.
	Excluded int `json:"excluded"`
	Empty    int `json:"empty"`
	// Conflicts counts same-key, different-label collisions; ConflictList
	// holds the first MergeOptions.MaxConflicts of them.
	Conflicts    int            `json:"conflicts"`
	ConflictList []Conflict     `json:"conflict_list,omitempty"`
	BySource     map[Source]int `json:"by_source"`
	ByLabel      map[string]int `json:"by_label"`
}

// Rank orders sources for Merge: human and seed 4, llm 3, feedback 2,
// model 1, anything else 0.
func Rank(s Source) int {
	switch s {
	case SourceHuman, SourceSeed:
		return 4
	case SourceLLM:
		return 3
	case SourceFeedback:
		return 2
	case SourceModel:
		return 1
	}
	return 0
}

// Merge combines the curated base set with exported samples (old: already
// seen by a deployed model; new: exported since) into one deduplicated
// training set. Rules:
//
//   - Keys are Normalize(Text); samples with an empty key are dropped.
//   - The base set is preserved, in its order; within it the first sample
//     of a key wins. A base sample without Source counts as seed.
//   - Among old and new data, the newest sample of a key wins (Timestamp,
//     then position, new after old).
//   - That winner replaces a base example of the same key only when its
//     source ranks at least as high (see Rank); otherwise it is dropped.
//   - Every collision with different label sets is a conflict, counted and
//     listed, whichever side is kept.
//   - Output order is deterministic: base order, then added samples sorted
//     by (Timestamp, key).
//
// Merge does not modify its inputs.
func Merge(base, old, new []Sample, opts *MergeOptions) ([]Sample, MergeStats) {
	var o MergeOptions
	if opts != nil {
		o = *opts
	}
	if o.MaxConflicts == 0 {
		o.MaxConflicts = 100
	}
	st := MergeStats{BySource: map[Source]int{}, ByLabel: map[string]int{}}
	excl := make(map[string]bool, len(o.Exclude))
	for _, s := range o.Exclude {
		excl[Normalize(s.Text)] = true
	}
	// key returns the merge key of text, or false (counted) when the sample
	// is dropped for an empty key or by Exclude.
	key := func(text string) (string, bool) {
		k := Normalize(text)
		switch {
		case k == "":
			st.Empty++
			return "", false
		case excl[k]:
			st.Excluded++
			return "", false
		}
		return k, true
	}
	conflict := func(k string, kept, dropped Sample) {
		if sameLabels(kept.Labels, dropped.Labels) {
			return
		}
		st.Conflicts++
		if len(st.ConflictList) < o.MaxConflicts {
			st.ConflictList = append(st.ConflictList, Conflict{Key: k,
				Kept: kept.Labels, Dropped: dropped.Labels,
				KeptSource: kept.Source, DroppedSource: dropped.Source})
		}
	}

	out := make([]Sample, 0, len(base))
	baseIdx := make(map[string]int, len(base))
	for _, s := range base {
		k, ok := key(s.Text)
		if !ok {
			continue
		}
		if s.Source == "" {
			s.Source = SourceSeed
		}
		if i, ok := baseIdx[k]; ok {
			st.Duplicates++
			conflict(k, out[i], s)
			continue
		}
		baseIdx[k] = len(out)
		out = append(out, s)
	}

	// cands point into old and new (which Merge does not modify): no
	// Sample is copied until the result is built.
	type cand struct {
		s   *Sample
		key string
	}
	newest := make(map[string]int32, len(old)+len(new))
	cands := make([]cand, 0, len(old)+len(new))
	for _, part := range [][]Sample{old, new} {
		for j := range part {
			s := &part[j]
			k, ok := key(s.Text)
			if !ok {
				continue
			}
			if i, ok := newest[k]; ok {
				st.Duplicates++
				if s.Timestamp.Before(cands[i].s.Timestamp) {
					conflict(k, *cands[i].s, *s)
				} else {
					conflict(k, *s, *cands[i].s)
					cands[i].s = s
				}
				continue
			}
			newest[k] = int32(len(cands))
			cands = append(cands, cand{s, k})
		}
	}

	added := make([]cand, 0, len(cands))
	for _, c := range cands {
		i, ok := baseIdx[c.key]
		if !ok {
			added = append(added, c)
			continue
		}
		st.Duplicates++
		if Rank(c.s.Source) >= Rank(out[i].Source) {
			conflict(c.key, *c.s, out[i])
			out[i] = *c.s
			st.Replaced++
		} else {
			conflict(c.key, out[i], *c.s)
		}
	}
	slices.SortStableFunc(added, func(a, b cand) int {
		if c := a.s.Timestamp.Compare(b.s.Timestamp); c != 0 {
			return c
		}
		return cmp.Compare(a.key, b.key)
	})
	out = slices.Grow(out, len(added))
	for _, c := range added {
		out = append(out, *c.s)
	}
	st.Added = len(added)
	st.New = st.Added + st.Replaced
	st.Total = len(out)
	st.Base = st.Total - st.New
	for _, s := range out {
		st.BySource[s.Source]++
		for _, l := range s.Labels {
			st.ByLabel[l]++
		}
	}
	return out, st
}

// sameLabels compares label sets, ignoring order and repetition.
func sameLabels(a, b []string) bool {
	if slices.Equal(a, b) {
		return true
	}
	return slices.Equal(slices.Compact(slices.Sorted(slices.Values(a))), slices.Compact(slices.Sorted(slices.Values(b))))
}
