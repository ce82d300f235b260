// Package pgstore keeps moodfood on PostgreSQL, so that many serving
// replicas and the retraining job share one database. Like a database/sql
// driver it implements the retrain interfaces; it is the only package that
// imports pgx.
//
// # Pieces
//
//	db, err := pgstore.Open(ctx, url, nil) // after pgstore.Migrate (cronjob migrate)
//	db.Locker()  // retrain.Locker: pg_try_advisory_lock on a dedicated connection
//	db.Models()  // retrain.ModelStore (+ Restorer, MarkDeployer, backup.Pruner, backup.Verifier)
//	db.History() // retrain.History: one row per run
//	db.Quarantine() // retrain.Quarantine: one row per sample runs left out, for review
//	db.Dataset(nil)  // retrain.DatasetStore (+ Previewer, Signaler): base, golden, exported samples, watermarks
//	db.QueryLog(nil) // serve.QueryLogger: batched COPY from a bounded queue
//	db.Source(nil)   // serve.Source: LISTEN/NOTIFY + polling, local model cache
//	db.Stores(nil)   // all of the above for retrain.OpenStores
//
// Every table lives in one schema (Options.Schema, "moodfood" by default),
// so several deployments can share a database; advisory lock keys and the
// NOTIFY channel are derived from the schema name.
//
// # Migrations
//
// The schema is versioned by numbered SQL files embedded in the package
// (migrations/NNNN_name.up.sql) and recorded in schema_migrations. Migrate
// applies what is missing, each file in its own transaction, under a
// session advisory lock: migrating twice is a no-op and concurrent
// migrators are safe. Open refuses a schema that is not at this package's
// version (ErrSchemaVersion), so an old binary never writes a newer schema.
//
// # Secrets
//
// The database password never appears in an error from this package:
// invalid URLs are not repeated and the password is replaced by "xxxxx" in
// the server's and the driver's messages.
package pgstore
