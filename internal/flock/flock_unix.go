//go:build unix

package flock

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Supported reports whether this platform has flock(2). It is true on Linux,
// macOS and the BSDs.
const Supported = true

// Try takes a lock on f without waiting: shared when exclusive is false. It
// returns ErrLocked when another open file description holds a conflicting
// lock. Closing f (its last descriptor) releases the lock.
func Try(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EWOULDBLOCK):
			return ErrLocked
		}
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
}

// Block takes a lock on f like Try, sleeping in the kernel until a
// conflicting holder lets go.
func Block(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EINTR) {
			return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
		}
	}
}

// Release drops the lock held on f without closing it.
func Release(f *os.File) error {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
		return &os.PathError{Op: "flock", Path: f.Name(), Err: err}
	}
	return nil
}

// IsReadOnlyFS reports whether err says the file system is mounted
// read-only (EROFS).
func IsReadOnlyFS(err error) bool { return errors.Is(err, unix.EROFS) }
