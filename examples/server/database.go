package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"moodfood/model"
	"moodfood/retrain/pgstore"
)

// serveDatabase serves from a PostgreSQL database (package retrain/pgstore):
// the deployed model from the registry, picked up by LISTEN/NOTIFY with
// polling as the fallback and cached in cfg.cacheDir so that the server
// starts and serves while the database is down; every query goes to the
// database's query log through a bounded buffer (drops counted in
// /status). The schema is $MOODFOOD_DATABASE_SCHEMA ("moodfood"). Shadow
// disagreements are appended to the cache directory.
func serveDatabase(ctx context.Context, cfg config, log *slog.Logger) (err error) {
	db, err := pgstore.Dial(ctx, cfg.databaseURL, &pgstore.Options{Schema: os.Getenv("MOODFOOD_DATABASE_SCHEMA"),
		Check: func(r io.Reader) error { _, err := model.Decode(r); return err }})
	if err != nil {
		return err
	}
	defer db.Close()
	cache := cfg.cacheDir
	if cache == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return err
		}
		cache = filepath.Join(dir, "moodfood-models", db.Schema())
	}
	if err := os.MkdirAll(cache, 0o700); err != nil {
		return err
	}
	src := db.Source(&pgstore.SourceOptions{CacheDir: cache})
	defer src.Close()
	qlog := db.QueryLog(nil)
	defer func() {
		if cerr := qlog.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	ds, err := db.Dataset(nil)
	if err != nil {
		return err
	}
	obs := observeSource{history: db.History(), models: db.Models(), pending: ds.Pending, title: "moodfood " + db.Schema()}
	return serveWith(ctx, cfg, log, "", src, qlog, filepath.Join(cache, "shadow_disagreements.jsonl"), obs)
}
