package nofollow

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpenFile_RefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(outside, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := filepath.Join(dir, "logs")
	os.Mkdir(logs, 0o700)
	if err := os.Symlink(outside, filepath.Join(logs, "lock")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	os.WriteFile(filepath.Join(logs, "sibling"), nil, 0o600)
	os.Symlink("sibling", filepath.Join(logs, "inside"))
	os.Symlink(filepath.Dir(outside), filepath.Join(dir, "linkdir"))
	for _, p := range []string{filepath.Join(logs, "lock"), filepath.Join(logs, "inside"), filepath.Join(dir, "linkdir", "victim")} {
		f, err := OpenFile(p, os.O_RDWR|os.O_TRUNC|os.O_CREATE, 0o600)
		if err == nil {
			f.Close()
			t.Errorf("%s: opened through a symlink", p)
		} else if !errors.Is(err, ErrSymlink) {
			t.Errorf("%s: %v, want ErrSymlink", p, err)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep me" {
		t.Fatalf("victim is %q", b)
	}
	if _, err := ReadFile(filepath.Join(logs, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	f, err := OpenFile(filepath.Join(logs, "new"), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}
