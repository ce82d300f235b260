package retrain

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"moodfood/internal/atomicfile"
	"moodfood/internal/flock"
)

// runMarker is written beside the lock file while a run works and removed
// when it ends. Finding one when taking the lock means the previous holder
// died mid-run.
type runMarker struct {
	RunID   string    `json:"retrain_id"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// MarshalJSON writes Started in UTC RFC 3339 with microseconds.
func (m runMarker) MarshalJSON() ([]byte, error) {
	type plain runMarker // without this method
	return json.Marshal(struct {
		Started string `json:"started"`
		plain
	}{formatTime(m.Started), plain(m)})
}

func markerPath(lockPath string) string { return lockPath + ".run" }

// acquire takes the cross-process lock. It returns ErrBusy when another
// process holds it, and the marker of a dead previous run if there is one.
func acquire(lockPath string) (*flock.Lock, *runMarker, error) {
	if err := os.MkdirAll(filepath.Dir(lockPath), 0o700); err != nil {
		return nil, nil, err
	}
	l, err := flock.TryLock(lockPath)
	if errors.Is(err, flock.ErrLocked) {
		return nil, nil, ErrBusy
	}
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(markerPath(lockPath))
	if err != nil {
		return l, nil, nil
	}
	var m runMarker
	if json.Unmarshal(b, &m) != nil {
		m = runMarker{}
	}
	return l, &m, nil
}

func writeMarker(lockPath string, m runMarker) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(markerPath(lockPath), 0o600, append(b, '\n'))
}

func removeMarker(lockPath string) error {
	err := os.Remove(markerPath(lockPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
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

// probeLock reports whether a run holds the lock at path, and its pid,
// without creating or writing anything: it takes a shared lock for an
// instant on an existing file. A missing file means no run.
func probeLock(path string) (pid int, held bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return pid, true, nil
		}
		return 0, false, fmt.Errorf("retrain: lock: %w", err)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return 0, false, nil
}

// sharedLock holds a shared flock on an existing lock file for the length of
// a dry run, so that it reads nothing a real run is changing, without
// writing anything. A missing lock file means no real run has ever started.
type sharedLock struct{ f *os.File }

func takeShared(path string) (*sharedLock, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return &sharedLock{}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, err
	}
	return &sharedLock{f: f}, nil
}

func (s *sharedLock) unlock() {
	if s != nil && s.f != nil {
		s.f.Close() // closing the last descriptor releases the flock
		s.f = nil
	}
}
