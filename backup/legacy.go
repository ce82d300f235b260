package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
)

// importLegacy backs up a plain directory at intent_classifier (a person
// copied files in, as the seed's troubleshooting suggested) as a new
// version, then atomically replaces the directory with a link to that
// version. Nothing is destroyed: the directory is removed only after its
// files are durable under backups/. Every top-level regular file is copied
// (a legacy manifest.json as legacy_manifest.json, its known fields reused);
// any other kind of entry makes the import fail with the directory
// untouched. The caller holds the exclusive lock.
func (s *FileStore) importLegacy(ctx context.Context) (Version, error) {
	d, err := s.root.Open(deployedName)
	if err != nil {
		return "", err
	}
	ents, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return "", err
	}
	var m Manifest
	var names []string
	for _, e := range ents {
		if !e.Type().IsRegular() || !fileNamePattern.MatchString(e.Name()) {
			return "", fmt.Errorf("backup: legacy %s holds %q, which is not a plain file; import it by hand", deployedName, truncate(e.Name(), 80))
		}
		if e.Name() == manifestName {
			if b, err := s.root.ReadFile(path.Join(deployedName, manifestName)); err == nil {
				json.Unmarshal(b, &m) // best effort: keep what parses
			}
		}
		names = append(names, e.Name())
	}
	m = Manifest{
		Metrics:            m.Metrics,
		DatasetFingerprint: m.DatasetFingerprint,
		TrainerConfig:      m.TrainerConfig,
		RunID:              m.RunID,
	}
	out, err := s.writeVersion(ctx, m, func(add addFunc) error {
		for _, n := range names {
			f, err := s.root.Open(path.Join(deployedName, n))
			if err != nil {
				return err
			}
			dst := n
			if n == manifestName {
				dst = legacyManifestName
			}
			err = add(dst, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("backup: importing legacy %s: %w", deployedName, err)
	}
	s.hit("legacy:imported")
	if err := s.replaceLegacy(ctx, out.Version); err != nil {
		return "", fmt.Errorf("backup: importing legacy %s: %w", deployedName, err)
	}
	s.log.Warn("backup: imported legacy model directory as a backup", "version", out.Version)
	return out.Version, nil
}

// replaceLegacy swaps the legacy directory for a link to v: with
// renameat2(RENAME_EXCHANGE) where available (atomic), else by moving the
// directory aside and renaming the link in (the reaper moves it back if we
// die in between).
func (s *FileStore) replaceLegacy(ctx context.Context, v Version) error {
	tmp := tempLinkName()
	if err := s.fs.Symlink(backupsDir+"/"+string(v), tmp); err != nil {
		return err
	}
	if err := s.fs.SyncDir("."); err != nil {
		s.fs.RemoveAll(tmp)
		return err
	}
	if err := ctx.Err(); err != nil {
		s.fs.RemoveAll(tmp)
		return err
	}
	err := s.fs.Exchange(tmp, deployedName)
	switch {
	case err == nil:
		s.hit("legacy:exchanged")
		if err := s.fs.SyncDir("."); err != nil {
			return err
		}
		return s.fs.RemoveAll(tmp) // now the old directory
	case !errors.Is(err, errExchangeUnsupported):
		s.fs.RemoveAll(tmp)
		return err
	}
	if err := s.fs.Rename(deployedName, legacyAside); err != nil {
		s.fs.RemoveAll(tmp)
		return err
	}
	s.hit("legacy:aside")
	if err := s.fs.Rename(tmp, deployedName); err != nil {
		s.fs.Rename(legacyAside, deployedName)
		s.fs.RemoveAll(tmp)
		return err
	}
	if err := s.fs.SyncDir("."); err != nil {
		return err
	}
	return s.fs.RemoveAll(legacyAside)
}
