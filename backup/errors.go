package backup

import (
	"errors"
	"fmt"
)

// Errors returned by stores. Implementations wrap them so that callers can
// use errors.Is.
var (
	ErrNotFound    = errors.New("backup: version not found")
	ErrCorrupt     = errors.New("backup: checksum mismatch")
	ErrNoCurrent   = errors.New("backup: no model deployed")
	ErrNoPrevious  = errors.New("backup: no previous version")
	ErrInvalidName = errors.New("backup: invalid version name")
	// ErrClosed is returned by a FileStore's methods after Close.
	ErrClosed = errors.New("backup: store closed")
	// ErrOutsideStore is returned when the deployed pointer is a symlink
	// that does not point at a backup inside the store; the store refuses to
	// read through it. The next Deploy replaces such a link (its target is
	// left untouched).
	ErrOutsideStore = errors.New("backup: deployed link points outside the store")
	// ErrUnsupported is returned by OpenFileStore on platforms without
	// flock(2) (Windows): the store relies on it to keep writers in several
	// processes apart. MemStore works everywhere. It matches
	// errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("backup: the file store needs flock(2), which this platform lacks: %w", errors.ErrUnsupported)
)
