package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"moodfood/internal/flock"
	"moodfood/internal/nofollow"
)

// Preview returns what Snapshot would return now, without writing anything:
// the same Base, Old, New, Golden, Mark, Export stats and counts, where New
// includes the samples the export inside Snapshot would append. It runs the
// read side of that export (the same code as Export and PendingExact: the
// watermark, crash recovery, feedback join, policy and ModelShare cap), then
// reads the training file as the export would leave it: the file's bytes
// followed, in memory, by the lines the export would append (with the
// newline the appender puts first when the file does not end in one). So the
// Mark is the one Snapshot would return, and committing it after a deploy is
// only valid once a Snapshot has actually exported those samples.
//
// Preview creates, writes, renames and truncates nothing under the root,
// and takes no exclusive lock. It takes a shared flock on an existing
// data/logs/export.lock, opened read-only, so that it never reads what an
// Export, Snapshot or Commit is changing; it waits while one holds the lock
// (until ctx is done). If the lock file does not exist (no export has ever
// run in this root) Preview reads without a lock and then checks that the
// lock file is still missing; if it appeared meanwhile it starts over under
// the shared lock. Its cost is that of an Export without the writes plus a
// Snapshot's reading.
func (s *FileStore) Preview(ctx context.Context) (Snapshot, error) {
	if err := s.checkOpen(); err != nil {
		return Snapshot{}, err
	}
	for {
		l, err := s.sharedLock(ctx)
		if err != nil {
			return Snapshot{}, err
		}
		snap, err := s.preview(ctx)
		if l == nil && err == nil {
			if _, serr := os.Stat(s.lockPath()); errors.Is(serr, os.ErrNotExist) {
				return snap, nil
			}
			continue // a first export started meanwhile: read again, locked
		}
		if l != nil {
			l.Close() // closing the descriptor releases the flock
		}
		return snap, err
	}
}

func (s *FileStore) preview(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	var planned []byte
	p, err := s.planExport(ctx, func(smp *Sample) error {
		var err error
		planned, err = appendSampleLine(planned, smp)
		planned = append(planned, '\n')
		return err
	})
	snap.Export = p.st
	if err != nil {
		return snap, err
	}
	file, done, err := s.openTraining()
	if err != nil {
		return snap, err
	}
	defer done()
	size := file.Size()
	if size > 0 && len(planned) > 0 {
		// The appender starts on a new line when the file does not end in one.
		var last [1]byte
		if _, err := file.ReadAt(last[:], size-1); err != nil {
			return snap, fmt.Errorf("dataset: %w", err)
		}
		if last[0] != '\n' {
			planned = append([]byte{'\n'}, planned...)
		}
	}
	training := io.MultiReader(file, bytes.NewReader(planned))
	return snap, s.readSnapshot(ctx, &snap, training, size+int64(len(planned)))
}

// sharedLock takes a shared flock on the export lock file, opened read-only,
// waiting while an exclusive holder has it. It returns nil, and creates
// nothing, when the lock file does not exist.
func (s *FileStore) sharedLock(ctx context.Context) (*os.File, error) {
	f, err := nofollow.Open(s.lockPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: lock: %w", err)
	}
	if err := flock.Wait(ctx, f, false); err != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("dataset: lock: %w", err)
	}
	return f, nil
}
