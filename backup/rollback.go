package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Store is the part of a model store that the helpers in this package need.
// retrain.ModelStore, *FileStore and *MemStore all satisfy it.
type Store interface {
	List(ctx context.Context) ([]Manifest, error)
	Deploy(ctx context.Context, v Version) error
	Current(ctx context.Context) (Version, error)
}

// Pruner is an optional interface a store may implement to drop old
// versions itself according to a Policy. It returns the versions removed.
type Pruner interface {
	Prune(ctx context.Context, p Policy) (removed []Version, err error)
}

// Verifier is an optional interface a store may implement to check a
// version fully (checksums, and a real load when the store has a hook for
// it). The error wraps ErrNotFound or ErrCorrupt.
type Verifier interface {
	Verify(ctx context.Context, v Version) error
}

// Opener is the read side of a store, as in retrain.ModelStore.
type Opener interface {
	Open(ctx context.Context, v Version) (Manifest, io.ReadCloser, error)
}

// Previous returns the rollback target: the newest version older than the
// deployed one, ordering by Created and then by name (not by name alone, so
// versions from stores with other suffix schemes still order by time). It
// returns ErrNoCurrent when nothing is deployed and ErrNoPrevious when
// nothing older exists.
func Previous(ctx context.Context, s Store) (Version, error) {
	cands, err := olderThanCurrent(ctx, s)
	if err != nil {
		return "", err
	}
	return cands[0], nil
}

// Rollback deploys the newest version older than the deployed one (see
// Previous) and returns it. A candidate the store refuses as corrupt
// (ErrCorrupt) is skipped for the next older one; ErrNoPrevious is returned
// when none is left. Other errors stop the rollback.
func Rollback(ctx context.Context, s Store) (Version, error) {
	cands, err := olderThanCurrent(ctx, s)
	if err != nil {
		return "", err
	}
	var errs []error
	for _, v := range cands {
		err := s.Deploy(ctx, v)
		if err == nil {
			return v, nil
		}
		if !errors.Is(err, ErrCorrupt) {
			return "", err
		}
		errs = append(errs, err)
	}
	return "", errors.Join(append([]error{ErrNoPrevious}, errs...)...)
}

// olderThanCurrent lists the versions older than the deployed one, newest
// first (see olderThan); never empty when err is nil.
func olderThanCurrent(ctx context.Context, s Store) ([]Version, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return nil, err
	}
	ms, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := olderThan(ms, cur)
	if len(out) == 0 {
		return nil, ErrNoPrevious
	}
	return out, nil
}

// RollbackTarget returns the newest of items older than current, or "" if
// there is none (or current is ""). It is the version Previous and Rollback
// pick for a store that lists items; see olderThan for how a current that
// is not among items is placed. RollbackTarget is pure.
func RollbackTarget(items []Manifest, current Version) Version {
	if current == "" {
		return ""
	}
	if older := olderThan(items, current); len(older) > 0 {
		return older[0]
	}
	return ""
}

// olderThan returns the versions of items older than cur, newest first,
// ordering by Created and then by name (see newer). When cur is not among
// items (its manifest is unreadable, or a caller passes a subset), its
// Created is unknown; it is placed by the UTC second its name records
// (model_backup_YYYYMMDD_HHMMSS_..., the second it was put in) and then by
// name, so an item created in an earlier second is older whatever its
// suffix. A name that records no time is compared by name alone.
func olderThan(items []Manifest, cur Version) []Version {
	sorted := append([]Manifest(nil), items...)
	sortNewestFirst(sorted)
	var curM *Manifest
	for i := range sorted {
		if sorted[i].Version == cur {
			curM = &sorted[i]
			break
		}
	}
	curSec, stamped := versionTime(cur)
	var out []Version
	for _, m := range sorted {
		var older bool
		switch {
		case m.Version == cur:
			continue
		case curM != nil:
			older = newer(*curM, m)
		case stamped && !m.Created.Truncate(time.Second).Equal(curSec):
			older = m.Created.Before(curSec)
		default:
			older = m.Version < cur
		}
		if older {
			out = append(out, m.Version)
		}
	}
	return out
}

// PrunePlanner is what PlanPrune reads of a store. FileStore has it, and
// so can any store with a verified rollback target.
type PrunePlanner interface {
	List(ctx context.Context) ([]Manifest, error)
	Current(ctx context.Context) (Version, error)
	RollbackTarget(ctx context.Context) (Version, error)
}

// PlanPrune returns the versions a Prune with policy p would delete at now,
// newest first, deleting nothing: SelectPinned with the deployed version and
// the store's rollback target (the newest older version that verifies; when
// none does, the unverified RollbackTarget, as FileStore.Prune pins). It
// takes no lock and writes nothing, so it works on a read-only store; a
// concurrent Deploy can make the real Prune choose differently.
func PlanPrune(ctx context.Context, s PrunePlanner, p Policy, now time.Time) ([]Manifest, error) {
	ms, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.Current(ctx)
	if err != nil && !errors.Is(err, ErrNoCurrent) && !errors.Is(err, ErrOutsideStore) {
		return nil, fmt.Errorf("backup: prune plan: %w", err)
	}
	rollback := Version("")
	if cur != "" {
		rollback, err = s.RollbackTarget(ctx)
		if errors.Is(err, ErrNoPrevious) {
			rollback, err = RollbackTarget(ms, cur), nil
		}
		if err != nil {
			return nil, fmt.Errorf("backup: prune plan: %w", err)
		}
	}
	_, drop := SelectPinned(ms, cur, rollback, now, p)
	return drop, nil
}
