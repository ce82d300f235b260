package backup

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// PlanPrune on a FileStore names exactly what Prune then deletes, pinning the deployed
// version and the rollback target (skipping a corrupt one), and deletes
// nothing itself.
func TestFileStore_PlanPrune(t *testing.T) {
	s, err := OpenFileStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	vs := putVersions(t, s, 4)
	if err := s.Deploy(t.Context(), vs[3]); err != nil {
		t.Fatal(err)
	}
	// The newest older version is corrupt: the one before it is pinned.
	bin := filepath.Join(s.Dir(), backupsDir, string(vs[2]), bodyName)
	if err := os.WriteFile(bin, bytes.Repeat([]byte{'z'}, 100), 0o600); err != nil { // same size, other bytes
		t.Fatal(err)
	}
	plan, err := PlanPrune(t.Context(), s, Policy{KeepLast: 1}, s.now())
	if err != nil {
		t.Fatal(err)
	}
	var planned []Version
	for _, m := range plan {
		planned = append(planned, m.Version)
	}
	slices.Sort(planned)
	if want := []Version{vs[0], vs[2]}; !slices.Equal(planned, want) {
		t.Fatalf("PlanPrune = %v, want %v", planned, want)
	}
	if ms, _ := s.List(t.Context()); len(ms) != 4 {
		t.Fatalf("PlanPrune deleted something: %d versions listed", len(ms))
	}
	removed, err := s.Prune(t.Context(), Policy{KeepLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(removed)
	if !slices.Equal(removed, planned) {
		t.Fatalf("Prune removed %v, PlanPrune said %v", removed, planned)
	}
}

// Policy.Keep pins its versions in PlanPrune, FileStore.Prune and
// MemStore.Prune, under a byte cap too.
func TestPrune_Keep(t *testing.T) {
	fs, err := OpenFileStore(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	for _, s := range []interface {
		Pruner
		Put(ctx context.Context, m Manifest, body io.Reader) (Manifest, error)
		Deploy(ctx context.Context, v Version) error
	}{fs, NewMemStore()} {
		vs := putVersions(t, s, 5)
		if err := s.Deploy(t.Context(), vs[4]); err != nil {
			t.Fatal(err)
		}
		p := Policy{KeepLast: 1, MaxBytes: 1, Keep: []Version{vs[1]}}
		want := []Version{vs[0], vs[2]} // vs[1] kept, vs[3] the rollback target
		if pp, ok := s.(PrunePlanner); ok {
			plan, err := PlanPrune(t.Context(), pp, p, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			var planned []Version
			for _, m := range plan {
				planned = append(planned, m.Version)
			}
			slices.Sort(planned)
			if !slices.Equal(planned, want) {
				t.Errorf("%T: PlanPrune = %v, want %v", s, planned, want)
			}
		}
		removed, err := s.Prune(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(removed)
		if !slices.Equal(removed, want) {
			t.Errorf("%T: Prune removed %v, want %v", s, removed, want)
		}
	}
}

// putVersions puts n versions of 100 bytes each ('a'..., one byte value per
// version) into s and returns them, oldest first.
func putVersions(t *testing.T, s interface {
	Put(ctx context.Context, m Manifest, body io.Reader) (Manifest, error)
}, n int) []Version {
	t.Helper()
	var vs []Version
	for i := range n {
		m, err := s.Put(t.Context(), Manifest{}, bytes.NewReader(bytes.Repeat([]byte{byte('a' + i)}, 100)))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, m.Version)
	}
	return vs
}
