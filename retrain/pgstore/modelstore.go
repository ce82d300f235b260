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
	"time"

	"github.com/jackc/pgx/v5"

	"moodfood/backup"
	"moodfood/retrain"
)

// chunkSize is the largest piece of a body stored in one model_chunks row.
const chunkSize = 1 << 20

// bodyName is the name of the one file of a version, as in backup.FileStore.
const bodyName = "model.bin"

// ModelStore is the model registry on PostgreSQL: write-once versions
// (model_versions, with the manifest as jsonb, and the body in model_chunks
// rows of at most 1 MiB) and one deployed pointer (model_deployed).
//   - Put streams the body in with COPY, hashing it on the way, and commits
//     the version row and its chunks in one transaction: a failed or
//     canceled Put leaves nothing. Names are model_backup_YYYYMMDD_HHMMSS_<n>
//     with n from a sequence, so concurrent Puts never collide. A trigger
//     refuses any UPDATE of a version.
//   - Open and Verify check the body's size and SHA-256 before returning it
//     (Verify also runs Options.Check); Deploy checks them on the server.
//   - Deploy moves the pointer and sends a NOTIFY on the schema's deploy
//     channel in one transaction: replicas see the old version or the new
//     one, and hear of it when it commits.
//   - Prune never deletes the deployed version (a foreign key refuses it
//     too) or its rollback target, the newest older version that passes
//     Verify; it holds the pointer's row lock, so no Deploy interleaves.
//   - DeployMark moves the pointer and the DatasetStore's training
//     watermark in one transaction, so a run that dies after its deploy
//     never leaves the samples it trained on counted as new.
//
// It implements retrain.ModelStore, retrain.Restorer, retrain.MarkDeployer,
// backup.Pruner and backup.Verifier, and is safe for concurrent use.
type ModelStore struct{ db *DB }

// Models returns the schema's model registry.
func (db *DB) Models() *ModelStore { return &ModelStore{db: db} }

var (
	_ retrain.ModelStore = (*ModelStore)(nil)
	_ retrain.Restorer   = (*ModelStore)(nil)
	_ backup.Pruner      = (*ModelStore)(nil)
	_ backup.Verifier    = (*ModelStore)(nil)
)

// Put stores body as a new version. See retrain.ModelStore.
func (s *ModelStore) Put(ctx context.Context, m backup.Manifest, body io.Reader) (backup.Manifest, error) {
	m, err := s.put(ctx, m, body)
	if err != nil {
		return backup.Manifest{}, s.db.scrub(fmt.Errorf("pgstore: put: %w", err))
	}
	return m, nil
}

func (s *ModelStore) put(ctx context.Context, m backup.Manifest, body io.Reader) (backup.Manifest, error) {
	if err := ctx.Err(); err != nil {
		return backup.Manifest{}, err
	}
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var seq int64
		if err := tx.QueryRow(ctx, "SELECT nextval('model_version_seq')").Scan(&seq); err != nil {
			return err
		}
		now := s.db.opts.Now().UTC()
		m.Version = backup.Version(fmt.Sprintf("model_backup_%s_%06d", now.Format("20060102_150405"), seq))
		m.Created = now.Truncate(time.Microsecond)
		if m.Replaces == "" {
			err := tx.QueryRow(ctx, "SELECT version FROM model_deployed").Scan(&m.Replaces)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		src := &chunkSource{v: string(m.Version), r: body, h: sha256.New(), buf: make([]byte, chunkSize)}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"model_chunks"}, []string{"version", "seq", "data"}, src); err != nil {
			if src.err != nil { // the body's own error, not COPY's report of it
				return src.err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		m.Files = []backup.FileSum{{Name: bodyName, Size: src.size, SHA256: hex.EncodeToString(src.h.Sum(nil))}}
		mj, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO model_versions (version, created, manifest, size, sha256)
			VALUES ($1, $2, $3, $4, $5)`, m.Version, m.Created, mj, src.size, m.Files[0].SHA256); err != nil {
			return err
		}
		return ctx.Err() // the last point where cancellation is honoured
	})
	return m, err
}

// chunkSource feeds a body to COPY in chunks, hashing it.
type chunkSource struct {
	v string
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	buf  []byte
	n    int
	seq  int
	size int64
	err  error
	done bool
}

func (c *chunkSource) Next() bool {
	if c.done {
		return false
	}
	n, err := io.ReadFull(c.r, c.buf)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		c.done, err = true, nil
	}
	if err != nil {
		c.err, c.done = err, true
		return false
	}
	if n == 0 {
		return false
	}
	c.h.Write(c.buf[:n])
	c.n = n
	c.size += int64(n)
	c.seq++
	return true
}

func (c *chunkSource) Values() ([]any, error) { return []any{c.v, c.seq - 1, c.buf[:c.n]}, nil }
func (c *chunkSource) Err() error             { return c.err }

// Open returns v's manifest and body after checking the body's size and
// SHA-256. Errors match backup.ErrInvalidName, ErrNotFound or ErrCorrupt.
func (s *ModelStore) Open(ctx context.Context, v backup.Version) (backup.Manifest, io.ReadCloser, error) {
	m, b, err := s.read(ctx, s.db.pool, v)
	if err != nil {
		return backup.Manifest{}, nil, s.db.scrub(fmt.Errorf("pgstore: open %s: %w", v, err))
	}
	return m, io.NopCloser(bytes.NewReader(b)), nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (s *ModelStore) manifest(ctx context.Context, q querier, v backup.Version) (backup.Manifest, error) {
	if err := v.Validate(); err != nil {
		return backup.Manifest{}, err
	}
	var mj []byte
	if err := q.QueryRow(ctx, "SELECT manifest FROM model_versions WHERE version = $1", v).Scan(&mj); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return backup.Manifest{}, backup.ErrNotFound
		}
		return backup.Manifest{}, err
	}
	var m backup.Manifest
	if err := json.Unmarshal(mj, &m); err != nil || len(m.Files) != 1 {
		return backup.Manifest{}, fmt.Errorf("%w: unreadable manifest", backup.ErrCorrupt)
	}
	return m, nil
}

// read returns v's manifest and its body, checked.
func (s *ModelStore) read(ctx context.Context, q querier, v backup.Version) (backup.Manifest, []byte, error) {
	m, err := s.manifest(ctx, q, v)
	if err != nil {
		return backup.Manifest{}, nil, err
	}
	want := m.Files[0]
	if want.Size < 0 || want.Size > 1<<30 { // no model is that big: refused before allocating
		return backup.Manifest{}, nil, fmt.Errorf("%w: size %d", backup.ErrCorrupt, want.Size)
	}
	rows, err := q.Query(ctx, "SELECT data FROM model_chunks WHERE version = $1 ORDER BY seq", v)
	if err != nil {
		return backup.Manifest{}, nil, err
	}
	body := make([]byte, 0, want.Size)
	for rows.Next() {
		raw := rows.RawValues()[0]
		if int64(len(body)+len(raw)) > want.Size {
			rows.Close()
			return backup.Manifest{}, nil, fmt.Errorf("%w: %s is longer than its manifest says", backup.ErrCorrupt, bodyName)
		}
		body = append(body, raw...)
	}
	if err := rows.Err(); err != nil {
		return backup.Manifest{}, nil, err
	}
	sum := sha256.Sum256(body)
	if int64(len(body)) != want.Size || hex.EncodeToString(sum[:]) != want.SHA256 {
		return backup.Manifest{}, nil, fmt.Errorf("%w: %s", backup.ErrCorrupt, bodyName)
	}
	return m, body, nil
}

// Verify checks v's size and SHA-256 and then runs Options.Check on the
// body, if set. Errors match backup.ErrNotFound or ErrCorrupt.
func (s *ModelStore) Verify(ctx context.Context, v backup.Version) error {
	return s.db.scrub(s.verify(ctx, s.db.pool, v))
}

func (s *ModelStore) verify(ctx context.Context, q querier, v backup.Version) error {
	_, b, err := s.read(ctx, q, v)
	if err == nil && s.db.opts.Check != nil {
		if cerr := s.db.opts.Check(bytes.NewReader(b)); cerr != nil {
			err = fmt.Errorf("%w: %s does not load: %v", backup.ErrCorrupt, v, cerr)
		}
	}
	if err != nil {
		return fmt.Errorf("pgstore: verify %s: %w", v, err)
	}
	return nil
}

// List returns every version, newest first (by Created, then name).
func (s *ModelStore) List(ctx context.Context) ([]backup.Manifest, error) {
	ms, err := s.list(ctx, s.db.pool)
	return ms, s.db.scrub(err)
}

func (s *ModelStore) list(ctx context.Context, q querier) ([]backup.Manifest, error) {
	rows, err := q.Query(ctx, "SELECT manifest FROM model_versions ORDER BY created DESC, version DESC")
	if err != nil {
		return nil, fmt.Errorf("pgstore: list: %w", err)
	}
	out := []backup.Manifest{}
	for rows.Next() {
		var m backup.Manifest
		if err := json.Unmarshal(rows.RawValues()[0], &m); err != nil {
			continue // unreadable manifests are not listed
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: list: %w", err)
	}
	return out, nil
}

// Current returns the deployed version, or backup.ErrNoCurrent.
func (s *ModelStore) Current(ctx context.Context) (backup.Version, error) {
	var v backup.Version
	err := s.db.pool.QueryRow(ctx, "SELECT version FROM model_deployed").Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", backup.ErrNoCurrent
	}
	if err != nil {
		return "", s.db.scrub(fmt.Errorf("pgstore: current: %w", err))
	}
	return v, nil
}

// Deploy makes v the deployed version after checking its size and SHA-256
// on the server, and notifies the replicas, in one transaction. Errors
// match backup.ErrInvalidName, ErrNotFound or ErrCorrupt.
func (s *ModelStore) Deploy(ctx context.Context, v backup.Version) error {
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error { return s.deployTx(ctx, tx, v) })
	if err != nil {
		return s.db.scrub(fmt.Errorf("pgstore: deploy %s: %w", v, err))
	}
	return nil
}

func (s *ModelStore) deployTx(ctx context.Context, tx pgx.Tx, v backup.Version) error {
	if err := v.Validate(); err != nil {
		return err
	}
	var size int64
	var sum, got string
	var gotSize int64
	err := tx.QueryRow(ctx, `SELECT v.size, v.sha256,
			coalesce((SELECT encode(sha256(string_agg(c.data, ''::bytea ORDER BY c.seq)), 'hex') FROM model_chunks c WHERE c.version = v.version), encode(sha256(''::bytea), 'hex')),
			coalesce((SELECT sum(length(c.data)) FROM model_chunks c WHERE c.version = v.version), 0)
		FROM model_versions v WHERE v.version = $1 FOR SHARE`, v).Scan(&size, &sum, &got, &gotSize)
	if errors.Is(err, pgx.ErrNoRows) {
		return backup.ErrNotFound
	}
	if err != nil {
		return err
	}
	if got != sum || gotSize != size {
		return fmt.Errorf("%w: %s", backup.ErrCorrupt, bodyName)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO model_deployed (version, deployed_at) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET version = excluded.version, deployed_at = excluded.deployed_at`,
		v, s.db.opts.Now().UTC()); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", s.db.channel(), string(v)); err != nil {
		return err
	}
	return ctx.Err()
}

// Restore verifies version v fully (see Verify) and deploys it, holding the
// pointer's row lock throughout. With v == "" it restores the newest version
// older than the deployed one that passes Verify, skipping those that fail
// (backup.ErrNoPrevious when none is left). A named version that fails is
// refused with an error matching backup.ErrCorrupt; the deployed model is
// unchanged.
func (s *ModelStore) Restore(ctx context.Context, v backup.Version) error {
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		cur, err := s.lockCurrent(ctx, tx)
		if err != nil {
			return err
		}
		if v == "" {
			if cur == "" {
				return backup.ErrNoCurrent
			}
			ms, err := s.list(ctx, tx)
			if err != nil {
				return err
			}
			var errs []error
			for _, c := range olderThan(ms, cur) {
				if err := s.verify(ctx, tx, c); err != nil {
					errs = append(errs, err)
					continue
				}
				v = c
				break
			}
			if v == "" {
				return errors.Join(append([]error{backup.ErrNoPrevious}, errs...)...)
			}
		} else if err := s.verify(ctx, tx, v); err != nil {
			return fmt.Errorf("refused: %w", err)
		}
		return s.deployTx(ctx, tx, v)
	})
	if err != nil {
		return s.db.scrub(fmt.Errorf("pgstore: restore: %w", err))
	}
	return nil
}

// lockCurrent returns the deployed version ("" for none), holding its row
// lock until the transaction ends so that no Deploy interleaves.
func (s *ModelStore) lockCurrent(ctx context.Context, tx pgx.Tx) (backup.Version, error) {
	var cur backup.Version
	err := tx.QueryRow(ctx, "SELECT version FROM model_deployed FOR UPDATE").Scan(&cur)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return "", err
	}
	return cur, nil
}

// olderThan returns the versions of ms (newest first) older than cur, in
// the order of backup.Previous: by Created, then name.
func olderThan(ms []backup.Manifest, cur backup.Version) []backup.Version {
	var at *backup.Manifest
	for i := range ms {
		if ms[i].Version == cur {
			at = &ms[i]
		}
	}
	var out []backup.Version
	for _, m := range ms {
		if m.Version == cur {
			continue
		}
		if at == nil || m.Created.Before(at.Created) || (m.Created.Equal(at.Created) && m.Version < cur) {
			out = append(out, m.Version)
		}
	}
	return out
}

// RollbackTarget returns the version Restore("") would deploy: the newest
// version older than the deployed one that passes Verify. It returns
// backup.ErrNoCurrent when nothing is deployed and backup.ErrNoPrevious when
// no older version passes.
func (s *ModelStore) RollbackTarget(ctx context.Context) (backup.Version, error) {
	cur, err := s.Current(ctx)
	if err != nil {
		return "", err
	}
	ms, err := s.List(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range olderThan(ms, cur) {
		err := s.Verify(ctx, c)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, backup.ErrCorrupt) {
			return "", err
		}
	}
	return "", backup.ErrNoPrevious
}

// Prune deletes the versions backup.SelectPinned drops under p and returns
// them. It holds the deployed pointer's row lock, so no Deploy interleaves,
// and pins the deployed version and the rollback target: the newest version
// older than the deployed one that passes Verify (none pinned when none
// does). The deletion is one transaction.
func (s *ModelStore) Prune(ctx context.Context, p backup.Policy) (removed []backup.Version, err error) {
	err = pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		cur, err := s.lockCurrent(ctx, tx)
		if err != nil {
			return err
		}
		ms, err := s.list(ctx, tx)
		if err != nil {
			return err
		}
		var rollback backup.Version
		if cur != "" {
			for _, c := range olderThan(ms, cur) {
				err := s.verify(ctx, tx, c)
				if err == nil {
					rollback = c
					break
				}
				if !errors.Is(err, backup.ErrCorrupt) {
					return err
				}
			}
		}
		_, drop := backup.SelectPinned(ms, cur, rollback, s.db.opts.Now(), p)
		removed = removed[:0]
		for _, m := range drop {
			if m.Version != cur && m.Version != rollback {
				removed = append(removed, m.Version)
			}
		}
		if len(removed) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, "DELETE FROM model_versions WHERE version = ANY($1)", removed)
		return err
	})
	if err != nil {
		return nil, s.db.scrub(fmt.Errorf("pgstore: prune: %w", err))
	}
	return removed, nil
}
