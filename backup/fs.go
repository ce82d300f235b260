package backup

import (
	"io"
	"os"
	"path/filepath"
)

// fileSystem is the seam through which a FileStore makes every change to
// disk: creating, writing, syncing, renaming, linking and removing. Reads go
// straight to the os.Root. Tests wrap it to fail or crash at the Nth
// operation and to log the order of operations. All names are relative to
// the store root (models/).
type fileSystem interface {
	Mkdir(name string) error
	Create(name string) (writeFile, error)
	Rename(oldname, newname string) error
	// Exchange atomically swaps two names (renameat2 RENAME_EXCHANGE); it
	// returns errExchangeUnsupported where the kernel or file system lacks it.
	Exchange(a, b string) error
	Symlink(target, name string) error
	RemoveAll(name string) error
	SyncDir(name string) error
}

// writeFile is an open file being written.
type writeFile interface {
	io.Writer
	Sync() error
	Close() error
}

// rootFS is the real fileSystem, confined to an os.Root.
type rootFS struct {
	root *os.Root
	dir  string // absolute path of the root, for Exchange only
}

func (r rootFS) Mkdir(name string) error { return r.root.Mkdir(name, 0o700) }

func (r rootFS) Create(name string) (writeFile, error) {
	return r.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

func (r rootFS) Rename(oldname, newname string) error { return r.root.Rename(oldname, newname) }

func (r rootFS) Exchange(a, b string) error {
	// The names are the store's own constants (never user input), and both
	// live directly in the root; os.Root has no exchange, so build the
	// paths here.
	return exchange(filepath.Join(r.dir, a), filepath.Join(r.dir, b))
}

func (r rootFS) Symlink(target, name string) error { return r.root.Symlink(target, name) }

func (r rootFS) RemoveAll(name string) error { return r.root.RemoveAll(name) }

func (r rootFS) SyncDir(name string) error {
	d, err := r.root.Open(name)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
