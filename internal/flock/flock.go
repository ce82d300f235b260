// Package flock takes advisory, exclusive, non-blocking locks on files with
// flock(2). The kernel releases a lock when its holder dies, so a crashed
// process never leaves a stale lock behind. Linux and other Unix systems only.
package flock

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("flock: locked by another process")

// Lock is a held lock. Unlock releases it.
type Lock struct {
	f *os.File
}

// TryLock takes an exclusive lock on path (created 0600 if missing) without
// waiting. It returns ErrLocked when another holder has it. The holder's pid
// is written into the file for people and status pages to read.
func TryLock(path string) (*Lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
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
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
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
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
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
		b, rerr := os.ReadFile(path)
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
