package retrain

import (
	"fmt"
	"strings"

	"moodfood/dataset"
)

// maxCorruptShown caps the file:line locations a corrupt-lines warning
// names; the count is always complete.
const maxCorruptShown = 5

// warnCorrupt adds a warning (Record.Warnings and the log) for the damaged
// lines the snapshot skipped: in the sample files (curated, exported, golden)
// and in the query log, with the first locations as file:line.
func (run *run) warnCorrupt(snap *dataset.Snapshot) {
	if snap.Corrupt > 0 {
		run.warn(fmt.Sprintf("%d invalid sample line(s) skipped%s", snap.Corrupt, where(snap.CorruptAt, snap.Corrupt)))
	}
	if n := snap.Export.Corrupt; n > 0 {
		run.warn(fmt.Sprintf("%d damaged query-log line(s) skipped%s", n, where(snap.Export.CorruptAt, n)))
	}
}

// where renders up to maxCorruptShown locations of n: " at a:1, b:2 (and 3
// more)".
func where(at []string, n int) string {
	if len(at) == 0 {
		return ""
	}
	shown := at[:min(len(at), maxCorruptShown)]
	s := " at " + strings.Join(shown, ", ")
	if rest := n - len(shown); rest > 0 {
		s += fmt.Sprintf(" (and %d more)", rest)
	}
	return s
}
