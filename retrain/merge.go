package retrain

import (
	"moodfood/dataset"
)

// normalizeKey is the split and dedupe key of a text (dataset.Normalize), so
// that duplicates up to case, spacing and edge punctuation land on the same
// side of the split.
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
