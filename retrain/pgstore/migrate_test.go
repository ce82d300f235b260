package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"moodfood/internal/pgtest"
	"moodfood/retrain/pgstore"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	o := &pgstore.Options{Schema: pgtest.Schema(t)}

	t.Run("OpenRefusesUnmigrated", func(t *testing.T) {
		if _, err := pgstore.Open(ctx, url, o); !errors.Is(err, pgstore.ErrSchemaVersion) {
			t.Fatalf("Open before Migrate = %v, want ErrSchemaVersion", err)
		}
	})

	t.Run("ConcurrentMigratorsThenNoOp", func(t *testing.T) {
		const n = 4
		var wg sync.WaitGroup
		applied := make([][]int, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { applied[i], errs[i] = pgstore.Migrate(ctx, url, o) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("migrator %d: %v", i, errs[i])
			}
		}
		winners := 0
		for _, a := range applied {
			if len(a) > 0 {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("%d migrators applied migrations, want exactly 1: %v", winners, applied)
		}
		again, err := pgstore.Migrate(ctx, url, o)
		if err != nil || len(again) != 0 {
			t.Errorf("second Migrate applied %v, %v; want nothing", again, err)
		}
		db, err := pgstore.Open(ctx, url, o)
		if err != nil {
			t.Fatalf("Open after Migrate: %v", err)
		}
		db.DropSchema(ctx)
		db.Close()
	})

	t.Run("InvalidSchema", func(t *testing.T) {
		if _, err := pgstore.Migrate(ctx, url, &pgstore.Options{Schema: `x"; DROP TABLE y; --`}); err == nil {
			t.Fatal("an invalid schema name was accepted")
		}
	})
}

func TestOpen_PasswordNeverInErrors(t *testing.T) {
	ctx := context.Background()
	const pw = "S3cr3t-pw-never-shown"
	for _, url := range []string{
		"postgres://moodfood:" + pw + "@127.0.0.1:1/moodfood?sslmode=disable&connect_timeout=2",
		"postgres://moodfood:" + pw + "@[bad",
		"host=127.0.0.1 port=1 user=moodfood password=" + pw + " dbname=x sslmode=disable connect_timeout=2",
		"host=127.0.0.1 port=notaport password=" + pw,
	} {
		_, err := pgstore.Open(ctx, url, nil)
		if err == nil {
			t.Fatalf("Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the password is in the error: %v", err)
		}
		_, err = pgstore.Migrate(ctx, url, nil)
		if err == nil || strings.Contains(err.Error(), pw) {
			t.Errorf("Migrate error = %v", err)
		}
	}
}
