package backup

import (
	"context"
	"errors"
	"os"
	"syscall"

	"moodfood/internal/flock"
)

// The store serializes its writers across processes with flock(2) on
// models/.lock (the kernel drops a dead holder's lock). Put holds it shared,
// so puts run in parallel; Deploy, Restore, Prune and the reaper hold it
// exclusive, so the reaper never removes the temp directory of a live Put
// and Prune never removes a version a concurrent Deploy is switching to.
const lockName = ".lock"

// lockStore takes the store lock, polling so that ctx can cancel the wait.
// It returns the unlock function.
func (s *FileStore) lockStore(ctx context.Context, exclusive bool) (func(), error) {
	f, err := s.root.OpenFile(lockName, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flock.Wait(ctx, f, exclusive); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil // closing the fd releases the lock
}

// tryLockExclusive takes the exclusive lock without waiting; ok is false
// when someone else holds the lock.
func (s *FileStore) tryLockExclusive() (unlock func(), ok bool, err error) {
	f, err := s.root.OpenFile(lockName, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := flock.Try(f, true); err != nil {
		f.Close()
		if errors.Is(err, flock.ErrLocked) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() { f.Close() }, true, nil
}
