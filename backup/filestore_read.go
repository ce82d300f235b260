package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Open returns version v's manifest and its model body. The manifest is
// read and the size of every file it lists is checked; the body's SHA-256
// is verified while it is read, in one pass: at EOF the reader returns an
// error wrapping ErrCorrupt if the bytes read do not match the manifest.
// A caller that stops reading early has not had the body verified (Verify
// does it up front). Errors wrap ErrInvalidName, ErrNotFound or ErrCorrupt.
func (s *FileStore) Open(ctx context.Context, v Version) (Manifest, io.ReadCloser, error) {
	if err := v.Validate(); err != nil {
		return Manifest{}, nil, err
	}
	if err := s.enter(); err != nil {
		return Manifest{}, nil, err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return Manifest{}, nil, fmt.Errorf("backup: open %s: %w", v, err)
	}
	m, err := s.readManifest(v)
	if err != nil {
		return Manifest{}, nil, err
	}
	if err := s.checkFiles(ctx, m, false); err != nil {
		return Manifest{}, nil, err
	}
	body, _ := m.file(bodyName)
	f, err := s.root.Open(path.Join(backupsDir, string(v), bodyName))
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("backup: open %s: %w", v, err)
	}
	return m, &verifyingReader{f: f, h: sha256.New(), want: body, v: v}, nil
}

func (m Manifest) file(name string) (FileSum, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return FileSum{}, false
}

// readManifest reads and sanity-checks v's manifest.
func (s *FileStore) readManifest(v Version) (Manifest, error) {
	dir := path.Join(backupsDir, string(v))
	b, err := s.readSmall(path.Join(dir, manifestName), MaxManifestBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, derr := s.root.Lstat(dir); errors.Is(derr, fs.ErrNotExist) {
				return Manifest{}, fmt.Errorf("%w: %s", ErrNotFound, v)
			}
			return Manifest{}, fmt.Errorf("%w: %s: no %s", ErrCorrupt, v, manifestName)
		}
		return Manifest{}, fmt.Errorf("backup: %s: %w", v, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("%w: %s: %s: %v", ErrCorrupt, v, manifestName, err)
	}
	if m.Version != v {
		return Manifest{}, fmt.Errorf("%w: %s: manifest names version %q", ErrCorrupt, v, truncate(string(m.Version), 80))
	}
	for _, f := range m.Files {
		if !fileNamePattern.MatchString(f.Name) || f.Name == manifestName {
			return Manifest{}, fmt.Errorf("%w: %s: bad file name %q in manifest", ErrCorrupt, v, truncate(f.Name, 80))
		}
	}
	return m, nil
}

// readVerified reads v's manifest, checks that it lists a model body and
// verifies the size and SHA-256 of every file it lists.
func (s *FileStore) readVerified(ctx context.Context, v Version) (Manifest, error) {
	m, err := s.readManifest(v)
	if err != nil {
		return Manifest{}, err
	}
	if err := s.checkFiles(ctx, m, true); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// checkFiles checks that m lists a model body and that every file it lists
// is a regular file of the recorded size, and with hash its SHA-256 too.
func (s *FileStore) checkFiles(ctx context.Context, m Manifest, hash bool) error {
	if _, ok := m.file(bodyName); !ok {
		return fmt.Errorf("%w: %s: manifest lists no %s", ErrCorrupt, m.Version, bodyName)
	}
	for _, f := range m.Files {
		name := path.Join(backupsDir, string(m.Version), f.Name)
		fi, err := s.root.Lstat(name)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("%w: %s: %s missing", ErrCorrupt, m.Version, f.Name)
			}
			return fmt.Errorf("backup: %s: %w", m.Version, err)
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%w: %s: %s is not a regular file", ErrCorrupt, m.Version, f.Name)
		}
		if fi.Size() != f.Size {
			return fmt.Errorf("%w: %s: %s has %d bytes, manifest says %d", ErrCorrupt, m.Version, f.Name, fi.Size(), f.Size)
		}
		if !hash {
			continue
		}
		r, err := s.root.Open(name)
		if err != nil {
			return fmt.Errorf("backup: %s: %w", m.Version, err)
		}
		h := sha256.New()
		_, err = io.Copy(h, ctxReader{ctx, r})
		r.Close()
		if err != nil {
			return fmt.Errorf("backup: %s: %w", m.Version, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
			return fmt.Errorf("%w: %s: %s has sha256 %s, manifest says %s", ErrCorrupt, m.Version, f.Name, got, f.SHA256)
		}
	}
	return nil
}

// Verify checks version v fully: its manifest, the size and SHA-256 of
// every file, and then, if FileStoreOptions.Check is set, a real load of
// model.bin. Errors wrap ErrInvalidName, ErrNotFound or ErrCorrupt (a
// failed load check wraps both ErrCorrupt and the hook's error).
func (s *FileStore) Verify(ctx context.Context, v Version) error {
	if err := v.Validate(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	return s.verify(ctx, v)
}

func (s *FileStore) verify(ctx context.Context, v Version) error {
	if _, err := s.readVerified(ctx, v); err != nil {
		return err
	}
	if s.check == nil {
		return nil
	}
	f, err := s.root.Open(path.Join(backupsDir, string(v), bodyName))
	if err != nil {
		return fmt.Errorf("backup: %s: %w", v, err)
	}
	defer f.Close()
	if err := s.check(f); err != nil {
		return fmt.Errorf("%w: %s: load check: %w", ErrCorrupt, v, err)
	}
	return nil
}

// List returns every complete version, newest first (by Created, then by
// name). Temp directories are skipped; a version whose manifest cannot be
// read or whose files are missing or of the wrong size is skipped with a
// warning on the logger. List does not hash bodies; Verify does.
func (s *FileStore) List(ctx context.Context) ([]Manifest, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.leave()
	return s.list(ctx)
}

func (s *FileStore) list(ctx context.Context) ([]Manifest, error) {
	names, err := s.readDirNames(backupsDir)
	if err != nil {
		return nil, fmt.Errorf("backup: list: %w", err)
	}
	out := []Manifest{}
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("backup: list: %w", err)
		}
		if strings.HasSuffix(n, tmpSuffix) {
			continue
		}
		v := Version(n)
		if v.Validate() != nil {
			s.log.Warn("backup: list: skipping unexpected entry", "name", truncate(n, 80))
			continue
		}
		m, err := s.readManifest(v)
		if err == nil {
			err = s.checkFiles(ctx, m, false)
		}
		if err != nil {
			s.log.Warn("backup: list: skipping unreadable version", "version", v, "err", err)
			continue
		}
		out = append(out, m)
	}
	sortNewestFirst(out)
	return out, nil
}

// Current returns the deployed version. It returns an error wrapping
// ErrNoCurrent when nothing is deployed (including a legacy plain directory
// not yet imported, or a link to a missing backup) and ErrOutsideStore when
// the deployed link points anywhere but backups/<valid name>.
func (s *FileStore) Current(ctx context.Context) (Version, error) {
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	return s.current()
}

func (s *FileStore) current() (Version, error) {
	target, err := s.root.Readlink(deployedName)
	if err != nil {
		fi, lerr := s.root.Lstat(deployedName)
		switch {
		case errors.Is(lerr, fs.ErrNotExist):
			return "", ErrNoCurrent
		case lerr == nil && fi.IsDir():
			return "", fmt.Errorf("%w: %s is a plain (legacy) directory; the next Deploy imports it as a backup", ErrNoCurrent, deployedName)
		case lerr != nil:
			return "", fmt.Errorf("backup: current: %w", lerr)
		}
		return "", fmt.Errorf("backup: current: %w", err)
	}
	v, ok := parseLink(target)
	if !ok {
		return "", fmt.Errorf("%w: %s -> %q", ErrOutsideStore, deployedName, truncate(target, 200))
	}
	if _, err := s.root.Lstat(path.Join(backupsDir, string(v))); err != nil {
		return "", fmt.Errorf("%w: %s points to missing %s", ErrNoCurrent, deployedName, v)
	}
	return v, nil
}

// parseLink accepts exactly "backups/<valid version>".
func parseLink(target string) (Version, bool) {
	rest, ok := strings.CutPrefix(target, backupsDir+"/")
	if !ok || Version(rest).Validate() != nil {
		return "", false
	}
	return Version(rest), true
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// verifyingReader hashes the body as it is read and reports ErrCorrupt at
// EOF if it does not match the manifest.
type verifyingReader struct {
	f    *os.File
	h    hash.Hash
	n    int64
	want FileSum
	v    Version
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if err == io.EOF {
		if r.n != r.want.Size {
			return n, fmt.Errorf("%w: %s: %s has %d bytes, manifest says %d (damaged on disk, or changed while read)",
				ErrCorrupt, r.v, bodyName, r.n, r.want.Size)
		}
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.want.SHA256 {
			return n, fmt.Errorf("%w: %s: %s has sha256 %s, manifest says %s (damaged on disk)",
				ErrCorrupt, r.v, bodyName, got, r.want.SHA256)
		}
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }
