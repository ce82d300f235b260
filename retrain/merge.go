package retrain

import (
	"moodfood/dataset"
)

// normalizeKey is the dedupe and golden-exclusion key of a text
// (dataset.Normalize). The hold-out split hashes dataset.SplitKey, which
// never changes, so that existing data keeps its side of the split.
func normalizeKey(text string) string { return dataset.Normalize(text) }

// mergeSamples merges base, old and new samples with dataset.Merge, leaving
// out golden samples.
func (r *Retrainer) mergeSamples(snap dataset.Snapshot) ([]dataset.Sample, dataset.MergeStats) {
	var o dataset.MergeOptions
	if r.cfg.Merge != nil {
		o = *r.cfg.Merge
	}
	o.Exclude = append(append([]dataset.Sample(nil), o.Exclude...), snap.Golden...)
	return dataset.Merge(snap.Base, snap.Old, snap.New, &o)
}
