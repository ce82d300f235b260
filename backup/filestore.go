package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"

	"moodfood/internal/flock"
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
	if !flock.Supported {
		return nil, ErrUnsupported
	}
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
// On a store it may not write (a read-only mount, a directory of another
// user) there is nothing to maintain: the store opens for reading, and the
// writing methods fail with the filesystem's error.
func (s *FileStore) maintain(ctx context.Context) error {
	unlock, ok, err := s.tryLockExclusive()
	if errors.Is(err, fs.ErrPermission) || flock.IsReadOnlyFS(err) {
		s.log.Debug("backup: store not writable; opened for reading only", "err", err)
		return nil
	}
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
