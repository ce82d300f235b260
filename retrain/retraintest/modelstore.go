// Package retraintest holds conformance suites that any implementation of
// the retrain interfaces can run, in the manner of testing/fstest and
// go-cloud's drivertest.
package retraintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"moodfood/backup"
	"moodfood/retrain"
)

// Corrupter is an optional interface a ModelStore under test may implement
// so that TestModelStore can check that corruption is detected: Corrupt
// flips at least one byte of version v's stored body behind the store's
// back. Without it the corruption case is skipped.
type Corrupter interface {
	Corrupt(ctx context.Context, v backup.Version) error
}

// missing is a well-formed version name no test ever creates.
const missing = backup.Version("model_backup_19990101_000000_zzzz")

// TestModelStore runs the retrain.ModelStore contract against stores made by
// newStore, which must return a fresh, empty store for every call (it is
// called once per subtest). It checks: Put/Open round trip; a canceled
// context stores nothing; List order and completeness; Deploy and Current;
// backup.Rollback; ErrNotFound and ErrNoCurrent; ErrCorrupt (when the
// store implements Corrupter); that Prune keeps the deployed version and
// its rollback target (when the store implements backup.Pruner), and
// keeps a working one when the newest older version is corrupt (when it
// implements both); and that
// concurrent Puts get distinct versions and Current never reports nothing
// while Deploys race.
func TestModelStore(t *testing.T, newStore func(t *testing.T) retrain.ModelStore) {
	t.Helper()
	ctx := context.Background()
	put := func(t *testing.T, s retrain.ModelStore, body string) backup.Manifest {
		t.Helper()
		m, err := s.Put(ctx, backup.Manifest{Metrics: map[string]float64{"accuracy": 0.9}, DatasetFingerprint: "fp-1"}, bytes.NewBufferString(body))
		if err != nil {
			t.Fatalf("Put(%q): %v", body, err)
		}
		return m
	}
	read := func(t *testing.T, s retrain.ModelStore, v backup.Version) (backup.Manifest, string, error) {
		t.Helper()
		m, rc, err := s.Open(ctx, v)
		if err != nil {
			return m, "", err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		return m, string(b), err
	}

	t.Run("PutOpenRoundTrip", func(t *testing.T) {
		s := newStore(t)
		body := "model body \x00\xff with bytes"
		m := put(t, s, body)
		if err := m.Version.Validate(); err != nil {
			t.Errorf("Put returned version %q: %v", m.Version, err)
		}
		if m.Created.IsZero() || len(m.Files) == 0 {
			t.Errorf("Put did not fill Created/Files: %+v", m)
		}
		got, b, err := read(t, s, m.Version)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if b != body {
			t.Errorf("body = %q, want %q", b, body)
		}
		if got.Version != m.Version || !got.Created.Equal(m.Created) || got.DatasetFingerprint != m.DatasetFingerprint ||
			got.Metrics["accuracy"] != 0.9 || got.Size() != int64(len(body)) {
			t.Errorf("manifest = %+v, want %+v", got, m)
		}
	})

	t.Run("EmptyBody", func(t *testing.T) {
		s := newStore(t)
		m := put(t, s, "")
		if _, b, err := read(t, s, m.Version); err != nil || b != "" {
			t.Fatalf("Open empty = %q, %v", b, err)
		}
	})

	t.Run("CanceledPutStoresNothing", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Put(cctx, backup.Manifest{}, bytes.NewBufferString("x")); !errors.Is(err, context.Canceled) {
			t.Errorf("Put with canceled ctx: %v, want context.Canceled", err)
		}
		// Canceled while the body is being read.
		cctx, cancel = context.WithCancel(ctx)
		defer cancel()
		body := io.MultiReader(bytes.NewBufferString("first part"), cancelReader{cancel}, bytes.NewBufferString("rest"))
		if _, err := s.Put(cctx, backup.Manifest{}, body); err == nil {
			t.Errorf("Put canceled mid-body returned nil")
		}
		// A failing body.
		boom := errors.New("boom")
		if _, err := s.Put(ctx, backup.Manifest{}, io.MultiReader(bytes.NewBufferString("x"), errReader{boom})); !errors.Is(err, boom) {
			t.Errorf("Put with failing body: %v, want boom", err)
		}
		if ms, err := s.List(ctx); err != nil || len(ms) != 0 {
			t.Errorf("List after failed Puts = %d versions, %v; want none", len(ms), err)
		}
		if _, err := s.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
			t.Errorf("Current = %v, want ErrNoCurrent", err)
		}
	})

	t.Run("ListNewestFirst", func(t *testing.T) {
		s := newStore(t)
		if ms, err := s.List(ctx); err != nil || len(ms) != 0 {
			t.Fatalf("List of empty store = %v, %v", ms, err)
		}
		var want []backup.Version
		for i := range 5 {
			want = append([]backup.Version{put(t, s, fmt.Sprint("v", i)).Version}, want...)
		}
		ms, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []backup.Version
		for _, m := range ms {
			got = append(got, m.Version)
			if len(m.Files) == 0 {
				t.Errorf("List entry %s has no files", m.Version)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("List = %v, want %v", got, want)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, _, err := s.Open(ctx, missing); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("Open(missing) = %v, want ErrNotFound", err)
		}
		if err := s.Deploy(ctx, missing); !errors.Is(err, backup.ErrNotFound) {
			t.Errorf("Deploy(missing) = %v, want ErrNotFound", err)
		}
		if _, err := s.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
			t.Errorf("Current after failed Deploy = %v, want ErrNoCurrent", err)
		}
	})

	t.Run("InvalidName", func(t *testing.T) {
		s := newStore(t)
		for _, v := range []backup.Version{"", "../x", "/etc/passwd", "model_backup_20240101_000000_a/../../x", "a\x00b"} {
			if _, _, err := s.Open(ctx, v); !errors.Is(err, backup.ErrInvalidName) && !errors.Is(err, backup.ErrNotFound) {
				t.Errorf("Open(%q) = %v, want ErrInvalidName or ErrNotFound", v, err)
			}
			if err := s.Deploy(ctx, v); err == nil {
				t.Errorf("Deploy(%q) succeeded", v)
			}
		}
	})

	t.Run("DeployCurrent", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
			t.Fatalf("Current on empty store = %v, want ErrNoCurrent", err)
		}
		a, b := put(t, s, "a"), put(t, s, "b")
		if _, err := s.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
			t.Errorf("Put deployed something: %v", err)
		}
		for _, v := range []backup.Version{a.Version, b.Version, a.Version, a.Version} {
			if err := s.Deploy(ctx, v); err != nil {
				t.Fatalf("Deploy(%s): %v", v, err)
			}
			if cur, err := s.Current(ctx); err != nil || cur != v {
				t.Fatalf("Current = %s, %v; want %s", cur, err, v)
			}
		}
		c := put(t, s, "c")
		if c.Replaces != "" && c.Replaces != a.Version {
			t.Errorf("Replaces = %q, want %q (or left empty)", c.Replaces, a.Version)
		}
	})

	t.Run("Rollback", func(t *testing.T) {
		s := newStore(t)
		if _, err := backup.Rollback(ctx, s); !errors.Is(err, backup.ErrNoCurrent) {
			t.Errorf("Rollback on empty store = %v, want ErrNoCurrent", err)
		}
		a := put(t, s, "a")
		if err := s.Deploy(ctx, a.Version); err != nil {
			t.Fatal(err)
		}
		if _, err := backup.Rollback(ctx, s); !errors.Is(err, backup.ErrNoPrevious) {
			t.Errorf("Rollback with one version = %v, want ErrNoPrevious", err)
		}
		b := put(t, s, "b")
		c := put(t, s, "c") // newer than b, never deployed
		if err := s.Deploy(ctx, b.Version); err != nil {
			t.Fatal(err)
		}
		v, err := backup.Rollback(ctx, s)
		if err != nil || v != a.Version {
			t.Fatalf("Rollback = %s, %v; want %s", v, err, a.Version)
		}
		if cur, _ := s.Current(ctx); cur != a.Version {
			t.Errorf("Current after Rollback = %s, want %s", cur, a.Version)
		}
		if err := s.Deploy(ctx, c.Version); err != nil {
			t.Fatal(err)
		}
		if v, err := backup.Rollback(ctx, s); err != nil || v != b.Version {
			t.Errorf("Rollback from newest = %s, %v; want %s", v, err, b.Version)
		}
	})

	t.Run("Corrupt", func(t *testing.T) {
		s := newStore(t)
		c, ok := s.(Corrupter)
		if !ok {
			t.Skip("store does not implement retraintest.Corrupter")
		}
		good, bad := put(t, s, "good model"), put(t, s, "bad model")
		if err := s.Deploy(ctx, good.Version); err != nil {
			t.Fatal(err)
		}
		if err := c.Corrupt(ctx, bad.Version); err != nil {
			t.Fatal(err)
		}
		_, _, err := read(t, s, bad.Version)
		if !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("Open(corrupted) = %v, want ErrCorrupt", err)
		}
		if err := s.Deploy(ctx, bad.Version); !errors.Is(err, backup.ErrCorrupt) {
			t.Errorf("Deploy(corrupted) = %v, want ErrCorrupt", err)
		}
		if cur, err := s.Current(ctx); err != nil || cur != good.Version {
			t.Errorf("Current after refused Deploy = %s, %v; want %s", cur, err, good.Version)
		}
		if _, b, err := read(t, s, good.Version); err != nil || b != "good model" {
			t.Errorf("Open(good) = %q, %v", b, err)
		}
	})

	t.Run("PruneKeepsDeployedAndRollbackTarget", func(t *testing.T) {
		s := newStore(t)
		p, ok := s.(backup.Pruner)
		if !ok {
			t.Skip("store does not implement backup.Pruner")
		}
		var vs []backup.Version
		for i := range 5 {
			vs = append(vs, put(t, s, fmt.Sprint("p", i)).Version)
		}
		// vs[2] deployed: it and its rollback target vs[1] are pinned, and
		// KeepLast keeps the newest, vs[4].
		if err := s.Deploy(ctx, vs[2]); err != nil {
			t.Fatal(err)
		}
		removed, err := p.Prune(ctx, backup.Policy{KeepLast: 1})
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if got := fmt.Sprint(sortedVersions(removed)); got != fmt.Sprint(sortedVersions([]backup.Version{vs[0], vs[3]})) {
			t.Errorf("Prune removed %s, want %s and %s", got, vs[0], vs[3])
		}
		ms, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var left []backup.Version
		for _, m := range ms {
			left = append(left, m.Version)
		}
		if want := []backup.Version{vs[4], vs[2], vs[1]}; fmt.Sprint(left) != fmt.Sprint(want) {
			t.Errorf("List after Prune = %v, want %v", left, want)
		}
		if cur, err := s.Current(ctx); err != nil || cur != vs[2] {
			t.Errorf("Current after Prune = %s, %v; want %s", cur, err, vs[2])
		}
		if v, err := backup.Rollback(ctx, s); err != nil || v != vs[1] {
			t.Errorf("Rollback after Prune = %s, %v; want %s", v, err, vs[1])
		}
	})

	t.Run("PruneKeepsAWorkingRollbackTarget", func(t *testing.T) {
		s := newStore(t)
		p, ok := s.(backup.Pruner)
		if !ok {
			t.Skip("store does not implement backup.Pruner")
		}
		c, ok := s.(Corrupter)
		if !ok {
			t.Skip("store does not implement Corrupter")
		}
		var vs []backup.Version
		for i := range 4 {
			vs = append(vs, put(t, s, fmt.Sprint("w", i)).Version)
		}
		if err := s.Deploy(ctx, vs[3]); err != nil {
			t.Fatal(err)
		}
		// The newest older version is broken: the next one is the working
		// rollback target, and retention must not remove it.
		if err := c.Corrupt(ctx, vs[2]); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Prune(ctx, backup.Policy{KeepLast: 1}); err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if cur, err := s.Current(ctx); err != nil || cur != vs[3] {
			t.Errorf("Current after Prune = %s, %v; want %s", cur, err, vs[3])
		}
		if v, err := backup.Rollback(ctx, s); err != nil || v != vs[1] {
			t.Errorf("Rollback after Prune = %s, %v; want %s (the newest older version that is not corrupt)", v, err, vs[1])
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := newStore(t)
		const n = 8
		var wg sync.WaitGroup
		vs := make([]backup.Version, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				m, err := s.Put(ctx, backup.Manifest{}, bytes.NewBufferString(fmt.Sprint("body ", i)))
				vs[i], errs[i] = m.Version, err
			})
		}
		wg.Wait()
		seen := map[backup.Version]bool{}
		for i, v := range vs {
			if errs[i] != nil {
				t.Fatalf("parallel Put %d: %v", i, errs[i])
			}
			if seen[v] {
				t.Fatalf("parallel Puts shared version %s", v)
			}
			seen[v] = true
			if _, b, err := read(t, s, v); err != nil || b != fmt.Sprint("body ", i) {
				t.Errorf("Open(%s) = %q, %v", v, b, err)
			}
		}
		if err := s.Deploy(ctx, vs[0]); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var readers sync.WaitGroup
		var bad sync.Once
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if cur, err := s.Current(ctx); err != nil || !seen[cur] {
						bad.Do(func() { t.Errorf("Current during deploys = %q, %v", cur, err) })
					}
				}
			})
		}
		for i := range n {
			wg.Go(func() {
				if err := s.Deploy(ctx, vs[i]); err != nil {
					t.Errorf("parallel Deploy: %v", err)
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
	})
}

func sortedVersions(vs []backup.Version) []backup.Version {
	return slices.Sorted(slices.Values(vs))
}

type cancelReader struct{ cancel context.CancelFunc }

func (c cancelReader) Read([]byte) (int, error) { c.cancel(); return 0, io.EOF }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
