package pgstore

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"moodfood/retrain"
)

// Options tunes Open. A nil *Options and every zero field mean the default
// in the field's comment.
type Options struct {
	// Schema is the PostgreSQL schema that holds moodfood's tables
	// ("moodfood"). Several deployments can share one database in separate
	// schemas. It must match ^[a-z_][a-z0-9_]{0,62}$.
	Schema string
	// MaxConns caps the pool's connections (8). The Locker's connections
	// are not pooled and not counted.
	MaxConns int32
	// Check, if set, fully checks a version's body (a real load) for
	// ModelStore.Verify and Restore, after its checksum.
	Check func(io.Reader) error
	// Now is the clock (time.Now).
	Now func() time.Time
}

var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// DB is a connection pool to one moodfood schema. Its stores (Locker,
// Models, ...) share the pool. It is safe for concurrent use; Close closes
// the pool and every connection a Locker holds, which frees its locks.
type DB struct {
	pool   *pgxpool.Pool
	cfg    *pgx.ConnConfig // for the Locker's dedicated connections
	schema string
	secret string // the password, scrubbed from every error
	opts   Options
}

// ErrSchemaVersion is returned by Open when the database's schema is newer
// than this package knows (a newer moodfood migrated it) or was never
// migrated: run Migrate (cronjob migrate) first.
var ErrSchemaVersion = errors.New("pgstore: the database schema is not at this package's version")

// Open connects to the database at url (a postgres:// URL or a key=value
// connection string) and checks that Migrate brought its schema to this
// package's version. The password in url never appears in an error.
func Open(ctx context.Context, url string, opts *Options) (*DB, error) {
	db, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	v, err := db.schemaVersion(ctx)
	if err == nil && v != latestVersion() {
		err = fmt.Errorf("%w: it is at %d, this package needs %d (run cronjob migrate)", ErrSchemaVersion, v, latestVersion())
	}
	if err != nil {
		db.Close()
		return nil, db.scrub(err)
	}
	return db, nil
}

// Dial connects to the database at url like Open, without checking the
// schema and without waiting for the database: the pool connects on first
// use. Serving replicas use it, so that they start (from their model cache,
// with their query log buffering) while the database is down.
func Dial(ctx context.Context, url string, opts *Options) (*DB, error) {
	return connect(ctx, url, opts)
}

// connect opens the pool without checking the schema version.
func connect(ctx context.Context, url string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Schema == "" {
		o.Schema = "moodfood"
	}
	if !schemaPattern.MatchString(o.Schema) {
		return nil, fmt.Errorf("pgstore: invalid schema name %q", truncate(o.Schema, 70))
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	secret := urlPassword(url)
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New("pgstore: invalid database URL (not repeated here: it may hold a password)")
	}
	if pcfg.ConnConfig.Password != "" {
		secret = pcfg.ConnConfig.Password
	}
	pcfg.MaxConns = o.MaxConns
	// A pooled connection idle for 100ms is pinged before use, so that the
	// first query after a database restart does not fail on a dead one.
	pcfg.ShouldPing = func(_ context.Context, p pgxpool.ShouldPingParams) bool {
		return p.IdleDuration >= 100*time.Millisecond
	}
	pcfg.PingTimeout = 2 * time.Second
	pcfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	pcfg.ConnConfig.RuntimeParams["application_name"] = "moodfood"
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		pcfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, scrubWith(secret, fmt.Errorf("pgstore: connect: %w", err))
	}
	return &DB{pool: pool, cfg: pcfg.ConnConfig, schema: o.Schema, secret: secret, opts: o}, nil
}

// urlPassword returns the password of a postgres:// URL, if any.
func urlPassword(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return ""
	}
	p, _ := u.User.Password()
	return p
}

// Close closes the pool. It is safe to call more than once.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Schema returns the schema the DB works in.
func (db *DB) Schema() string { return db.schema }

// scrub replaces the password in err's message, keeping what errors.Is
// matches.
func (db *DB) scrub(err error) error { return scrubWith(db.secret, err) }

func scrubWith(secret string, err error) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

// scrubbed is an error whose message had the password removed.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// key returns the advisory lock key of name in this schema.
func (db *DB) key(name string) int64 {
	h := fnv.New64a()
	io.WriteString(h, "moodfood:"+db.schema+":"+name)
	return int64(h.Sum64())
}

// channel is the LISTEN/NOTIFY channel of deploys in this schema.
func (db *DB) channel() string { return db.schema + "_deploy" }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Stores returns the schema's stores for retrain.OpenStores: the
// DatasetStore (with opts), the ModelStore, the Locker, the History and
// the Quarantine.
// Closing the Retrainer closes the Locker's connections and this DB.
func (db *DB) Stores(opts *DatasetOptions) (retrain.Stores, error) {
	ds, err := db.Dataset(opts)
	if err != nil {
		return retrain.Stores{}, err
	}
	lk := db.Locker()
	return retrain.Stores{Data: ds, Models: db.Models(), Locker: lk, History: db.History(),
		Quarantine: db.Quarantine(), Closers: []io.Closer{db, lk}}, nil
}
