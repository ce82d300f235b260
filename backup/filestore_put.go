package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"time"
)

// Put stores body as model.bin of a new version with manifest m, filling
// m.Version, m.Created and m.Files (and m.Replaces with the deployed
// version when empty). Nothing is visible unless Put returns nil: the
// version is written to backups/<name>.tmp/, fsynced, and renamed into
// place, then backups/ is fsynced. ctx is checked while copying and right
// before the rename.
func (s *FileStore) Put(ctx context.Context, m Manifest, body io.Reader) (Manifest, error) {
	if err := s.enter(); err != nil {
		return Manifest{}, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return Manifest{}, fmt.Errorf("backup: put: %w", err)
	}
	unlock, err := s.lockStore(ctx, false)
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: put: %w", err)
	}
	defer unlock()
	if m.Replaces == "" {
		if cur, err := s.current(); err == nil {
			m.Replaces = cur
		}
	}
	out, err := s.writeVersion(ctx, m, func(add addFunc) error { return add(bodyName, body) })
	if err != nil {
		return Manifest{}, fmt.Errorf("backup: put: %w", err)
	}
	return out, nil
}

type addFunc func(name string, r io.Reader) error

// writeVersion writes a new version whose files come from files, and
// commits it raft-style. The caller holds the store lock.
func (s *FileStore) writeVersion(ctx context.Context, m Manifest, files func(addFunc) error) (Manifest, error) {
	now := s.now()
	name, err := s.reserve(now)
	if err != nil {
		return Manifest{}, err
	}
	tmp := path.Join(backupsDir, string(name)+tmpSuffix)
	final := path.Join(backupsDir, string(name))
	committed := false
	defer func() {
		if !committed { // never remove after a successful rename
			s.fs.RemoveAll(tmp)
		}
	}()
	m.Version, m.Created, m.Files = name, now.UTC().Truncate(time.Microsecond), nil
	add := func(fname string, r io.Reader) error {
		sum, err := s.writeOne(ctx, path.Join(tmp, fname), r)
		if err != nil {
			return err
		}
		sum.Name = fname
		m.Files = append(m.Files, sum)
		return nil
	}
	if err := files(add); err != nil {
		return Manifest{}, err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Manifest{}, err
	}
	if _, err := s.writeOne(ctx, path.Join(tmp, manifestName), bytes.NewReader(append(data, '\n'))); err != nil {
		return Manifest{}, err
	}
	if err := s.fs.SyncDir(tmp); err != nil {
		return Manifest{}, err
	}
	s.hit("put:synced")
	if err := ctx.Err(); err != nil {
		return Manifest{}, err
	}
	if err := s.fs.Rename(tmp, final); err != nil {
		return Manifest{}, err
	}
	committed = true
	s.hit("put:renamed")
	if err := s.fs.SyncDir(backupsDir); err != nil {
		// Not durable and not reported: take it back out of sight (to a
		// temp name the reaper finishes if this removal fails).
		if s.fs.Rename(final, final+delSuffix) == nil {
			s.fs.RemoveAll(final + delSuffix)
		}
		return Manifest{}, err
	}
	return m, nil
}

// writeOne creates name (0600, O_EXCL), copies r into it while hashing, and
// fsyncs and closes it.
func (s *FileStore) writeOne(ctx context.Context, name string, r io.Reader) (FileSum, error) {
	f, err := s.fs.Create(name)
	if err != nil {
		return FileSum{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		f.Close()
		return FileSum{}, err
	}
	s.hit("put:written")
	if err := f.Sync(); err != nil {
		f.Close()
		return FileSum{}, err
	}
	if err := f.Close(); err != nil {
		return FileSum{}, err
	}
	return FileSum{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// reserve picks the next free name for a version created at now and
// reserves it by creating backups/<name>.tmp/ (mkdir fails if it exists, so
// two processes never share a name; the final rename onto an existing,
// non-empty directory fails too).
func (s *FileStore) reserve(now time.Time) (Version, error) {
	names, err := s.readDirNames(backupsDir)
	if err != nil {
		return "", err
	}
	stamp := now.UTC().Format(stampLayout)
	seq := 1
	for _, n := range names {
		if q := versionSeq(n, stamp); q >= seq {
			seq = q + 1
		}
	}
	for range 1000 {
		v := versionName(now, seq)
		seq++
		if v.Validate() != nil {
			break
		}
		tmp := path.Join(backupsDir, string(v)+tmpSuffix)
		if err := s.fs.Mkdir(tmp); err != nil {
			if errors.Is(err, fs.ErrExist) {
				continue
			}
			return "", err
		}
		if _, err := s.root.Lstat(path.Join(backupsDir, string(v))); err == nil {
			s.fs.RemoveAll(tmp) // committed by someone else meanwhile
			continue
		}
		return v, nil
	}
	return "", fmt.Errorf("backup: no free version name for %s", stamp)
}

func (s *FileStore) readDirNames(name string) ([]string, error) {
	d, err := s.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
