// Package treehash describes a directory tree precisely enough for tests to
// prove that an operation wrote nothing: every file and directory with its
// size, mode, modification time and (files) SHA-256.
package treehash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Of lists every file and directory under root, one line each in walk order:
// relative path, size, mode, modification time (ns) and, for regular files,
// the SHA-256 of the content ("-" otherwise). Two equal lists mean nothing
// under root was created, removed, written, renamed or touched.
func Of(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		sum := "-"
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			h := sha256.Sum256(b)
			sum = hex.EncodeToString(h[:])
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %v %d %s", rel, fi.Size(), fi.Mode(), fi.ModTime().UnixNano(), sum))
		return nil
	})
	return out, err
}
