package retrain_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"moodfood/retrain"
	"moodfood/retrain/retraintest"
)

func TestFileLocker(t *testing.T) {
	retraintest.TestLocker(t, func(t *testing.T) func() retrain.Locker {
		path := filepath.Join(t.TempDir(), "logs", "retrain.lock")
		return func() retrain.Locker { return retrain.NewFileLocker(path) }
	})
}

func TestMemLocker(t *testing.T) {
	retraintest.TestLocker(t, func(t *testing.T) func() retrain.Locker {
		s := &memLockState{}
		return func() retrain.Locker { return &memLocker{s: s} }
	})
}

// memLockState is one lock shared by memLocker handles, as a lock file is
// shared by processes: the in-memory fake a service's tests can use.
type memLockState struct {
	mu      sync.Mutex
	holder  *retrain.Holder
	owner   *memLocker
	readers int
	marker  *retrain.Holder // set while held; left behind by Close
}

type memLocker struct{ s *memLockState }

func (l *memLocker) Lock(ctx context.Context, h retrain.Holder) (func() error, *retrain.Holder, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder != nil || s.readers > 0 {
		return nil, nil, retrain.ErrBusy
	}
	dead := s.marker
	s.holder, s.owner, s.marker = &h, l, &h
	var once sync.Once
	mine := s.holder
	return func() error {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.holder == mine {
				s.holder, s.owner, s.marker = nil, nil, nil
			}
		})
		return nil
	}, dead, nil
}

func (l *memLocker) RLock(ctx context.Context) (func() error, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder != nil {
		return nil, retrain.ErrBusy
	}
	s.readers++
	var once sync.Once
	return func() error {
		once.Do(func() { s.mu.Lock(); s.readers--; s.mu.Unlock() })
		return nil
	}, nil
}

func (l *memLocker) Holder(ctx context.Context) (retrain.Holder, bool, error) {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder == nil {
		return retrain.Holder{}, false, nil
	}
	return *s.holder, true, nil
}

// Close drops this handle's lock without clearing the marker, as its
// process dying would.
func (l *memLocker) Close() error {
	s := l.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == l {
		s.holder, s.owner = nil, nil
	}
	return nil
}
