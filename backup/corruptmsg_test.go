package backup

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A model.bin damaged at rest is reported as damaged, with the checksums,
// by Open's reader as by Verify: not as a change during the read.
func TestFileStore_OpenReportsAtRestCorruption(t *testing.T) {
	s, err := OpenFileStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.Put(t.Context(), Manifest{}, bytes.NewReader(bytes.Repeat([]byte("model "), 1000)))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(s.Dir(), backupsDir, string(m.Version), bodyName)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(bin, b, 0o600); err != nil {
		t.Fatal(err)
	}
	_, rc, err := s.Open(t.Context(), m.Version)
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "damaged on disk") ||
		!strings.Contains(err.Error(), "manifest says "+m.Files[0].SHA256) || strings.Contains(err.Error(), "changed while read") {
		t.Fatalf("Open+read of a damaged model.bin: %v", err)
	}
	if verr := s.Verify(t.Context(), m.Version); !errors.Is(verr, ErrCorrupt) {
		t.Fatalf("Verify = %v", verr)
	}
}
