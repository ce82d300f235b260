package treehash

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestOf(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, "a.txt")
	if err := os.WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := Of(root)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Of(root)
	if !slices.Equal(before, again) {
		t.Fatalf("unchanged tree hashed differently:\n%v\n%v", before, again)
	}
	// Same size, same mtime, other content: only the hash can tell.
	fi, _ := os.Stat(p)
	if err := os.WriteFile(p, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if after, _ := Of(root); slices.Equal(before, after) {
		t.Fatal("a rewritten file went unnoticed")
	}
	if err := os.Mkdir(filepath.Join(root, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if after, _ := Of(root); len(after) != len(before)+1 {
		t.Fatalf("a new directory went unnoticed: %v", after)
	}
}
