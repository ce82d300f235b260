package jsonl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"moodfood/internal/atomicfile"
	"moodfood/internal/flock"
	"moodfood/internal/nofollow"
)

// AppenderOptions tunes an Appender. The zero value (or nil) is a set of
// defaults.
type AppenderOptions struct {
	// MaxRecord is the largest record accepted, in bytes without the
	// newline. Zero means DefaultMaxRecord.
	MaxRecord int
	// LockPath is the lock file taken around every write; empty means
	// path + ".lock".
	LockPath string
	// Header, if set, is called (under the lock) when the appender finds the
	// file empty, and its result, a single record, is written first.
	Header func() ([]byte, error)
}

// Appender appends records to one JSONL file. It is safe for concurrent use
// by multiple goroutines; writes from several Appenders, in one process or
// many, never interleave (see the package documentation).
type Appender struct {
	mu   sync.Mutex
	path string
	opts AppenderOptions
	f    *os.File
	buf  []byte
	// syncing counts Syncs in progress per descriptor (they run without
	// a.mu, so that writes continue during an fsync); a descriptor retired
	// meanwhile by a rotation is closed when its last Sync ends.
	syncing map[*os.File]int
	retired map[*os.File]bool
}

// closeFile closes f now, or after the Syncs in progress on it; the caller
// holds a.mu.
func (a *Appender) closeFile(f *os.File) error {
	if a.syncing[f] > 0 {
		if a.retired == nil {
			a.retired = map[*os.File]bool{}
		}
		a.retired[f] = true
		return nil
	}
	return f.Close()
}

// OpenAppender opens (creating, 0600, with 0700 parent directories) path for
// appending.
func OpenAppender(path string, opts *AppenderOptions) (*Appender, error) {
	a := &Appender{path: path}
	if opts != nil {
		a.opts = *opts
	}
	if a.opts.MaxRecord <= 0 {
		a.opts.MaxRecord = DefaultMaxRecord
	}
	if a.opts.LockPath == "" {
		a.opts.LockPath = path + ".lock"
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("jsonl: %w", err)
	}
	if err := a.open(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Appender) open() error {
	f, err := nofollow.OpenFile(a.path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	a.f = f
	return nil
}

// Path is the file the Appender writes.
func (a *Appender) Path() string { return a.path }

// MaxRecord is the record size limit in bytes.
func (a *Appender) MaxRecord() int { return a.opts.MaxRecord }

// Append writes records, one line each, in a single locked write. Each record
// must be at most MaxRecord bytes and contain no raw newline; otherwise
// nothing is written and the error matches ErrTooLarge or ErrNewline.
func (a *Appender) Append(records ...[]byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.buf = a.buf[:0]
	for _, r := range records {
		if len(r) > a.opts.MaxRecord {
			return fmt.Errorf("jsonl: %d bytes: %w", len(r), ErrTooLarge)
		}
		if bytes.IndexByte(r, '\n') >= 0 {
			return ErrNewline
		}
		a.buf = append(a.buf, r...)
		a.buf = append(a.buf, '\n')
	}
	return a.writeLocked(a.buf)
}

// WriteBatch writes batch, which must consist of complete newline-terminated
// records already checked by the caller, in a single locked write.
func (a *Appender) WriteBatch(batch []byte) error {
	if len(batch) == 0 {
		return nil
	}
	if batch[len(batch)-1] != '\n' {
		return ErrNewline
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.writeLocked(batch)
}

func (a *Appender) writeLocked(batch []byte) error {
	if a.f == nil {
		return fmt.Errorf("jsonl: %s: %w", a.path, os.ErrClosed)
	}
	l, err := flock.LockWait(a.opts.LockPath)
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	defer l.Unlock()
	return a.writeHeld(batch)
}

// writeHeld writes batch; the caller holds both a.mu and the file lock.
func (a *Appender) writeHeld(batch []byte) error {
	if err := a.reopenIfMoved(); err != nil {
		return err
	}
	fi, err := a.f.Stat()
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	var pre []byte
	if size := fi.Size(); size > 0 {
		var last [1]byte
		_, err := a.f.ReadAt(last[:], size-1)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("jsonl: %w", err)
		}
		if last[0] != '\n' {
			pre = []byte{'\n'}
		}
	} else if a.opts.Header != nil {
		h, err := a.opts.Header()
		if err != nil {
			return fmt.Errorf("jsonl: header: %w", err)
		}
		pre = append(h, '\n')
	}
	if pre != nil {
		// Still one write(2): prefix and batch go together.
		full := make([]byte, 0, len(pre)+len(batch))
		full = append(append(full, pre...), batch...)
		batch = full
	}
	if _, err := a.f.Write(batch); err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}

// reopenIfMoved reopens the path when the open file is no longer the one
// at a.path (renamed away by a rotation in this or another process).
func (a *Appender) reopenIfMoved() error {
	pfi, err := os.Stat(a.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("jsonl: %w", err)
	}
	if err == nil {
		ffi, err := a.f.Stat()
		if err != nil {
			return fmt.Errorf("jsonl: %w", err)
		}
		if os.SameFile(pfi, ffi) {
			return nil
		}
	}
	old := a.f
	if err := a.open(); err != nil {
		a.f = old
		return err
	}
	// The old descriptor's data was written before the rename; make it durable.
	old.Sync()
	a.closeFile(old)
	return nil
}

// Sync fsyncs the file. It does not block Append and WriteBatch: writes
// made while it runs may or may not be covered by it.
func (a *Appender) Sync() error {
	a.mu.Lock()
	f := a.f
	if f == nil {
		a.mu.Unlock()
		return fmt.Errorf("jsonl: %s: %w", a.path, os.ErrClosed)
	}
	if a.syncing == nil {
		a.syncing = map[*os.File]int{}
	}
	a.syncing[f]++
	a.mu.Unlock()
	err := f.Sync()
	a.mu.Lock()
	if a.syncing[f]--; a.syncing[f] == 0 {
		delete(a.syncing, f)
		if a.retired[f] {
			delete(a.retired, f)
			f.Close()
		}
	}
	a.mu.Unlock()
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}

// Rotate renames the file and starts a fresh one at the original path, under
// the lock so that no append from any process is split across the two. It
// first calls choose, under the lock, with the current file's size; choose
// returns the new name for the current file and whether to rotate at all.
// The new name must not exist. Rotate reports whether it rotated.
func (a *Appender) Rotate(choose func(size int64) (newPath string, ok bool)) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return false, fmt.Errorf("jsonl: %s: %w", a.path, os.ErrClosed)
	}
	l, err := flock.LockWait(a.opts.LockPath)
	if err != nil {
		return false, fmt.Errorf("jsonl: %w", err)
	}
	defer l.Unlock()
	if err := a.reopenIfMoved(); err != nil {
		return false, err
	}
	fi, err := a.f.Stat()
	if err != nil {
		return false, fmt.Errorf("jsonl: %w", err)
	}
	newPath, ok := choose(fi.Size())
	if !ok {
		return false, nil
	}
	if err := a.f.Sync(); err != nil {
		return false, fmt.Errorf("jsonl: %w", err)
	}
	if _, err := os.Stat(newPath); err == nil {
		return false, fmt.Errorf("jsonl: rotate: %s: %w", newPath, os.ErrExist)
	}
	if err := os.Rename(a.path, newPath); err != nil {
		return false, fmt.Errorf("jsonl: rotate: %w", err)
	}
	a.closeFile(a.f)
	a.f = nil
	if err := a.open(); err != nil {
		return true, err
	}
	if a.opts.Header != nil {
		if err := a.writeHeld(nil); err != nil {
			return true, err
		}
	}
	if err := atomicfile.SyncDir(filepath.Dir(a.path)); err != nil {
		return true, fmt.Errorf("jsonl: %w", err)
	}
	return true, nil
}

// Close closes the file without syncing it; call Sync first for durability.
// It is safe to call more than once.
func (a *Appender) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.closeFile(a.f)
	a.f = nil
	if err != nil {
		return fmt.Errorf("jsonl: %w", err)
	}
	return nil
}
