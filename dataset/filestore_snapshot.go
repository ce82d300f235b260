package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"moodfood/internal/jsonl"
	"moodfood/internal/nofollow"
)

// Snapshot exports new good samples from the query log, then reads the base
// set, the exported samples (split at the committed Mark into Old and New)
// and the golden set. Samples whose normalized text is in the golden set are
// removed from Base, Old and New (Snapshot.GoldenExcluded). The returned
// Mark covers every exported sample read; pass it to Commit after a deploy.
// Preview returns the same without exporting.
func (s *FileStore) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	if err := s.checkOpen(); err != nil {
		return snap, err
	}
	l, err := s.lock()
	if err != nil {
		return snap, err
	}
	defer l.Unlock()
	snap.Export, err = s.exportLocked(ctx)
	if err != nil {
		return snap, err
	}
	training, done, err := s.openTraining()
	if err != nil {
		return snap, err
	}
	defer done()
	return snap, s.readSnapshot(ctx, &snap, training, training.Size())
}

// openTraining opens the training file for reading, as it is now (a
// missing file is empty); done closes it.
func (s *FileStore) openTraining() (training *io.SectionReader, done func(), err error) {
	f, err := nofollow.Open(s.trainingPath())
	if errors.Is(err, os.ErrNotExist) {
		return io.NewSectionReader(bytes.NewReader(nil), 0, 0), func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	return io.NewSectionReader(f, 0, fi.Size()), func() { f.Close() }, nil
}

// readSnapshot fills in everything of snap but Export: the committed mark,
// the base set, the exported samples split at the mark, the golden set and
// the golden exclusion. training is the content of the training file and
// size its length; the caller holds the export lock (exclusive or shared).
func (s *FileStore) readSnapshot(ctx context.Context, snap *Snapshot, training io.Reader, size int64) error {
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return err
	}
	if cm.Offset > size {
		cm.Mark = Mark{} // the training file was replaced: everything is new
	}
	st, err := readSamples(s.basePath(), s.opts.MaxRecord, true, func(x Sample, _ int64) {
		snap.Base = append(snap.Base, x)
	})
	if err != nil {
		return err
	}
	snap.addCorrupt(filepath.Base(s.basePath()), st)
	if size > 0 {
		// Presize from the file size (exported samples are ~170 bytes).
		n := int(min(size/160, 1<<24))
		old := int(min(cm.Offset/160, int64(n)))
		snap.Old = make([]Sample, 0, old+16)
		snap.New = make([]Sample, 0, n-old+16)
	}
	st, err = readSamplesFrom(training, filepath.Base(s.trainingPath()), s.opts.MaxRecord, false, func(x Sample, end int64) {
		if end <= cm.Offset {
			snap.Old = append(snap.Old, x)
		} else {
			snap.New = append(snap.New, x)
		}
	})
	if err != nil {
		return err
	}
	snap.addCorrupt(filepath.Base(s.trainingPath()), st)
	snap.Mark = Mark{Offset: st.Offset, Count: len(snap.Old) + len(snap.New)}
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err = readSamples(s.golden, s.opts.MaxRecord, true, func(x Sample, _ int64) {
		snap.Golden = append(snap.Golden, x)
	})
	if err != nil {
		return err
	}
	snap.addCorrupt(filepath.Base(s.golden), st)
	ExcludeGolden(snap)
	return nil
}

// addCorrupt counts the damaged lines of one sample file in snap, naming
// the first ones as file:line.
func (snap *Snapshot) addCorrupt(name string, st jsonl.Stats) {
	snap.Corrupt += st.Bad
	for _, n := range st.BadLines {
		if len(snap.CorruptAt) < jsonl.MaxBadLines {
			snap.CorruptAt = append(snap.CorruptAt, name+":"+strconv.Itoa(n))
		}
	}
}

// ExcludeGolden removes from snap.Base, Old and New every sample whose
// normalized text is in snap.Golden, counting them in snap.GoldenExcluded,
// so that the golden set never enters training. Every DatasetStore applies
// it to its Snapshot.
func ExcludeGolden(snap *Snapshot) {
	if len(snap.Golden) == 0 {
		return
	}
	keys := make(map[string]bool, len(snap.Golden))
	for _, g := range snap.Golden {
		keys[Normalize(g.Text)] = true
	}
	filter := func(in []Sample) []Sample {
		out := in[:0:0]
		for _, x := range in {
			if keys[Normalize(x.Text)] {
				snap.GoldenExcluded++
				continue
			}
			out = append(out, x)
		}
		return out
	}
	snap.Base, snap.Old, snap.New = filter(snap.Base), filter(snap.Old), filter(snap.New)
}
