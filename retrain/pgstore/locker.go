package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"

	"moodfood/retrain"
)

// Locker is the run lock on PostgreSQL: a session advisory lock
// (pg_try_advisory_lock) held on a dedicated connection for the length of a
// run, so the server frees it the moment the holder's process, host or
// connection dies, and a run_marker row written while the lock is held and
// deleted by unlock, so the next holder learns that a run died. Dry runs
// take the shared form of the same lock. Connection loss loses the lock:
// a run that outlives its connection (a database restart mid-run) keeps
// running unprotected, which the stores tolerate (exports and deploys are
// transactions), and its unlock reports the loss.
//
// A Locker is safe for concurrent use. Close closes the connections of the
// locks it still holds without deleting their markers, as its process dying
// would.
type Locker struct {
	db *DB

	mu   sync.Mutex
	held map[*pgx.Conn]bool
}

// Locker returns the run lock of the schema.
func (db *DB) Locker() *Locker { return &Locker{db: db, held: map[*pgx.Conn]bool{}} }

var _ retrain.Locker = (*Locker)(nil)

func (l *Locker) conn(ctx context.Context) (*pgx.Conn, error) {
	c, err := pgx.ConnectConfig(ctx, l.db.cfg.Copy())
	if err != nil {
		return nil, l.db.scrub(fmt.Errorf("pgstore: lock: %w", err))
	}
	return c, nil
}

// Lock takes the run lock for h. See retrain.Locker.
func (l *Locker) Lock(ctx context.Context, h retrain.Holder) (unlock func() error, dead *retrain.Holder, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (func() error, *retrain.Holder, error) {
		c.Close(context.WithoutCancel(ctx))
		return nil, nil, l.db.scrub(err)
	}
	var ok bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", l.db.key("run")).Scan(&ok); err != nil {
		return fail(fmt.Errorf("pgstore: lock: %w", err))
	}
	if !ok {
		return fail(retrain.ErrBusy)
	}
	hb, err := json.Marshal(h)
	if err != nil {
		return fail(fmt.Errorf("pgstore: lock: %w", err))
	}
	var old []byte
	err = pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "SELECT holder FROM run_marker").Scan(&old)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO run_marker (holder) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET holder = excluded.holder`, hb)
		return err
	})
	if err != nil {
		return fail(fmt.Errorf("pgstore: lock: writing the run marker: %w", err))
	}
	if old != nil {
		dead = &retrain.Holder{}
		if json.Unmarshal(old, dead) != nil {
			*dead = retrain.Holder{}
		}
	}
	l.mu.Lock()
	l.held[c] = true
	l.mu.Unlock()
	var once sync.Once
	var uerr error
	return func() error {
		once.Do(func() {
			l.mu.Lock()
			mine := l.held[c]
			delete(l.held, c)
			l.mu.Unlock()
			if !mine { // abandoned by Close
				return
			}
			uctx := context.Background()
			if _, err := c.Exec(uctx, "DELETE FROM run_marker"); err != nil {
				uerr = l.db.scrub(fmt.Errorf("pgstore: unlock: the lock was lost with its connection: %w", err))
			} else if _, err := c.Exec(uctx, "SELECT pg_advisory_unlock($1)", l.db.key("run")); err != nil {
				uerr = l.db.scrub(fmt.Errorf("pgstore: unlock: %w", err))
			}
			c.Close(uctx)
		})
		return uerr
	}, dead, nil
}

// RLock takes the shared form of the run lock, on a dedicated connection,
// for a dry run. See retrain.Locker.
func (l *Locker) RLock(ctx context.Context) (unlock func() error, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := l.conn(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock_shared($1)", l.db.key("run")).Scan(&ok); err != nil || !ok {
		c.Close(context.WithoutCancel(ctx))
		if err != nil {
			return nil, l.db.scrub(fmt.Errorf("pgstore: lock: %w", err))
		}
		return nil, retrain.ErrBusy
	}
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() {
			uctx := context.Background()
			_, err = c.Exec(uctx, "SELECT pg_advisory_unlock_shared($1)", l.db.key("run"))
			c.Close(uctx) // the server frees the lock with the session anyway
			if err != nil {
				err = l.db.scrub(fmt.Errorf("pgstore: unlock: %w", err))
			}
		})
		return err
	}, nil
}

// Holder reports the holder of the run lock from pg_locks and the run
// marker, without taking anything. See retrain.Locker.
func (l *Locker) Holder(ctx context.Context) (h retrain.Holder, held bool, err error) {
	k := uint64(l.db.key("run"))
	var n int
	err = l.db.pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND mode = 'ExclusiveLock'
		  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND classid = $1 AND objid = $2 AND objsubid = 1`,
		uint32(k>>32), uint32(k)).Scan(&n)
	if err != nil {
		return retrain.Holder{}, false, l.db.scrub(fmt.Errorf("pgstore: lock: %w", err))
	}
	if n == 0 {
		return retrain.Holder{}, false, nil
	}
	var b []byte
	err = l.db.pool.QueryRow(ctx, "SELECT holder FROM run_marker").Scan(&b)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return retrain.Holder{}, true, l.db.scrub(fmt.Errorf("pgstore: lock: %w", err))
	}
	if b != nil {
		json.Unmarshal(b, &h)
	}
	return h, true, nil
}

// Close closes the connections of the locks still held, without deleting
// their markers: the server frees the locks and the next Lock reports the
// runs as dead. A later unlock of such a lock does nothing.
func (l *Locker) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for c := range l.held {
		errs = append(errs, c.Close(context.Background()))
		delete(l.held, c)
	}
	return errors.Join(errs...)
}
