package dataset

// Mark is an opaque position in the exported training data. A Snapshot
// carries the Mark up to which it read; committing it after a deploy makes
// every sample before it "not new" any more.
type Mark struct {
	// Offset is the byte offset into data/logs/training_dataset.jsonl up to
	// which samples were read.
	Offset int64 `json:"offset"`
	// Count is the number of samples before Offset.
	Count int `json:"count"`
}

// ExportStats counts what an export looked at and why it rejected what it did.
type ExportStats struct {
	Scanned  int            `json:"scanned"`
	Exported int            `json:"exported"`
	Rejected map[string]int `json:"rejected,omitempty"` // reason -> count
	// Corrupt counts damaged lines skipped in the query log; Lines lists the
	// first few of their line numbers.
	Corrupt int   `json:"corrupt"`
	Lines   []int `json:"corrupt_lines,omitempty"`
	// CorruptAt names the same lines as "file:line" (file base names).
	CorruptAt []string `json:"corrupt_at,omitempty"`
	// LateFeedback counts feedback records whose query was exported by an
	// earlier export (or is not in the log any more); they are ignored.
	LateFeedback int `json:"late_feedback"`
	// Recovered counts samples found beyond the export watermark after a
	// crash between appending samples and saving the watermark; their
	// queries are not exported again.
	Recovered int `json:"recovered"`
}

// Snapshot is the data one retraining run works on.
type Snapshot struct {
	// Base is the curated base dataset (data/intent_dataset.jsonl).
	Base []Sample
	// Old are exported samples already seen by an earlier deployed model;
	// New are the ones exported since the committed Mark.
	Old, New []Sample
	// Golden is the frozen evaluation set; it never enters training.
	Golden []Sample
	// Mark is the position to Commit once a model trained on this snapshot
	// is deployed.
	Mark Mark
	// Export reports the export that ran before the snapshot was read.
	Export ExportStats
	// Corrupt counts damaged lines skipped while reading the sample files
	// (unparsable, no text, or no "labels" list), and CorruptAt names the
	// first of them as "file:line" (file base names; for a JSON array file,
	// the element number).
	Corrupt   int
	CorruptAt []string
	// GoldenExcluded counts samples removed from Base, Old and New because
	// their normalized text is in the golden set.
	GoldenExcluded int
}
