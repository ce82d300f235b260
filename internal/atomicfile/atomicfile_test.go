package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "f.json")
		if err := WriteBytes(p, 0, []byte("one")); err != nil {
			t.Fatal(err)
		}
		if err := WriteBytes(p, 0, []byte("two")); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != "two" {
			t.Fatalf("got %q, %v", got, err)
		}
		fi, _ := os.Stat(p)
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
		}
	})
	t.Run("FailedWriteKeepsOldAndLeavesNoTemp", func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "f.json")
		if err := WriteBytes(p, 0, []byte("old")); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := WriteFile(p, 0, func(w io.Writer) error {
			w.Write([]byte("partial"))
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != "old" {
			t.Fatalf("target changed to %q", got)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if IsTemp(e.Name()) {
				t.Fatalf("temp file %s left behind", e.Name())
			}
		}
	})
}

func TestIsTemp(t *testing.T) {
	for name, want := range map[string]bool{
		".cron_status.json.123.tmp": true,
		"cron_status.json":          false,
		".tmp":                      false,
		"x.tmp":                     false,
	} {
		if got := IsTemp(name); got != want {
			t.Errorf("IsTemp(%q) = %v, want %v", name, got, want)
		}
	}
}
