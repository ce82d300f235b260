package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"moodfood/internal/atomicfile"
)

// lockedStore gives the Store helpers access to a FileStore whose lock and
// read guard are already held.
type lockedStore struct{ s *FileStore }

func (l lockedStore) List(ctx context.Context) ([]Manifest, error) { return l.s.list(ctx) }
func (l lockedStore) Current(context.Context) (Version, error)     { return l.s.current() }
func (l lockedStore) Deploy(ctx context.Context, v Version) error {
	return l.s.deployLocked(ctx, v, "deploy", false)
}

// Prune removes the versions SelectPinned drops under p and returns them.
// It never removes the deployed version, the rollback target or a version
// of p.Keep, and never a version List skips (unreadable ones are left for
// people). The rollback target it pins is the one Restore("") would
// deploy: the newest version older than the deployed one that passes
// Verify (see RollbackTarget), so retention never removes the last working
// rollback target. Older versions that fail Verify get no pin; the policy
// alone decides about them. Every victim is first renamed to
// backups/<name>.del.tmp and backups/ fsynced, and only then deleted, so a
// crash or power loss mid-removal never leaves a half-deleted version in
// sight; the reaper finishes the job. On error, removed lists the versions
// already taken out of sight. Prune also reaps temp leftovers.
func (s *FileStore) Prune(ctx context.Context, p Policy) (removed []Version, err error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	unlock, err := s.lockStore(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	defer unlock()
	if err := s.reapLocked(); err != nil {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	ms, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := s.current()
	if err != nil && !errors.Is(err, ErrNoCurrent) && !errors.Is(err, ErrOutsideStore) {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	rollback, err := s.rollbackTargetLocked(ctx, ms, cur)
	if err != nil {
		return nil, fmt.Errorf("backup: prune: %w", err)
	}
	_, drop := SelectPinned(ms, cur, rollback, s.now(), p)
	// Take every victim out of sight first and make that durable before
	// deleting anything, so that a power loss cannot bring back a version
	// whose files were partly unlinked. The reaper removes *.del.tmp
	// leftovers.
	var errs []error
	for _, m := range drop {
		if m.Version == cur { // Select pins it; never trust that blindly
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		name := path.Join(backupsDir, string(m.Version))
		if err := s.fs.Rename(name, name+delSuffix); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Version, err))
			break
		}
		removed = append(removed, m.Version)
		s.hit("prune:renamed")
	}
	if len(removed) == 0 {
		return nil, joinPrefixed("backup: prune", errs)
	}
	if err := s.fs.SyncDir(backupsDir); err != nil {
		return removed, joinPrefixed("backup: prune", append(errs, err))
	}
	for _, v := range removed {
		if err := s.fs.RemoveAll(path.Join(backupsDir, string(v)) + delSuffix); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", v, err))
			break // the reaper finishes the job
		}
		s.hit("prune:removed")
	}
	errs = append(errs, s.fs.SyncDir(backupsDir))
	s.log.Info("backup: pruned", "removed", removed)
	return removed, joinPrefixed("backup: prune", errs)
}

// RollbackTarget returns the version Restore("") would deploy now and
// Prune pins: the newest version older than the deployed one (see
// Previous) that passes Verify, checksums and Check hook included. It
// verifies only the candidates it walks, newest first, until one passes.
// It returns an error wrapping ErrNoCurrent when nothing is deployed and
// ErrNoPrevious when no older version passes.
func (s *FileStore) RollbackTarget(ctx context.Context) (Version, error) {
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	cands, err := olderThanCurrent(ctx, lockedStore{s})
	if err != nil {
		return "", fmt.Errorf("backup: rollback target: %w", err)
	}
	var errs []error
	for _, c := range cands {
		err := s.verify(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotFound) {
			return "", fmt.Errorf("backup: rollback target: %w", err)
		}
		errs = append(errs, err)
	}
	return "", fmt.Errorf("backup: rollback target: %w", errors.Join(append([]error{ErrNoPrevious}, errs...)...))
}

// rollbackTargetLocked is the rollback target Prune pins, given the listed
// versions ms and the deployed version cur ("" if none): the newest
// version older than cur that passes verify. Versions that fail it as
// corrupt or missing are skipped with a warning; any other error (I/O, ctx)
// is returned, so that Prune deletes nothing on a guess. When none passes,
// the unverified target (RollbackTarget of ms) is pinned, as before. The
// caller holds the lock.
func (s *FileStore) rollbackTargetLocked(ctx context.Context, ms []Manifest, cur Version) (Version, error) {
	if cur == "" {
		return "", nil
	}
	cands := olderThan(ms, cur)
	for _, c := range cands {
		err := s.verify(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotFound) {
			return "", err
		}
		s.log.Warn("backup: prune: a previous version fails verification; it is not kept as the rollback target", "version", c, "err", err)
	}
	return RollbackTarget(ms, cur), nil
}

// joinPrefixed joins errs (nils ignored) under prefix, or returns nil.
func joinPrefixed(prefix string, errs []error) error {
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	return nil
}

// reapLocked removes what dead writers left: temp links and directories in
// models/ and backups/. A legacy directory moved aside by an interrupted
// import is moved back if nothing is deployed. The caller holds the
// exclusive lock.
func (s *FileStore) reapLocked() error {
	var errs []error
	names, err := s.readDirNames(".")
	if err != nil {
		return err
	}
	reaped := false
	for _, n := range names {
		switch {
		case n == legacyAside:
			if _, err := s.root.Lstat(deployedName); errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, s.fs.Rename(legacyAside, deployedName))
			} else {
				errs = append(errs, s.fs.RemoveAll(n))
			}
			reaped = true
		case atomicfile.IsTemp(n):
			errs = append(errs, s.fs.RemoveAll(n))
			reaped = true
		}
	}
	if reaped {
		errs = append(errs, s.fs.SyncDir("."))
	}
	names, err = s.readDirNames(backupsDir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	reaped = false
	for _, n := range names {
		if strings.HasSuffix(n, tmpSuffix) {
			s.log.Info("backup: reaping temp leftover", "name", truncate(n, 80))
			errs = append(errs, s.fs.RemoveAll(path.Join(backupsDir, n)))
			reaped = true
		}
	}
	if reaped {
		errs = append(errs, s.fs.SyncDir(backupsDir))
	}
	return errors.Join(errs...)
}
