package pgstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"moodfood/backup"
	"moodfood/internal/atomicfile"
)

// SourceOptions tunes a Source. A nil *SourceOptions and every zero field
// mean the default in the field's comment.
type SourceOptions struct {
	// CacheDir is where the replica keeps the models it loaded, so that it
	// starts and keeps serving while the database is down ("" = no cache).
	// It is created 0700; files are 0600.
	CacheDir string
	// Poll is how often the deployed pointer is read even while LISTEN
	// works, and the longest a deploy goes unnoticed without NOTIFY (1s).
	Poll time.Duration
}

// Source is the model registry as a serving replica sees it (it satisfies
// serve.Source): it learns of deploys by LISTEN on the schema's deploy
// channel, with a poll of the pointer every SourceOptions.Poll as the
// fallback (and the only way while the listening connection is down, which
// it re-establishes with backoff). Stamp answers from memory. Every model
// it opens is copied to CacheDir (the last three, with their manifests and
// the deployed pointer), so that when the database is unreachable Current,
// Stamp and Open answer from the cache, checksums verified: a replica
// starts and serves while the database is down. It is safe for concurrent
// use; Close stops the listener.
type Source struct {
	db   *DB
	ms   *ModelStore
	opts SourceOptions

	mu      sync.Mutex
	current backup.Version
	stamp   string
	known   bool // current/stamp were read from the database at least once

	cancel context.CancelFunc
	done   chan struct{}
}

// Source starts watching the deployed pointer. It does not wait for the
// database: a replica starts from its cache while the database is down.
func (db *DB) Source(opts *SourceOptions) *Source {
	var o SourceOptions
	if opts != nil {
		o = *opts
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Source{db: db, ms: db.Models(), opts: o, cancel: cancel, done: make(chan struct{})}
	s.refresh(ctx)
	go s.watch(ctx)
	return s
}

// Close stops the listener. It is safe to call more than once.
func (s *Source) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// refresh reads the deployed pointer; on failure the last known one stays.
func (s *Source) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var v backup.Version
	var at time.Time
	err := s.db.pool.QueryRow(ctx, "SELECT version, deployed_at FROM model_deployed").Scan(&v, &at)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return
	}
	stamp := "none"
	if err == nil {
		stamp = string(v) + "@" + at.UTC().Format(time.RFC3339Nano)
	}
	s.mu.Lock()
	changed := v != s.current || !s.known
	s.current, s.stamp, s.known = v, stamp, true
	s.mu.Unlock()
	if changed && v != "" && s.opts.CacheDir != "" {
		s.writeCache("deployed", []byte(v+"\n"))
	}
}

// watch listens for deploys, polling every Poll, until ctx is done.
func (s *Source) watch(ctx context.Context) {
	defer close(s.done)
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, s.db.cfg.Copy())
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.db.channel()}.Sanitize())
			if err != nil {
				conn.Close(context.Background())
			}
		}
		if err != nil {
			s.refresh(ctx) // polling while LISTEN is unavailable
			select {
			case <-ctx.Done():
			case <-time.After(min(backoff, s.opts.Poll)):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		s.refresh(ctx) // catch up on what happened while not listening
		for ctx.Err() == nil {
			wctx, cancel := context.WithTimeout(ctx, s.opts.Poll)
			_, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
				break // the connection is gone: reconnect
			}
			s.refresh(ctx)
		}
		conn.Close(context.Background())
	}
}

// Stamp changes whenever the deployed version changes. It answers from
// memory (or from the cache while the database was never reached).
func (s *Source) Stamp() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known {
		return s.stamp, nil
	}
	if v, ok := s.cachedCurrent(); ok {
		return "cache:" + string(v), nil
	}
	return "", fmt.Errorf("pgstore: source: the database was never reached and nothing is cached: %w", backup.ErrNoCurrent)
}

// Current returns the deployed version as last read from the database, or
// from the cache when the database was never reached.
func (s *Source) Current(ctx context.Context) (backup.Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known {
		if v, ok := s.cachedCurrent(); ok {
			return v, nil
		}
		return "", fmt.Errorf("pgstore: source: the database was never reached and nothing is cached: %w", backup.ErrNoCurrent)
	}
	if s.current == "" {
		return "", backup.ErrNoCurrent
	}
	return s.current, nil
}

// Deploy deploys v in the database (see ModelStore.Deploy).
func (s *Source) Deploy(ctx context.Context, v backup.Version) error {
	if err := s.ms.Deploy(ctx, v); err != nil {
		return err
	}
	s.refresh(ctx)
	return nil
}

// Open returns v from the database and keeps a copy in the cache; when the
// database cannot be reached, from the cache, its checksum verified.
func (s *Source) Open(ctx context.Context, v backup.Version) (backup.Manifest, io.ReadCloser, error) {
	m, body, err := s.ms.read(ctx, s.db.pool, v)
	if err == nil {
		s.cacheVersion(m, body)
		return m, io.NopCloser(bytes.NewReader(body)), nil
	}
	if errors.Is(err, backup.ErrNotFound) || errors.Is(err, backup.ErrCorrupt) || errors.Is(err, backup.ErrInvalidName) {
		return backup.Manifest{}, nil, s.db.scrub(fmt.Errorf("pgstore: open %s: %w", v, err))
	}
	if cm, cb, cerr := s.readCached(v); cerr == nil {
		return cm, io.NopCloser(bytes.NewReader(cb)), nil
	}
	return backup.Manifest{}, nil, s.db.scrub(fmt.Errorf("pgstore: open %s: %w", v, err))
}

// cacheKeep is how many versions the cache keeps (the most recently opened).
const cacheKeep = 3

func (s *Source) writeCache(name string, b []byte) error {
	if err := os.MkdirAll(s.opts.CacheDir, 0o700); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(s.opts.CacheDir, name), 0o600, b)
}

// cacheVersion stores v's body and manifest (body first, so a manifest
// always has its body) and drops the oldest versions beyond cacheKeep.
func (s *Source) cacheVersion(m backup.Manifest, body []byte) {
	if s.opts.CacheDir == "" {
		return
	}
	mj, err := json.Marshal(m)
	if err != nil {
		return
	}
	if s.writeCache(string(m.Version)+".model", body) != nil || s.writeCache(string(m.Version)+".json", mj) != nil {
		return
	}
	ents, err := os.ReadDir(s.opts.CacheDir)
	if err != nil {
		return
	}
	type cached struct {
		v  string
		at time.Time
	}
	var all []cached
	for _, e := range ents {
		if n := e.Name(); filepath.Ext(n) == ".json" {
			if fi, err := e.Info(); err == nil {
				all = append(all, cached{n[:len(n)-5], fi.ModTime()})
			}
		}
	}
	if len(all) <= cacheKeep {
		return
	}
	for i := range all { // newest first
		for j := i + 1; j < len(all); j++ {
			if all[j].at.After(all[i].at) {
				all[i], all[j] = all[j], all[i]
			}
		}
	}
	for _, c := range all[cacheKeep:] {
		os.Remove(filepath.Join(s.opts.CacheDir, c.v+".json"))
		os.Remove(filepath.Join(s.opts.CacheDir, c.v+".model"))
	}
}

func (s *Source) cachedCurrent() (backup.Version, bool) {
	if s.opts.CacheDir == "" {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(s.opts.CacheDir, "deployed"))
	if err != nil {
		return "", false
	}
	v := backup.Version(bytes.TrimSpace(b))
	if v.Validate() != nil {
		return "", false
	}
	return v, true
}

func (s *Source) readCached(v backup.Version) (backup.Manifest, []byte, error) {
	if s.opts.CacheDir == "" {
		return backup.Manifest{}, nil, backup.ErrNotFound
	}
	if err := v.Validate(); err != nil {
		return backup.Manifest{}, nil, err
	}
	mj, err := os.ReadFile(filepath.Join(s.opts.CacheDir, string(v)+".json"))
	if err != nil {
		return backup.Manifest{}, nil, backup.ErrNotFound
	}
	var m backup.Manifest
	if err := json.Unmarshal(mj, &m); err != nil || len(m.Files) != 1 {
		return backup.Manifest{}, nil, backup.ErrCorrupt
	}
	body, err := os.ReadFile(filepath.Join(s.opts.CacheDir, string(v)+".model"))
	if err != nil {
		return backup.Manifest{}, nil, backup.ErrNotFound
	}
	sum := sha256.Sum256(body)
	if int64(len(body)) != m.Files[0].Size || hex.EncodeToString(sum[:]) != m.Files[0].SHA256 {
		return backup.Manifest{}, nil, backup.ErrCorrupt
	}
	return m, body, nil
}
