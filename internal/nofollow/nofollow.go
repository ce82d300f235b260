// Package nofollow opens files without following symbolic links: the
// files moodfood keeps under its root (locks, logs, history, heartbeat,
// samples) are opened through an os.Root on their directory after checking
// that neither the file nor its directory is a symbolic link, so that a link
// planted there cannot make a run truncate, append to or read a file
// elsewhere. A link swapped in between the check and the open still cannot
// lead outside the directory (os.Root refuses that).
package nofollow

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrSymlink is wrapped (in an *fs.PathError) by the error of an open that
// met a symbolic link.
var ErrSymlink = errors.New("refusing to follow a symbolic link")

// OpenFile is os.OpenFile without following symbolic links.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	if fi, err := os.Lstat(filepath.Clean(dir)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: unwrapPath(err)}
	}
	defer root.Close()
	if fi, err := root.Lstat(base); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: ErrSymlink}
	}
	f, err := root.OpenFile(base, flag, perm)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: unwrapPath(err)}
	}
	return f, nil
}

// Open is os.Open without following symbolic links.
func Open(path string) (*os.File, error) { return OpenFile(path, os.O_RDONLY, 0) }

// ReadFile is os.ReadFile without following symbolic links.
func ReadFile(path string) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// unwrapPath drops the *fs.PathError os.Root adds (its path is relative),
// keeping the cause, so that errors.Is(err, fs.ErrNotExist) still holds.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
