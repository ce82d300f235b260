// Package atomicfile replaces files so that a reader sees the old content or
// the new content, never a mix and never nothing, even across a crash.
//
// The rules (google/renameio plus hashicorp/raft's directory fsync): the temp
// file lives in the target's directory, it is fsynced before the rename, it is
// removed on any failure but never after a successful rename, and the
// directory is fsynced after the rename. If an fsync fails, nothing is renamed.
// Local filesystems only; NFS is unsupported.
package atomicfile

import (
	"io"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with what write produces. The file is
// created with mode perm (0600 when perm is 0).
func WriteFile(path string, perm os.FileMode, write func(io.Writer) error) error {
	if perm == 0 {
		perm = 0o600
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	renamed = true
	return SyncDir(dir)
}

// WriteBytes atomically replaces path with data.
func WriteBytes(path string, perm os.FileMode, data []byte) error {
	return WriteFile(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// SyncDir fsyncs a directory so that a rename or create inside it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// IsTemp reports whether name looks like a temp file WriteFile leaves behind
// when a process dies mid-write; owners reap such files when they open.
func IsTemp(name string) bool {
	base := filepath.Base(name)
	return len(base) > 5 && base[0] == '.' && filepath.Ext(base) == ".tmp"
}
