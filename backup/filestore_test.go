package backup_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
)

func put(t *testing.T, s *backup.FileStore, body string) backup.Manifest {
	t.Helper()
	m, err := s.Put(context.Background(), backup.Manifest{}, strings.NewReader(body))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return m
}

func readDeployed(t *testing.T, s *backup.FileStore) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.DeployedPath(), "model.bin"))
	if err != nil {
		t.Fatalf("reading deployed model: %v", err)
	}
	return string(b)
}

func frozen() func() time.Time {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { return t0 }
}

func TestFileStore_Deploy(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "models")
		s := mustOpen(t, dir, nil)
		a := put(t, s, "model A")
		if _, err := s.Stamp(); !errors.Is(err, backup.ErrNoCurrent) {
			t.Fatalf("Stamp before deploy = %v, want ErrNoCurrent", err)
		}
		if err := s.Deploy(ctx, a.Version); err != nil {
			t.Fatal(err)
		}
		st1, err := s.Stamp()
		if err != nil {
			t.Fatal(err)
		}
		b := put(t, s, "model B")
		if err := s.Deploy(ctx, b.Version); err != nil {
			t.Fatal(err)
		}
		if st2, _ := s.Stamp(); st2 == st1 {
			t.Errorf("Stamp unchanged after deploy: %q", st2)
		}
		if got := readDeployed(t, s); got != "model B" {
			t.Errorf("deployed = %q", got)
		}
		link, err := os.Readlink(s.DeployedPath())
		if err != nil || link != "backups/"+string(b.Version) {
			t.Errorf("link = %q, %v", link, err)
		}
		if b.Replaces != a.Version {
			t.Errorf("Replaces = %q, want %q", b.Replaces, a.Version)
		}
		for _, p := range []string{dir, filepath.Join(dir, "backups"), filepath.Join(dir, "backups", string(a.Version))} {
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o700 {
				t.Errorf("%s mode %v, want 0700", p, fi.Mode().Perm())
			}
		}
		for _, f := range []string{"model.bin", "manifest.json"} {
			p := filepath.Join(dir, "backups", string(a.Version), f)
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
			}
		}
		if n, err := s.Usage(ctx); err != nil || n < int64(len("model Amodel B")) {
			t.Errorf("Usage = %d, %v", n, err)
		}
	})
	t.Run("FrozenClockNeverOverwrites", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "models")
		s := mustOpen(t, dir, &backup.FileStoreOptions{Now: frozen()})
		s2 := mustOpen(t, dir, &backup.FileStoreOptions{Now: frozen()}) // a second process
		a := put(t, s, "A")
		if err := s.Deploy(ctx, a.Version); err != nil {
			t.Fatal(err)
		}
		b := put(t, s2, "B")
		if err := s2.Deploy(ctx, b.Version); err != nil {
			t.Fatal(err)
		}
		if a.Version == b.Version {
			t.Fatalf("same version %s twice", a.Version)
		}
		if !strings.HasPrefix(string(a.Version), "model_backup_20260102_030405_") {
			t.Errorf("version %s does not carry the UTC stamp", a.Version)
		}
		for v, want := range map[backup.Version]string{a.Version: "A", b.Version: "B"} {
			_, rc, err := s.Open(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if string(got) != want {
				t.Errorf("%s = %q, want %q", v, got, want)
			}
		}
		if v, err := backup.Rollback(ctx, s); err != nil || v != a.Version {
			t.Errorf("Rollback with equal Created = %s, %v; want %s", v, err, a.Version)
		}
	})
	t.Run("StrayTmpIgnoredAndReaped", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "models")
		s := mustOpen(t, dir, nil)
		a := put(t, s, "A")
		stray := filepath.Join(dir, "backups", "model_backup_20260101_000000_000001.tmp")
		os.Mkdir(stray, 0o700)
		os.WriteFile(filepath.Join(stray, "model.bin"), []byte("half"), 0o600)
		link := filepath.Join(dir, ".intent_classifier.abc.tmp")
		os.Symlink("backups/x", link)
		ms, err := s.List(ctx)
		if err != nil || len(ms) != 1 || ms[0].Version != a.Version {
			t.Fatalf("List = %v, %v; want just %s", ms, err, a.Version)
		}
		s.Close()
		mustOpen(t, dir, nil)
		for _, p := range []string{stray, link} {
			if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s not reaped: %v", p, err)
			}
		}
	})
	t.Run("CorruptBackupRefused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "models")
		checked := 0
		s := mustOpen(t, dir, &backup.FileStoreOptions{Check: func(r io.Reader) error {
			checked++
			b, _ := io.ReadAll(r)
			if !bytes.HasPrefix(b, []byte("model")) {
				return errors.New("bad magic")
			}
			return nil
		}})
		a, b := put(t, s, "model A"), put(t, s, "model B")
		if err := s.Deploy(ctx, b.Version); err != nil {
			t.Fatal(err)
		}
		if err := flipByte(filepath.Join(dir, "backups", string(a.Version), "model.bin")); err != nil {
			t.Fatal(err)
		}
		err := s.Restore(ctx, a.Version)
		if !errors.Is(err, backup.ErrCorrupt) {
			t.Fatalf("Restore(corrupt) = %v, want ErrCorrupt", err)
		}
		t.Logf("refusal reads: %v", err)
		if err := s.Restore(ctx, ""); !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("Restore(previous = corrupt) = %v, want ErrCorrupt", err)
		}
		if cur, _ := s.Current(ctx); cur != b.Version || readDeployed(t, s) != "model B" {
			t.Errorf("deployed changed to %s", cur)
		}
		if err := s.Verify(ctx, b.Version); err != nil || checked == 0 {
			t.Errorf("Verify(good) = %v (checked %d)", err, checked)
		}
		// A checksum-correct body that fails the real load is refused too.
		c := put(t, s, "garbage")
		if err := s.Restore(ctx, c.Version); !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("Restore(unloadable) = %v, want ErrCorrupt", err)
		}
		d := put(t, s, "model D")
		if err := s.Restore(ctx, d.Version); err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(ctx, ""); err != nil || readDeployed(t, s) != "model B" {
			t.Errorf("Restore(previous) = %v, deployed %q; want model B", err, readDeployed(t, s))
		}
	})
	t.Run("LegacyDirectoryImported", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "models")
		legacy := filepath.Join(dir, "intent_classifier")
		os.MkdirAll(legacy, 0o755)
		os.WriteFile(filepath.Join(legacy, "model.bin"), []byte("legacy model"), 0o644)
		os.WriteFile(filepath.Join(legacy, "vocab.txt"), []byte("a b c"), 0o644)
		os.WriteFile(filepath.Join(legacy, "manifest.json"), []byte(`{"metrics":{"accuracy":0.8}}`), 0o644)
		s := mustOpen(t, dir, nil)
		cur, err := s.Current(ctx)
		if err != nil {
			t.Fatalf("Current after importing legacy: %v", err)
		}
		if readDeployed(t, s) != "legacy model" {
			t.Errorf("deployed = %q", readDeployed(t, s))
		}
		ms, _ := s.List(ctx)
		if len(ms) != 1 || ms[0].Version != cur || ms[0].Metrics["accuracy"] != 0.8 || len(ms[0].Files) != 3 {
			t.Fatalf("List = %+v", ms)
		}
		if err := s.Verify(ctx, cur); err != nil {
			t.Error(err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "backups", string(cur), "vocab.txt"))
		if string(b) != "a b c" {
			t.Errorf("vocab.txt = %q", b)
		}
		n := put(t, s, "new")
		if err := s.Deploy(ctx, n.Version); err != nil {
			t.Fatal(err)
		}
		if v, err := backup.Rollback(ctx, s); err != nil || v != cur || readDeployed(t, s) != "legacy model" {
			t.Errorf("Rollback to legacy = %s, %v", v, err)
		}
	})
	t.Run("LinkOutsideRefused", func(t *testing.T) {
		base := t.TempDir()
		dir := filepath.Join(base, "models")
		s := mustOpen(t, dir, nil)
		outside := filepath.Join(base, "outside")
		os.MkdirAll(outside, 0o700)
		os.WriteFile(filepath.Join(outside, "model.bin"), []byte("evil"), 0o600)
		for _, target := range []string{outside, "../outside", "backups/../../outside"} {
			os.Remove(s.DeployedPath())
			os.Symlink(target, s.DeployedPath())
			if _, err := s.Current(ctx); !errors.Is(err, backup.ErrOutsideStore) {
				t.Errorf("Current with link to %q = %v, want ErrOutsideStore", target, err)
			}
		}
		a := put(t, s, "A")
		if err := s.Deploy(ctx, a.Version); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(outside, "model.bin")); string(b) != "evil" {
			t.Error("deploy touched the outside directory")
		}
	})
}

func TestFileStore_InvalidNames(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	dir := filepath.Join(base, "models")
	s := mustOpen(t, dir, nil)
	// A well-formed backup outside the store that a traversal would reach.
	victim := filepath.Join(base, "model_backup_20260101_000000_000001")
	os.MkdirAll(victim, 0o700)
	os.WriteFile(filepath.Join(victim, "model.bin"), []byte("victim"), 0o600)
	names := []backup.Version{
		"", "../x", "../model_backup_20260101_000000_000001", "/etc/passwd",
		"model_backup_20260101_000000_000001/../../x", "model_backup_20260101_000000_00\x001",
		backup.Version(strings.Repeat("a", 256)), backup.Version("model_backup_20260101_000000_" + strings.Repeat("1", 256)),
		"model_backup_2026０101_000000_000001", // fullwidth digit
		"model_backup_20260101_000000_00000І", // Cyrillic I
		"model_backup_20260101_000000_ABC", "model_backup_20260101_000000_", "intent_classifier", ".", "backups",
	}
	for _, v := range names {
		t.Run(fmt.Sprintf("%.40q", v), func(t *testing.T) {
			if _, _, err := s.Open(ctx, v); !errors.Is(err, backup.ErrInvalidName) {
				t.Errorf("Open = %v", err)
			}
			if err := s.Deploy(ctx, v); !errors.Is(err, backup.ErrInvalidName) {
				t.Errorf("Deploy = %v", err)
			}
			if err := s.Verify(ctx, v); !errors.Is(err, backup.ErrInvalidName) {
				t.Errorf("Verify = %v", err)
			}
			if v != "" {
				if err := s.Restore(ctx, v); !errors.Is(err, backup.ErrInvalidName) {
					t.Errorf("Restore = %v", err)
				}
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(victim, "model.bin")); err != nil || string(b) != "victim" {
		t.Errorf("outside file touched: %q, %v", b, err)
	}
	ents, _ := os.ReadDir(base)
	if len(ents) != 2 {
		t.Errorf("entries outside the store changed: %v", ents)
	}
}

func TestFileStore_Prune(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "models")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := mustOpen(t, dir, &backup.FileStoreOptions{Now: func() time.Time { return now }})
	var vs []backup.Version
	for i := range 6 {
		now = now.Add(time.Hour)
		vs = append(vs, put(t, s, fmt.Sprint("model ", i)).Version)
	}
	// Deploy an old one: it and the version before it are pinned.
	if err := s.Deploy(ctx, vs[2]); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(ctx, backup.Policy{KeepLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(removed) != fmt.Sprint([]backup.Version{vs[4], vs[3], vs[0]}) {
		t.Errorf("removed %v", removed)
	}
	ms, _ := s.List(ctx)
	var left []backup.Version
	for _, m := range ms {
		left = append(left, m.Version)
	}
	if fmt.Sprint(left) != fmt.Sprint([]backup.Version{vs[5], vs[2], vs[1]}) {
		t.Errorf("left %v", left)
	}
	if readDeployed(t, s) != "model 2" {
		t.Error("deployed model changed")
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "backups"))
	if len(ents) != 3 {
		t.Errorf("backups/ holds %d entries, want 3", len(ents))
	}
	if removed, err := s.Prune(ctx, backup.Policy{}); err != nil || len(removed) != 0 {
		t.Errorf("zero Policy removed %v, %v", removed, err)
	}
}

func TestFileStore_Closed(t *testing.T) {
	s, err := backup.OpenFileStore(filepath.Join(t.TempDir(), "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.List(context.Background()); !errors.Is(err, backup.ErrClosed) {
		t.Errorf("List after Close = %v", err)
	}
}

// TestFileStore_PrunePinsAWorkingRollbackTarget: when the newest version
// older than the deployed one fails verification, Prune pins the next one
// that passes (the one Restore("") falls back to), not the broken one.
func TestFileStore_PrunePinsAWorkingRollbackTarget(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, opts *backup.FileStoreOptions, bodies ...string) (*backup.FileStore, []backup.Version) {
		t.Helper()
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		opts.Now = func() time.Time { return now }
		s := mustOpen(t, filepath.Join(t.TempDir(), "models"), opts)
		var vs []backup.Version
		for _, b := range bodies {
			now = now.Add(time.Hour)
			vs = append(vs, put(t, s, b).Version)
		}
		if err := s.Deploy(ctx, vs[len(vs)-1]); err != nil {
			t.Fatal(err)
		}
		return s, vs
	}
	check := func(t *testing.T, s *backup.FileStore, deployed, target backup.Version, wantBody string) {
		t.Helper()
		if got, err := s.RollbackTarget(ctx); err != nil || got != target {
			t.Errorf("RollbackTarget = %s, %v; want %s", got, err, target)
		}
		removed, err := s.Prune(ctx, backup.Policy{KeepLast: 1})
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		for _, v := range removed {
			if v == target || v == deployed {
				t.Errorf("Prune removed %s, the deployed version or the working rollback target", v)
			}
		}
		if err := s.Restore(ctx, ""); err != nil {
			t.Fatalf("Restore(\"\") after Prune: %v", err)
		}
		if got := readDeployed(t, s); got != wantBody {
			t.Errorf("restored %q, want %q", got, wantBody)
		}
	}

	t.Run("HashMismatch", func(t *testing.T) {
		s, vs := setup(t, &backup.FileStoreOptions{}, "model 0", "model 1", "model 2", "model 3")
		// vs[2], the naive rollback target, has a flipped byte (same size,
		// so List still shows it).
		if err := flipByte(filepath.Join(s.Dir(), "backups", string(vs[2]), "model.bin")); err != nil {
			t.Fatal(err)
		}
		check(t, s, vs[3], vs[1], "model 1")
	})

	t.Run("CheckHook", func(t *testing.T) {
		var checked []string
		opts := &backup.FileStoreOptions{Check: func(r io.Reader) error {
			b, _ := io.ReadAll(r)
			checked = append(checked, string(b))
			if !bytes.HasPrefix(b, []byte("model ")) {
				return errors.New("not a model")
			}
			return nil
		}}
		s, vs := setup(t, opts, "model 0", "model 1", "garbage", "model 3")
		checked = nil
		if _, err := s.Prune(ctx, backup.Policy{KeepLast: 5}); err != nil { // keeps all; shows what is verified
			t.Fatal(err)
		}
		// Only the candidates walked, newest first, until one passes.
		if want := "[garbage model 1]"; fmt.Sprint(checked) != want {
			t.Errorf("Prune ran Check on %v, want %s", checked, want)
		}
		check(t, s, vs[3], vs[1], "model 1")
	})

	t.Run("NoneWorks", func(t *testing.T) {
		// No older version verifies: the naive target stays pinned (there
		// was no working one to protect) and nothing fails.
		s, vs := setup(t, &backup.FileStoreOptions{}, "model 0", "model 1", "model 2")
		for _, v := range vs[:2] {
			if err := flipByte(filepath.Join(s.Dir(), "backups", string(v), "model.bin")); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RollbackTarget(ctx); !errors.Is(err, backup.ErrNoPrevious) || !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("RollbackTarget = %v, want ErrNoPrevious and ErrCorrupt", err)
		}
		removed, err := s.Prune(ctx, backup.Policy{KeepLast: 1})
		if err != nil || fmt.Sprint(removed) != fmt.Sprint([]backup.Version{vs[0]}) {
			t.Errorf("Prune = %v, %v; want [%s]", removed, err, vs[0])
		}
	})

	t.Run("CanceledDeletesNothing", func(t *testing.T) {
		s, vs := setup(t, &backup.FileStoreOptions{}, "model 0", "model 1", "model 2", "model 3")
		if err := flipByte(filepath.Join(s.Dir(), "backups", string(vs[2]), "model.bin")); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if removed, err := s.Prune(cctx, backup.Policy{KeepLast: 1}); err == nil || len(removed) != 0 {
			t.Errorf("Prune(canceled) = %v, %v; want an error and nothing removed", removed, err)
		}
	})
}

func TestMemStore_PrunePinsAWorkingRollbackTarget(t *testing.T) {
	ctx := context.Background()
	s := backup.NewMemStore()
	var vs []backup.Version
	for i := range 4 {
		m, err := s.Put(ctx, backup.Manifest{}, strings.NewReader(fmt.Sprint("model ", i)))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, m.Version)
	}
	if err := s.Deploy(ctx, vs[3]); err != nil {
		t.Fatal(err)
	}
	if err := s.Corrupt(ctx, vs[2]); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(ctx, backup.Policy{KeepLast: 1})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(removed) != fmt.Sprint([]backup.Version{vs[2], vs[0]}) {
		t.Errorf("removed %v, want [%s %s]", removed, vs[2], vs[0])
	}
	if v, err := backup.Rollback(ctx, s); err != nil || v != vs[1] {
		t.Errorf("Rollback after Prune = %s, %v; want %s", v, err, vs[1])
	}
}
