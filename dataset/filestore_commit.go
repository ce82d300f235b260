package dataset

import (
	"context"
	"fmt"
	"os"
)

// Commit advances the committed mark to m, after a model trained on the
// snapshot that returned m was deployed. Committing a mark at or before the
// committed one is a no-op; a mark beyond the exported data returns an error
// matching ErrBadMark.
func (s *FileStore) Commit(ctx context.Context, m Mark) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return err
	}
	if m.Offset <= cm.Offset {
		return nil
	}
	fi, err := os.Stat(s.trainingPath())
	if err != nil || m.Offset > fi.Size() {
		return fmt.Errorf("dataset: commit offset %d: %w", m.Offset, ErrBadMark)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeJSON(s.markPath(), committedMark{Mark: m, Committed: s.opts.Now().UTC()})
}
