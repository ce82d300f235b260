package pgstore_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/retrain/pgstore"
)

// TestSource: a deploy is seen through NOTIFY well before the poll would
// see it; a replica whose database is unreachable starts from its cache.
func TestSource(t *testing.T) {
	ctx := context.Background()
	db, url := openDB(t, nil)
	ms := db.Models()
	a, err := ms.Put(ctx, backup.Manifest{}, strings.NewReader("model a"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ms.Put(ctx, backup.Manifest{}, strings.NewReader("model b"))
	cache := t.TempDir()
	replica, err := pgstore.Dial(ctx, url, &pgstore.Options{Schema: db.Schema()})
	if err != nil {
		t.Fatal(err)
	}
	defer replica.Close()
	src := replica.Source(&pgstore.SourceOptions{CacheDir: cache, Poll: time.Hour})
	defer src.Close()
	if _, err := src.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
		t.Fatalf("Current before any deploy = %v", err)
	}
	stamp0, _ := src.Stamp()
	waitFor := func(v backup.Version) time.Duration {
		t.Helper()
		start := time.Now()
		if err := ms.Deploy(ctx, v); err != nil {
			t.Fatal(err)
		}
		for time.Since(start) < 10*time.Second {
			if cur, err := src.Current(ctx); err == nil && cur == v {
				return time.Since(start)
			}
			time.Sleep(time.Millisecond)
		}
		t.Fatalf("deploy of %s not seen in 10s (poll is an hour: NOTIFY is broken)", v)
		return 0
	}
	time.Sleep(200 * time.Millisecond) // let the listener start
	d := waitFor(a.Version)
	if s, _ := src.Stamp(); s == stamp0 {
		t.Error("Stamp did not change with the deploy")
	}
	waitFor(b.Version)
	waitFor(a.Version) // back to a: the stamp changes again
	t.Logf("deploy seen after %v", d)
	for _, v := range []backup.Version{a.Version, b.Version} {
		_, rc, err := src.Open(ctx, v)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}

	// A replica that cannot reach the database starts from the cache.
	dead, err := pgstore.Dial(ctx, "postgres://moodfood:pw@127.0.0.1:1/moodfood?sslmode=disable&connect_timeout=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	off := dead.Source(&pgstore.SourceOptions{CacheDir: cache, Poll: 50 * time.Millisecond})
	defer off.Close()
	cur, err := off.Current(ctx)
	if err != nil || cur != a.Version {
		t.Fatalf("Current from the cache = %s, %v; want %s", cur, err, a.Version)
	}
	if _, err := off.Stamp(); err != nil {
		t.Fatalf("Stamp from the cache: %v", err)
	}
	_, rc, err := off.Open(ctx, cur)
	if err != nil {
		t.Fatalf("Open from the cache: %v", err)
	}
	body, _ := io.ReadAll(rc)
	if string(body) != "model a" {
		t.Fatalf("cached body = %q", body)
	}
	if _, _, err := off.Open(ctx, "model_backup_20200101_000000_000009"); err == nil {
		t.Error("Open of a version never cached succeeded")
	}
	// An empty cache and no database: nothing deployed, said so.
	none := dead.Source(&pgstore.SourceOptions{CacheDir: t.TempDir()})
	defer none.Close()
	if _, err := none.Current(ctx); !errors.Is(err, backup.ErrNoCurrent) {
		t.Errorf("Current with no database and no cache = %v", err)
	}
}
