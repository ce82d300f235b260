package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
)

// envDatabaseURL names the variable that holds the database URL when
// --database-url is not given.
const envDatabaseURL = "MOODFOOD_DATABASE_URL"

// registerDatabaseURL adds --database-url to fl.
func registerDatabaseURL(fl *flag.FlagSet) *string {
	return fl.String("database-url", "", "PostgreSQL `URL`: the stores live in this database instead of under a root\n(default $"+envDatabaseURL+"; prefer the variable, since a process's arguments are public)")
}

// databaseURL returns the flag's value or, when it is empty,
// $MOODFOOD_DATABASE_URL; "" means the file stores under a root.
func databaseURL(flagVal string) string {
	if flagVal != "" {
		return flagVal
	}
	return os.Getenv(envDatabaseURL)
}

var (
	keyPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
	urlUserinfo = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*://[^:@/]*):[^@]*@`)
)

// redactURL returns u with its password replaced by "xxxxx", for output,
// also when u does not parse.
func redactURL(u string) string {
	if strings.Contains(u, "://") {
		if p, err := url.Parse(u); err == nil {
			if _, ok := p.User.Password(); ok {
				p.User = url.UserPassword(p.User.Username(), "xxxxx")
			}
			return p.String()
		}
		return urlUserinfo.ReplaceAllString(u, "${1}:xxxxx@")
	}
	return keyPassword.ReplaceAllString(u, "${1}xxxxx")
}

// envDatabaseSchema names the variable that picks the schema moodfood's
// tables live in (default "moodfood"), for several deployments in one
// database.
const envDatabaseSchema = "MOODFOOD_DATABASE_SCHEMA"

// pgOptions are the store options the commands use: the schema from
// $MOODFOOD_DATABASE_SCHEMA and a full model.Decode as the check of Verify
// and Restore.
func pgOptions() *pgstore.Options {
	return &pgstore.Options{Schema: os.Getenv(envDatabaseSchema),
		Check: func(r io.Reader) error { _, err := model.Decode(r); return err }}
}

// openDatabase opens the stores in the database at url (migrated by
// "cronjob migrate" or "run --init").
func openDatabase(ctx context.Context, url string) (*pgstore.DB, error) {
	return pgstore.Open(ctx, url, pgOptions())
}

// openDatabaseRetrainer opens a Retrainer over the database's stores;
// closing it closes db.
func openDatabaseRetrainer(ctx context.Context, url string, ropts *retrain.Options) (*retrain.Retrainer, *pgstore.DB, error) {
	db, err := openDatabase(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	st, err := db.Stores(nil)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	rt, err := retrain.OpenStores(st, ropts)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return rt, db, nil
}

// initDatabase implements run --init with a database: it applies the
// schema, and when the database holds no samples yet it loads src's base
// set, golden set and the samples its query log exports (read from a copy
// of src, which is never written to). It reports whether it loaded
// anything.
func initDatabase(ctx context.Context, url, src string) (bool, error) {
	if _, err := pgstore.Migrate(ctx, url, pgOptions()); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp("", "moodfood-init-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	if _, err := initRoot(root, src); err != nil {
		return false, err
	}
	fs, err := dataset.OpenFileStore(root, nil)
	if err != nil {
		return false, err
	}
	snap, err := fs.Preview(ctx)
	fs.Close()
	if err != nil {
		return false, fmt.Errorf("--init %s: %w", src, err)
	}
	db, err := openDatabase(ctx, url)
	if err != nil {
		return false, err
	}
	defer db.Close()
	ds, err := db.Dataset(nil)
	if err != nil {
		return false, err
	}
	// Preview left the golden samples out of the others; load them all.
	return ds.Load(ctx, snap.Base, snap.Golden, append(snap.Old, snap.New...))
}

// cmdMigrate implements "cronjob migrate".
func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := newFlagSet("migrate", stderr, "migrate [--database-url URL]",
		"Creates or upgrades moodfood's schema in the PostgreSQL database. Migrating twice\n"+
			"is a no-op, and several migrators at once are safe.")
	dbF := registerDatabaseURL(fl)
	if code, ok := parseFlags(fl, args); !ok {
		return code
	}
	u := databaseURL(*dbF)
	if u == "" {
		fmt.Fprintln(stderr, "cronjob migrate: no database: pass --database-url URL or set "+envDatabaseURL)
		return exitUsage
	}
	applied, err := pgstore.Migrate(ctx, u, pgOptions())
	if err != nil {
		fmt.Fprintln(stderr, "cronjob migrate:", err)
		return exitFailed
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "schema up to date")
	} else {
		fmt.Fprintf(stdout, "applied migrations %v\n", applied)
	}
	return exitOK
}

// withDatabaseStore runs a store command's body on the database's model
// registry; with exclusive set it first takes the run lock (exit 4 while a
// run holds it).
func withDatabaseStore(ctx context.Context, name string, exclusive bool, url string, stderr io.Writer, body func(ctx context.Context, s modelStore, h retrain.History) int) int {
	db, err := openDatabase(ctx, url)
	if err != nil {
		fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
		return exitFailed
	}
	defer db.Close()
	if exclusive {
		lk := db.Locker()
		host, _ := os.Hostname()
		unlock, _, err := lk.Lock(ctx, retrain.Holder{RunID: "cronjob " + name, PID: os.Getpid(), Host: host, Started: time.Now().UTC()})
		if errors.Is(err, retrain.ErrBusy) {
			fmt.Fprintf(stderr, "cronjob %s: a retraining run holds the database's lock; try again when it ends\n", name)
			return exitBusy
		}
		if err != nil {
			fmt.Fprintf(stderr, "cronjob %s: %v\n", name, err)
			return exitFailed
		}
		defer unlock()
	}
	return body(ctx, db.Models(), db.History())
}
