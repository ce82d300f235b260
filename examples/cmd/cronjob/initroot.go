package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"moodfood/internal/atomicfile"
)

// baseDatasetRel is the file whose presence means a root is initialized.
const baseDatasetRel = "data/intent_dataset.jsonl"

// initRoot implements run --init: when root has no data/intent_dataset.jsonl
// yet, it copies src/data into root/data (files 0600, directories 0700),
// creating root if needed. Files already in root are kept; the base dataset
// is copied last and atomically, so a copy interrupted half-way is completed
// by the next --init. Only regular files and directories are copied; a
// symlink or other special file in src is an error. It reports whether it
// copied anything.
func initRoot(root, src string) (bool, error) {
	if _, err := os.Stat(filepath.Join(root, baseDatasetRel)); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	srcData := filepath.Join(src, "data")
	if _, err := os.Stat(filepath.Join(srcData, "intent_dataset.jsonl")); err != nil {
		return false, fmt.Errorf("--init %s: not a moodfood root (no %s): %w", src, baseDatasetRel, err)
	}
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o700); err != nil {
		return false, err
	}
	err := filepath.WalkDir(srcData, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(srcData, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(root, "data", rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o700)
		case !d.Type().IsRegular():
			return fmt.Errorf("--init: %s is not a regular file", p)
		case rel == "intent_dataset.jsonl":
			return nil // last
		}
		if _, err := os.Lstat(dst); err == nil {
			return nil // keep what the root already has
		}
		return copyFile(dst, p)
	})
	if err != nil {
		return false, err
	}
	return true, copyFile(filepath.Join(root, baseDatasetRel), filepath.Join(srcData, "intent_dataset.jsonl"))
}

// copyFile copies src to dst atomically, 0600.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.WriteFile(dst, 0o600, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}
