package backup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
)

// Deploy switches the deployed model to version v. The current model is
// already backed up by construction (it is an immutable version under
// backups/; a legacy plain directory is first imported as one). v's
// checksums are verified, a temp symlink to backups/v is created and
// renamed over intent_classifier, and models/ is fsynced, so a reader sees
// the old model or the new one, never a mix and never nothing. Deploying
// the deployed version is a no-op. Errors wrap ErrInvalidName,
// ErrNotFound or ErrCorrupt where they apply; on error the deployed model
// is unchanged (except when only the final directory fsync failed).
func (s *FileStore) Deploy(ctx context.Context, v Version) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	unlock, err := s.lockStore(ctx, true)
	if err != nil {
		return fmt.Errorf("backup: deploy %s: %w", v, err)
	}
	defer unlock()
	if err := s.deployLocked(ctx, v, "deploy", false); err != nil {
		return fmt.Errorf("backup: deploy %s: %w", v, err)
	}
	return nil
}

// deployLocked deploys v. Unless the caller has just verified v (Restore
// runs Verify first), v's checksums are verified here. The version being
// replaced is not hashed again: versions are immutable and it was verified
// when it was deployed; a cheap check (manifest, file sizes) warns if it can
// no longer serve as a rollback target.
func (s *FileStore) deployLocked(ctx context.Context, v Version, op string, verified bool) error {
	if !verified {
		if _, err := s.readVerified(ctx, v); err != nil {
			return err
		}
	}
	s.hit(op + ":verified")
	cur, err := s.prepareSwitch(ctx)
	if err != nil {
		return err
	}
	if cur == v {
		return nil
	}
	if cur != "" {
		m, err := s.readManifest(cur)
		if err == nil {
			err = s.checkFiles(ctx, m, false)
		}
		if err != nil {
			s.log.Warn("backup: the version being replaced fails its manifest or size check; it cannot serve as a rollback target",
				"version", cur, "err", err)
		}
	}
	if err := s.switchTo(ctx, v, op); err != nil {
		return err
	}
	s.log.Info("backup: deployed", "version", v, "replaced", cur)
	return nil
}

// prepareSwitch makes sure the current model is backed up and returns its
// version ("" if there is none we manage).
func (s *FileStore) prepareSwitch(ctx context.Context) (Version, error) {
	fi, err := s.root.Lstat(deployedName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	case fi.Mode()&fs.ModeSymlink != 0:
		cur, err := s.current()
		if err != nil {
			s.log.Warn("backup: replacing a deployed link that does not name a backup", "err", err)
			return "", nil
		}
		return cur, nil
	case fi.IsDir():
		return s.importLegacy(ctx)
	}
	return "", fmt.Errorf("backup: %s is neither a directory nor a link; move it away by hand", deployedName)
}

// switchTo flips intent_classifier to backups/v.
func (s *FileStore) switchTo(ctx context.Context, v Version, op string) error {
	tmp := tempLinkName()
	if err := s.fs.Symlink(backupsDir+"/"+string(v), tmp); err != nil {
		return err
	}
	s.hit(op + ":linked")
	if err := s.fs.SyncDir("."); err != nil {
		s.fs.RemoveAll(tmp)
		return err
	}
	if err := ctx.Err(); err != nil {
		s.fs.RemoveAll(tmp)
		return err
	}
	if err := s.fs.Rename(tmp, deployedName); err != nil {
		s.fs.RemoveAll(tmp)
		return err
	}
	s.hit(op + ":switched")
	if err := s.fs.SyncDir("."); err != nil {
		return fmt.Errorf("switched, but models/ fsync failed: %w", err)
	}
	return nil
}

// tempLinkName is a fresh temp name in models/ (atomicfile.IsTemp matches
// it, so the reaper removes it if we die).
func tempLinkName() string {
	var b [6]byte
	rand.Read(b[:])
	return "." + deployedName + "." + hex.EncodeToString(b[:]) + tmpSuffix
}

// Restore verifies version v fully (see Verify, including the Check hook)
// and deploys it. With v == "" it restores the previous version: the
// newest version older than the deployed one (see Previous) that passes
// Verify, skipping, with a warning, any that fail. A named backup that
// fails verification is refused with an error wrapping ErrCorrupt, and the
// deployed model keeps serving.
func (s *FileStore) Restore(ctx context.Context, v Version) error {
	if v != "" {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	unlock, err := s.lockStore(ctx, true)
	if err != nil {
		return fmt.Errorf("backup: restore: %w", err)
	}
	defer unlock()
	if v == "" {
		cands, err := olderThanCurrent(ctx, lockedStore{s})
		if err != nil {
			return fmt.Errorf("backup: restore: %w", err)
		}
		var errs []error
		for _, c := range cands {
			if err := s.verify(ctx, c); err != nil {
				errs = append(errs, err)
				s.log.Warn("backup: restore: skipping a previous version that fails verification", "version", c, "err", err)
				continue
			}
			v = c
			break
		}
		if v == "" {
			return fmt.Errorf("backup: restore: %w", errors.Join(append([]error{ErrNoPrevious}, errs...)...))
		}
	} else if err := s.verify(ctx, v); err != nil {
		return fmt.Errorf("backup: restore %s refused: %w", v, err)
	}
	s.hit("restore:checked")
	if err := s.deployLocked(ctx, v, "restore", true); err != nil {
		return fmt.Errorf("backup: restore %s: %w", v, err)
	}
	return nil
}
