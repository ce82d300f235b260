package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"
)

// MemStore is an in-memory model store with the FileStore's semantics
// (version names, checksums, ordering), for tests and examples. It must not
// be used where models have to survive the process. It is safe for
// concurrent use by multiple goroutines.
type MemStore struct {
	now func() time.Time

	mu       sync.Mutex
	versions map[Version]memVersion
	current  Version
}

type memVersion struct {
	m    Manifest
	body []byte
}

// NewMemStore returns an empty MemStore using time.Now as its clock.
func NewMemStore() *MemStore {
	return &MemStore{now: time.Now, versions: make(map[Version]memVersion)}
}

// Put reads body and stores it as a new version, filling m.Version,
// m.Created, m.Files (and m.Replaces when empty). A failed or canceled Put
// stores nothing.
func (s *MemStore) Put(ctx context.Context, m Manifest, body io.Reader) (Manifest, error) {
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("backup: put: %w", err)
	}
	data, err := io.ReadAll(ctxReader{ctx, body})
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("backup: put: %w", err)
	}
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	seq := 1
	stamp := now.UTC().Format(stampLayout)
	for v := range s.versions {
		if q := versionSeq(string(v), stamp); q >= seq {
			seq = q + 1
		}
	}
	if m.Replaces == "" {
		m.Replaces = s.current
	}
	m.Version, m.Created = versionName(now, seq), now.UTC().Truncate(time.Microsecond)
	m.Files = []FileSum{{Name: bodyName, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}}
	s.versions[m.Version] = memVersion{m: cloneManifest(m), body: data}
	return cloneManifest(m), nil
}

func cloneManifest(m Manifest) Manifest {
	m.Files = append([]FileSum(nil), m.Files...)
	if m.Metrics != nil {
		mm := make(map[string]float64, len(m.Metrics))
		for k, v := range m.Metrics {
			mm[k] = v
		}
		m.Metrics = mm
	}
	m.TrainerConfig = append([]byte(nil), m.TrainerConfig...)
	return m
}

// get returns v's record after checking its checksum.
func (s *MemStore) get(v Version) (memVersion, error) {
	if err := v.Validate(); err != nil {
		return memVersion{}, err
	}
	s.mu.Lock()
	mv, ok := s.versions[v]
	s.mu.Unlock()
	if !ok {
		return memVersion{}, fmt.Errorf("%w: %s", ErrNotFound, v)
	}
	if err := mv.check(); err != nil {
		return memVersion{}, err
	}
	return mv, nil
}

// check verifies mv's body against its checksum.
func (mv memVersion) check() error {
	sum := sha256.Sum256(mv.body)
	if want := mv.m.Files[0].SHA256; hex.EncodeToString(sum[:]) != want {
		return fmt.Errorf("%w: %s: %s", ErrCorrupt, mv.m.Version, bodyName)
	}
	return nil
}

// Open returns v's manifest and body after checking the body's checksum.
// Errors wrap ErrInvalidName, ErrNotFound or ErrCorrupt.
func (s *MemStore) Open(ctx context.Context, v Version) (Manifest, io.ReadCloser, error) {
	mv, err := s.get(v)
	if err != nil {
		return Manifest{}, nil, err
	}
	return cloneManifest(mv.m), io.NopCloser(bytes.NewReader(mv.body)), nil
}

// Verify checks v's checksum.
func (s *MemStore) Verify(ctx context.Context, v Version) error {
	_, err := s.get(v)
	return err
}

// List returns every version, newest first.
func (s *MemStore) List(ctx context.Context) ([]Manifest, error) {
	s.mu.Lock()
	out := make([]Manifest, 0, len(s.versions))
	for _, mv := range s.versions {
		out = append(out, cloneManifest(mv.m))
	}
	s.mu.Unlock()
	sortNewestFirst(out)
	return out, nil
}

// Deploy makes v the current version after checking its checksum.
func (s *MemStore) Deploy(ctx context.Context, v Version) error {
	if _, err := s.get(v); err != nil {
		return fmt.Errorf("backup: deploy %s: %w", v, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("backup: deploy %s: %w", v, err)
	}
	s.mu.Lock()
	s.current = v
	s.mu.Unlock()
	return nil
}

// Current returns the deployed version, or ErrNoCurrent.
func (s *MemStore) Current(ctx context.Context) (Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current == "" {
		return "", ErrNoCurrent
	}
	return s.current, nil
}

// Prune removes the versions SelectPinned drops under p (never the
// deployed one, the rollback target or one of p.Keep) and returns them.
// As in FileStore, the rollback target pinned is the newest version older
// than the deployed one whose checksum matches (the unverified one if none
// does).
func (s *MemStore) Prune(ctx context.Context, p Policy) ([]Version, error) {
	ms, _ := s.List(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	rollback := RollbackTarget(ms, s.current)
	if s.current != "" {
		for _, v := range olderThan(ms, s.current) {
			if mv, ok := s.versions[v]; ok && mv.check() == nil {
				rollback = v
				break
			}
		}
	}
	_, drop := SelectPinned(ms, s.current, rollback, s.now(), p)
	var removed []Version
	for _, m := range drop {
		if _, ok := s.versions[m.Version]; ok && m.Version != s.current {
			delete(s.versions, m.Version)
			removed = append(removed, m.Version)
		}
	}
	return removed, nil
}

// Corrupt flips one byte of v's stored body, so that tests (the
// retraintest suite among them) can check that corruption is detected.
func (s *MemStore) Corrupt(ctx context.Context, v Version) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	mv, ok := s.versions[v]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, v)
	}
	body := append([]byte(nil), mv.body...)
	if len(body) == 0 {
		body = []byte{0}
	} else {
		body[len(body)/2] ^= 0xff
	}
	mv.body = body
	s.versions[v] = mv
	return nil
}
