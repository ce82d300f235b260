package pgstore_test

import (
	"context"
	"os"
	"testing"

	"moodfood/internal/pgtest"
	"moodfood/retrain/pgstore"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openDB migrates a fresh schema of the tests' database and opens it; the
// schema is dropped at the end of the test. Without PostgreSQL the test is
// skipped.
func openDB(t testing.TB, opts *pgstore.Options) (*pgstore.DB, string) {
	t.Helper()
	url := pgtest.URL(t)
	var o pgstore.Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = pgtest.Schema(t)
	}
	ctx := context.Background()
	if _, err := pgstore.Migrate(ctx, url, &o); err != nil {
		t.Fatal(err)
	}
	db, err := pgstore.Open(ctx, url, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.DropSchema(context.Background())
		db.Close()
	})
	return db, url
}
