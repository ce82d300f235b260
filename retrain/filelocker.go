package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"moodfood/internal/atomicfile"
	"moodfood/internal/flock"
	"moodfood/internal/nofollow"
)

// FileLocker is the Locker of Open: an exclusive flock(2) on a lock file,
// which the kernel frees when its holder dies, and a marker file beside it
// (path + ".run", the Holder as JSON) written while a run works and removed
// by unlock. Finding the marker when taking the lock means the previous
// holder died mid-run: Lock reports it and removes the temp files a dying
// atomic write left in the lock file's directory. Dry runs take a shared
// flock on an existing lock file and write nothing. Local filesystems only
// (NFS is unsupported). A FileLocker is safe for concurrent use; two
// FileLockers on one path exclude each other, in one process or in several.
type FileLocker struct {
	path string

	mu   sync.Mutex
	held map[*flock.Lock]bool
}

// NewFileLocker returns a FileLocker on the lock file at path. It touches no
// disk: the directory and the file are created by the first Lock.
func NewFileLocker(path string) *FileLocker {
	return &FileLocker{path: path, held: map[*flock.Lock]bool{}}
}

var _ Locker = (*FileLocker)(nil)

func (l *FileLocker) markerPath() string { return l.path + ".run" }

// Lock takes the exclusive lock for h. See Locker.
func (l *FileLocker) Lock(ctx context.Context, h Holder) (unlock func() error, dead *Holder, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	dir := filepath.Dir(l.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("retrain: lock: %w", err)
	}
	fl, err := flock.TryLock(l.path)
	if errors.Is(err, flock.ErrLocked) {
		return nil, nil, ErrBusy
	}
	if err != nil {
		return nil, nil, fmt.Errorf("retrain: lock: %w", err)
	}
	if b, err := nofollow.ReadFile(l.markerPath()); err == nil {
		dead = &Holder{}
		if json.Unmarshal(b, dead) != nil {
			*dead = Holder{}
		}
		reapTemps(dir)
	}
	b, err := json.Marshal(h)
	if err == nil {
		err = atomicfile.WriteBytes(l.markerPath(), 0o600, append(b, '\n'))
	}
	if err != nil {
		fl.Unlock()
		return nil, nil, fmt.Errorf("retrain: lock: writing the run marker: %w", err)
	}
	l.mu.Lock()
	l.held[fl] = true
	l.mu.Unlock()
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			l.mu.Lock()
			mine := l.held[fl]
			delete(l.held, fl)
			l.mu.Unlock()
			if !mine { // abandoned by Close
				return
			}
			if err := os.Remove(l.markerPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
				uerr = fmt.Errorf("retrain: unlock: %w", err)
			}
			if err := fl.Unlock(); err != nil && uerr == nil {
				uerr = fmt.Errorf("retrain: unlock: %w", err)
			}
		})
		return uerr
	}, dead, nil
}

// Close releases every lock this FileLocker still holds without removing
// its marker, as the holder's death would: the next Lock reports the run as
// dead. A later unlock of such a lock does nothing.
func (l *FileLocker) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for fl := range l.held {
		errs = append(errs, fl.Unlock())
		delete(l.held, fl)
	}
	return errors.Join(errs...)
}

// reapTemps removes the temp files internal/atomicfile leaves behind when a
// process dies mid-write, in dir.
func reapTemps(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() && atomicfile.IsTemp(e.Name()) {
			if os.Remove(filepath.Join(dir, e.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}

// Holder reports the holder of the lock without creating or writing
// anything: it takes a shared lock for an instant on an existing file (a
// missing file means no run) and reads the marker and the pid the lock file
// holds.
func (l *FileLocker) Holder(ctx context.Context) (h Holder, held bool, err error) {
	if err := ctx.Err(); err != nil {
		return Holder{}, false, err
	}
	f, err := nofollow.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("retrain: lock: %w", err)
	}
	defer f.Close()
	if err := flock.Try(f, false); err != nil {
		if errors.Is(err, flock.ErrLocked) {
			if b, err := nofollow.ReadFile(l.markerPath()); err == nil {
				json.Unmarshal(b, &h)
			}
			if h.PID == 0 {
				b, _ := nofollow.ReadFile(l.path)
				h.PID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			}
			return h, true, nil
		}
		return Holder{}, false, fmt.Errorf("retrain: lock: %w", err)
	}
	flock.Release(f)
	return Holder{}, false, nil
}

// RLock holds a shared flock on an existing lock file until unlock, so that a
// dry run reads nothing a real run is changing, without writing anything. A
// missing lock file means no real run has ever started: nothing is taken.
func (l *FileLocker) RLock(ctx context.Context) (unlock func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := nofollow.Open(l.path)
	if errors.Is(err, os.ErrNotExist) {
		return func() error { return nil }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("retrain: lock: %w", err)
	}
	if err := flock.Try(f, false); err != nil {
		f.Close()
		if errors.Is(err, flock.ErrLocked) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("retrain: lock: %w", err)
	}
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = f.Close() }) // closing the last descriptor releases the flock
		return err
	}, nil
}
