// Package flock takes advisory locks on files with flock(2). The kernel
// releases a lock when its holder dies, so a crashed process never leaves a
// stale lock behind.
//
// flock(2) exists on Linux, macOS and the BSDs (through golang.org/x/sys/unix).
// Elsewhere (Windows) Supported is false and every call returns an error
// matching ErrUnsupported: the file stores that depend on these locks refuse
// to open there rather than run without cross-process exclusion.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"moodfood/internal/nofollow"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("flock: locked by another process")

// ErrUnsupported is returned on platforms without flock(2). It matches
// errors.ErrUnsupported.
var ErrUnsupported = fmt.Errorf("flock: file locks are not supported on this platform: %w", errors.ErrUnsupported)

// Wait takes a lock on f like Try, polling (1 ms doubling to 20 ms) while
// another holder has a conflicting one, until ctx ends.
func Wait(ctx context.Context, f *os.File, exclusive bool) error {
	delay := time.Millisecond
	for {
		err := Try(f, exclusive)
		if !errors.Is(err, ErrLocked) {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// Lock is a held lock. Unlock releases it.
type Lock struct {
	f *os.File
}

// TryLock takes an exclusive lock on path (created 0600 if missing) without
// waiting. It returns ErrLocked when another holder has it. The holder's pid
// is written into the file for people and status pages to read.
func TryLock(path string) (*Lock, error) {
	f, err := nofollow.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := Try(f, true); err != nil {
		f.Close()
		if errors.Is(err, ErrLocked) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("flock: %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f}, nil
}

// LockWait takes an exclusive lock on path, waiting for the current holder.
func LockWait(path string) (*Lock, error) {
	f, err := nofollow.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := Block(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("flock: %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock. It is safe to call more than once.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := Release(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

// Holder reports the pid of the process holding the lock on path, and
// whether it is held at all. It takes the lock briefly to find out, so it
// never reports a dead holder.
func Holder(path string) (pid int, held bool, err error) {
	l, err := TryLock(path)
	switch {
	case err == nil:
		l.Unlock()
		return 0, false, nil
	case errors.Is(err, ErrLocked):
		b, rerr := nofollow.ReadFile(path)
		if rerr != nil {
			return 0, true, nil
		}
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid, true, nil
	case errors.Is(err, os.ErrNotExist):
		return 0, false, nil
	default:
		return 0, false, err
	}
}
