package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// DropSchema removes the DB's schema and everything in it (tests only).
func (db *DB) DropSchema(ctx context.Context) error {
	_, err := db.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{db.schema}.Sanitize()+" CASCADE")
	return err
}

// Exec runs sql on the DB (tests only: to damage data behind the store's back).
func (db *DB) Exec(ctx context.Context, sql string, args ...any) error {
	_, err := db.pool.Exec(ctx, sql, args...)
	return err
}

// QueryRow runs sql on the DB and scans its one row into dest (tests only:
// to read what a person reviewing the tables would).
func (db *DB) QueryRow(ctx context.Context, sql string, dest ...any) error {
	return db.pool.QueryRow(ctx, sql).Scan(dest...)
}
