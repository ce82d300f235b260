package backup

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// The store serializes its writers across processes with flock(2) on
// models/.lock (the kernel drops a dead holder's lock). Put holds it shared,
// so puts run in parallel; Deploy, Restore, Prune and the reaper hold it
// exclusive, so the reaper never removes the temp directory of a live Put
// and Prune never removes a version a concurrent Deploy is switching to.
// internal/flock only offers exclusive locks, hence this variant.
const lockName = ".lock"

// lockStore takes the store lock, polling so that ctx can cancel the wait.
// It returns the unlock function.
func (s *FileStore) lockStore(ctx context.Context, exclusive bool) (func(), error) {
	f, err := s.root.OpenFile(lockName, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	delay := time.Millisecond
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the fd releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// tryLockExclusive takes the exclusive lock without waiting; ok is false
// when someone else holds the lock.
func (s *FileStore) tryLockExclusive() (unlock func(), ok bool, err error) {
	f, err := s.root.OpenFile(lockName, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return func() { f.Close() }, true, nil
}
