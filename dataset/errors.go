package dataset

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap them (match with
// errors.Is) and carry the "dataset: " prefix.
var (
	// ErrClosed is returned by a Logger or FileStore after Close.
	ErrClosed = errors.New("dataset: closed")
	// ErrQueueFull is returned by Logger.Log when the queue is full and the
	// overflow policy dropped the record (or the wait deadline passed).
	ErrQueueFull = errors.New("dataset: log queue full, record dropped")
	// ErrTooLarge is returned when a record exceeds the maximum record size.
	ErrTooLarge = errors.New("dataset: record too large")
	// ErrInvalid is returned for a record that cannot be logged (empty text).
	ErrInvalid = errors.New("dataset: invalid record")
	// ErrBadMark is returned by Commit for a mark beyond the exported data.
	ErrBadMark = errors.New("dataset: mark beyond exported data")
	// ErrUnsupported is returned by OpenFileStore and OpenLogger on
	// platforms without flock(2) (Windows): the files are shared between
	// processes under those locks. Records, Normalize/Merge/Dedupe and
	// MemStore work everywhere. It matches errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("dataset: the file store needs flock(2), which this platform lacks: %w", errors.ErrUnsupported)
)
