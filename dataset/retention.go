package dataset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"moodfood/internal/atomicfile"
	"moodfood/internal/nofollow"
)

// DefaultSampleRetention is how long exported samples (user text) are kept
// in training_dataset.jsonl unless FileStoreOptions.SampleRetention says
// otherwise.
const DefaultSampleRetention = 365 * 24 * time.Hour

// RetentionStats says what ApplyRetention deleted.
type RetentionStats struct {
	// Segments counts rotated query-log segments deleted (older than
	// LoggerOptions.Retention).
	Segments int `json:"segments"`
	// Samples counts exported samples deleted from training_dataset.jsonl
	// (older than FileStoreOptions.SampleRetention).
	Samples int `json:"samples"`
}

// ApplyRetention deletes the user text the store keeps beyond its
// retention: rotated query-log segments whose last write is older than
// Logger.Retention (30 days; the serving process's Logger does the same as
// it rotates), and exported samples older than SampleRetention (365 days)
// from the start of training_dataset.jsonl (samples are appended in time
// order, so the old ones are a prefix; the file is replaced atomically and
// both watermarks move back by what was removed). A sample without a
// timestamp ends the prefix. It holds the export lock, so it never runs
// during an Export, Snapshot or Commit; a retraining run calls it while it
// holds its run lock, between runs' snapshots and commits.
func (s *FileStore) ApplyRetention(ctx context.Context) (RetentionStats, error) {
	var st RetentionStats
	if err := s.checkOpen(); err != nil {
		return st, err
	}
	l, err := s.lock()
	if err != nil {
		return st, err
	}
	defer l.Unlock()
	now := s.opts.Now()
	lo := s.opts.Logger
	lo.setDefaults()
	var errs []error
	if lo.Retention > 0 {
		n, err := pruneSegments(s.queryLogPath(), now.Add(-lo.Retention))
		st.Segments = n
		errs = append(errs, err)
	}
	if r := s.opts.SampleRetention; r >= 0 {
		if r == 0 {
			r = DefaultSampleRetention
		}
		n, err := s.dropOldSamples(ctx, now.Add(-r))
		st.Samples = n
		errs = append(errs, err)
	}
	return st, errors.Join(errs...)
}

// dropOldSamples removes the samples older than cutoff from the start of
// the training file and moves the watermarks back. The caller holds the
// export lock.
func (s *FileStore) dropOldSamples(ctx context.Context, cutoff time.Time) (int, error) {
	f, err := nofollow.Open(s.trainingPath())
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("dataset: retention: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var cut int64
	n := 0
	var scratch []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) { // a line too long to judge: it ends the prefix
			break
		}
		if err != nil { // EOF or a torn last line: stop before it
			break
		}
		var smp Sample
		if t := bytes.TrimSpace(line); len(t) > 0 {
			if decodeSample(t, &smp, &scratch) != nil || smp.Timestamp.IsZero() || !smp.Timestamp.Before(cutoff) {
				break
			}
			n++
		}
		cut += int64(len(line))
	}
	if cut == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if _, err := f.Seek(cut, io.SeekStart); err != nil {
		return 0, fmt.Errorf("dataset: retention: %w", err)
	}
	err = atomicfile.WriteFile(s.trainingPath(), 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, f)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("dataset: retention: %w", err)
	}
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return n, err
	}
	if cm.Offset > 0 {
		if cm.Offset <= cut {
			cm.Offset, cm.Count = 0, 0
		} else {
			cm.Offset, cm.Count = cm.Offset-cut, max(0, cm.Count-n)
		}
		if err := writeJSON(s.markPath(), cm); err != nil {
			return n, err
		}
	}
	var wm exportWatermark
	if err := readJSON(s.exportState(), &wm); err != nil {
		return n, err
	}
	if wm.TrainingSize > 0 {
		wm.TrainingSize = max(0, wm.TrainingSize-cut)
		if err := writeJSON(s.exportState(), wm); err != nil {
			return n, err
		}
	}
	return n, nil
}
