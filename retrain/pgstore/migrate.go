package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// The schema's migrations, applied in order of their number: NNNN_name.up.sql.
// A migration is never edited once released; changes are new files.
//
//go:embed migrations/*.up.sql
var migrationFS embed.FS

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.up\.sql$`)

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() []migration {
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		panic(err) // embedded: cannot fail
	}
	var out []migration
	for _, e := range ents {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			panic("pgstore: bad migration file name " + e.Name())
		}
		b, _ := migrationFS.ReadFile("migrations/" + e.Name())
		v, _ := strconv.Atoi(m[1])
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	return out
}

func latestVersion() int {
	ms := migrations()
	return ms[len(ms)-1].version
}

// Migrate brings the schema (Options.Schema) of the database at url to this
// package's version, creating it if needed, and returns the versions it
// applied (none when it was up to date: migrating twice is a no-op). Each
// migration runs in its own transaction with its row in
// schema_migrations. Concurrent migrators are safe: they take a session
// advisory lock for the schema and the later ones find nothing to do. A
// database migrated by a newer moodfood is left alone (ErrSchemaVersion).
func Migrate(ctx context.Context, url string, opts *Options) (applied []int, err error) {
	db, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	applied, err = db.migrate(ctx)
	return applied, db.scrub(err)
}

func (db *DB) migrate(ctx context.Context) ([]int, error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", db.key("migrate")); err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", db.key("migrate"))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{db.schema}.Sanitize()); err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("pgstore: migrate: %w", err)
	}
	have, err := db.schemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if have > latestVersion() {
		return nil, fmt.Errorf("%w: it is at %d, newer than this package's %d", ErrSchemaVersion, have, latestVersion())
	}
	var applied []int
	for _, m := range migrations() {
		if m.version <= have {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("pgstore: migrate: %s: %w", m.name, err)
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// schemaVersion returns the highest migration applied (0 for none).
func (db *DB) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		if isUndefinedTable(err) {
			return 0, nil
		}
		return 0, fmt.Errorf("pgstore: schema version: %w", err)
	}
	return v, nil
}
