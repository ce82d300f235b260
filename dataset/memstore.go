package dataset

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// MemStore is an in-memory dataset store for tests and embedding, with the
// same Snapshot/Commit/Pending semantics as FileStore: Add plays the role of
// an export, and a Mark counts added samples. It is safe for concurrent use.
type MemStore struct {
	mu        sync.Mutex
	base      []Sample
	exported  []Sample
	golden    []Sample
	committed int
}

// NewMemStore returns a MemStore with the given base set (copied).
func NewMemStore(base []Sample) *MemStore {
	return &MemStore{base: slices.Clone(base)}
}

// Add appends exported samples; they are new until a Commit covers them.
func (m *MemStore) Add(samples ...Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exported = append(m.exported, samples...)
}

// SetGolden replaces the golden set (copied).
func (m *MemStore) SetGolden(golden []Sample) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.golden = slices.Clone(golden)
}

// Snapshot returns copies of the base set, the exported samples split at
// the committed mark, and the golden set; golden keys are removed from the
// others, as FileStore does. Mark.Offset and Mark.Count are both the number
// of exported samples.
func (m *MemStore) Snapshot(ctx context.Context) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	snap := Snapshot{
		Base:   slices.Clone(m.base),
		Old:    slices.Clone(m.exported[:m.committed]),
		New:    slices.Clone(m.exported[m.committed:]),
		Golden: slices.Clone(m.golden),
		Mark:   Mark{Offset: int64(len(m.exported)), Count: len(m.exported)},
	}
	ExcludeGolden(&snap)
	return snap, nil
}

// Commit advances the committed mark; an older mark is a no-op, a mark
// beyond the added samples returns ErrBadMark.
func (m *MemStore) Commit(ctx context.Context, mk Mark) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mk.Count <= m.committed {
		return nil
	}
	if mk.Count > len(m.exported) {
		return fmt.Errorf("dataset: commit count %d: %w", mk.Count, ErrBadMark)
	}
	m.committed = mk.Count
	return nil
}

// Pending reports the number of samples added since the committed mark.
func (m *MemStore) Pending(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.exported) - m.committed, nil
}
