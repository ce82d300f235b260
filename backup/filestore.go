package backup

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"moodfood/internal/atomicfile"
)

// Names inside the store root (models/).
const (
	deployedName       = "intent_classifier"
	backupsDir         = "backups"
	bodyName           = "model.bin"
	manifestName       = "manifest.json"
	legacyManifestName = "legacy_manifest.json"
	legacyAside        = ".intent_classifier.legacy.tmp"
	tmpSuffix          = ".tmp"
	delSuffix          = ".del.tmp"
)

// fileNamePattern is what a file inside a version may be called.
var fileNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// FileStoreOptions holds the optional settings of a FileStore. A nil
// *FileStoreOptions and every zero field mean the default.
type FileStoreOptions struct {
	// Logger receives progress and what the store skips (an unreadable
	// manifest in List, a replaced version that fails its size check).
	// nil discards.
	Logger *slog.Logger
	// Now is the clock used for version names and Created. nil = time.Now.
	Now func() time.Time
	// Check, if set, is a real load of a model body (for example
	// model.Decode wrapped to return only its error). Verify and Restore
	// call it after the checksums match; its failure counts as corruption.
	Check func(io.Reader) error
}

// testHooks are the unexported seams used by this package's own tests.
type testHooks struct {
	wrapFS func(fileSystem) fileSystem // wraps the real file system
	crash  func(point string)          // called at named points
}

// FileStore is the versioned model store on a local disk (see the package
// documentation for the layout and the crash guarantees). It is safe for
// concurrent use by multiple goroutines and by multiple processes sharing
// the directory: Put runs in parallel with Put; Deploy, Restore and Prune
// are serialized by an flock on models/.lock.
type FileStore struct {
	dir   string
	root  *os.Root
	fs    fileSystem
	log   *slog.Logger
	now   func() time.Time
	check func(io.Reader) error
	crash func(point string)

	mu     sync.RWMutex // held shared by every operation, exclusive by Close
	closed bool
}

// OpenFileStore opens (creating it 0700 if needed) the store rooted at dir,
// which is ROOT/models. It reaps what dead writers left behind (temp
// directories and links) and imports a legacy plain directory at
// intent_classifier as a backup, unless another process is busy in the
// store, in which case that is left for a later open or Deploy.
func OpenFileStore(dir string, opts *FileStoreOptions) (*FileStore, error) {
	return openFileStore(dir, opts, nil)
}

func openFileStore(dir string, opts *FileStoreOptions, hooks *testHooks) (*FileStore, error) {
	if opts == nil {
		opts = &FileStoreOptions{}
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	s := &FileStore{
		dir:   abs,
		root:  root,
		fs:    rootFS{root: root, dir: abs},
		log:   opts.Logger,
		now:   opts.Now,
		check: opts.Check,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if hooks != nil {
		if hooks.wrapFS != nil {
			s.fs = hooks.wrapFS(s.fs)
		}
		s.crash = hooks.crash
	}
	if err := root.Mkdir(backupsDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		root.Close()
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	if fi, err := root.Lstat(backupsDir); err != nil || !fi.IsDir() {
		root.Close()
		if err == nil {
			err = fmt.Errorf("%s is not a directory", backupsDir)
		}
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	if err := s.maintain(context.Background()); err != nil {
		root.Close()
		return nil, fmt.Errorf("backup: open: %w", err)
	}
	return s, nil
}

// maintain reaps and imports a legacy directory if no one else is busy.
func (s *FileStore) maintain(ctx context.Context) error {
	unlock, ok, err := s.tryLockExclusive()
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	defer unlock()
	if err := s.reapLocked(); err != nil {
		return err
	}
	if fi, err := s.root.Lstat(deployedName); err == nil && fi.IsDir() {
		if _, err := s.importLegacy(ctx); err != nil {
			s.log.Warn("backup: legacy model directory not imported", "err", err)
		}
	}
	return nil
}

// Close releases the store. Operations in progress finish first; later ones
// return ErrClosed. Close is idempotent.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	return s.root.Close()
}

func (s *FileStore) enter() error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (s *FileStore) leave() { s.mu.RUnlock() }

func (s *FileStore) hit(point string) {
	if s.crash != nil {
		s.crash(point)
	}
}

// DeployedPath returns the path of the deployed model directory as serving
// processes and people see it: ROOT/models/intent_classifier. Opening
// DeployedPath()/model.bin always yields one complete version.
func (s *FileStore) DeployedPath() string { return filepath.Join(s.dir, deployedName) }

// Dir returns the store root, ROOT/models.
func (s *FileStore) Dir() string { return s.dir }

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
	b, err := s.root.ReadFile(path.Join(dir, manifestName))
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

// Stamp returns a cheap token that changes whenever a new version is
// deployed: one readlink of intent_classifier (the link target), or for a
// legacy plain directory one lstat. A serving process polls it and reloads
// DeployedPath() when it changes. It returns ErrNoCurrent when nothing is
// deployed. Stamp takes no file lock and is safe to call at any rate.
func (s *FileStore) Stamp() (string, error) {
	if err := s.enter(); err != nil {
		return "", err
	}
	defer s.leave()
	target, err := s.root.Readlink(deployedName)
	if err == nil {
		return target, nil
	}
	fi, lerr := s.root.Lstat(deployedName)
	if errors.Is(lerr, fs.ErrNotExist) {
		return "", ErrNoCurrent
	}
	if lerr != nil {
		return "", fmt.Errorf("backup: stamp: %w", lerr)
	}
	return fmt.Sprintf("dir:%d:%d", fi.ModTime().UnixNano(), fi.Size()), nil
}

// Usage returns the bytes used under backups/, temp leftovers included.
func (s *FileStore) Usage(ctx context.Context) (int64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.leave()
	var total int64
	err := fs.WalkDir(s.root.FS(), backupsDir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			total += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("backup: usage: %w", err)
	}
	return total, nil
}

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

// lockedStore gives the Store helpers access to a FileStore whose lock and
// read guard are already held.
type lockedStore struct{ s *FileStore }

func (l lockedStore) List(ctx context.Context) ([]Manifest, error) { return l.s.list(ctx) }
func (l lockedStore) Current(context.Context) (Version, error)     { return l.s.current() }
func (l lockedStore) Deploy(ctx context.Context, v Version) error {
	return l.s.deployLocked(ctx, v, "deploy", false)
}

// Prune removes the versions SelectPinned drops under p and returns them.
// It never removes the deployed version or the rollback target, and never a
// version List skips (unreadable ones are left for people). The rollback
// target it pins is the one Restore("") would deploy: the newest version
// older than the deployed one that passes Verify (see RollbackTarget), so
// retention never removes the last working rollback target. Older versions
// that fail Verify get no pin; the policy alone decides about them. Every victim
// is first renamed to backups/<name>.del.tmp and backups/ fsynced, and only
// then deleted, so a crash or power loss mid-removal never leaves a
// half-deleted version in sight; the reaper finishes the job. On error,
// removed lists the versions already taken out of sight. Prune also reaps
// temp leftovers.
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
		if r.n != r.want.Size || hex.EncodeToString(r.h.Sum(nil)) != r.want.SHA256 {
			return n, fmt.Errorf("%w: %s: %s changed while read", ErrCorrupt, r.v, bodyName)
		}
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }
