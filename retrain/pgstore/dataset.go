package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/trigger"
)

// DatasetStore is the training data on PostgreSQL: the query log (queries
// and feedback, written by QueryLog), the base and golden sets and the
// exported samples (samples), and the two watermarks (export_state,
// train_mark).
//
// Export runs in one transaction under a transaction advisory lock, so
// concurrent exporters (several cron jobs, a run and a dry run) export each
// query exactly once: the first commits, the next finds nothing new. It
// judges the log rows up to a barrier (see export: every query log write
// takes a shared advisory lock, the export an exclusive one for an
// instant), so that a batch still being written when the export starts is
// picked up by the next export, never skipped; the latest feedback of each
// query is folded in and dataset.ExportPolicy decides. A crash mid-export
// rolls it all back.
//
// It implements retrain.DatasetStore, retrain.Signaler and retrain.Previewer (Preview runs the
// same export in a transaction it rolls back, so it writes nothing). There
// is nothing for a Reaper to do: a dead run's transactions were rolled back
// by the server. It is safe for concurrent use.
type DatasetStore struct {
	db     *DB
	policy dataset.ExportPolicy
}

// DatasetOptions tunes a DatasetStore. A nil *DatasetOptions means the
// defaults.
type DatasetOptions struct {
	// Policy decides which logged queries become samples (the zero value is
	// dataset's default policy). Policy.Settle is not supported: a
	// non-zero value makes Dataset return an error.
	Policy dataset.ExportPolicy
}

// Dataset returns the schema's training data.
func (db *DB) Dataset(opts *DatasetOptions) (*DatasetStore, error) {
	var o DatasetOptions
	if opts != nil {
		o = *opts
	}
	if o.Policy.Settle != 0 {
		return nil, errors.New("pgstore: dataset: ExportPolicy.Settle is not supported by the PostgreSQL store")
	}
	return &DatasetStore{db: db, policy: o.Policy}, nil
}

var (
	_ retrain.DatasetStore = (*DatasetStore)(nil)
	_ retrain.Previewer    = (*DatasetStore)(nil)
	_ retrain.Signaler     = (*DatasetStore)(nil)
)

// SetBase replaces the base set with samples, in one transaction.
func (s *DatasetStore) SetBase(ctx context.Context, samples []dataset.Sample) error {
	return s.db.scrub(s.replace(ctx, "base", samples))
}

// SetGolden replaces the golden set with samples, in one transaction.
func (s *DatasetStore) SetGolden(ctx context.Context, samples []dataset.Sample) error {
	return s.db.scrub(s.replace(ctx, "golden", samples))
}

func (s *DatasetStore) replace(ctx context.Context, kind string, samples []dataset.Sample) error {
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		// Under the export lock: an export's samples get ids above every
		// other sample's (see export).
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.db.key("export")); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM samples WHERE kind = $1", kind); err != nil {
			return err
		}
		return copySamples(ctx, tx, kind, samples)
	})
	if err != nil {
		return fmt.Errorf("pgstore: dataset: set %s: %w", kind, err)
	}
	return nil
}

func copySamples(ctx context.Context, tx pgx.Tx, kind string, samples []dataset.Sample) error {
	rows := make([][]any, len(samples))
	for i := range samples {
		b, err := json.Marshal(samples[i])
		if err != nil {
			return err
		}
		var qid any
		if samples[i].QueryID != "" && kind == "exported" {
			qid = samples[i].QueryID
		}
		rows[i] = []any{kind, qid, string(b)}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"samples"}, []string{"kind", "query_id", "sample"}, pgx.CopyFromRows(rows))
	return err
}

// Export judges the queries logged since the last export and stores the
// good ones as samples, in one transaction (see DatasetStore).
func (s *DatasetStore) Export(ctx context.Context) (dataset.ExportStats, error) {
	var st dataset.ExportStats
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var err error
		st, _, err = s.export(ctx, tx)
		return err
	})
	if err != nil {
		return dataset.ExportStats{}, s.db.scrub(fmt.Errorf("pgstore: export: %w", err))
	}
	return st, nil
}

// exported is what an export added: the samples, in id order, all with
// ids above before.
type exported struct {
	samples []dataset.Sample
	before  int64
}

// export runs an export in tx; the caller commits or rolls back.
func (s *DatasetStore) export(ctx context.Context, tx pgx.Tx) (dataset.ExportStats, exported, error) {
	st := dataset.ExportStats{Rejected: map[string]int{}}
	var ex exported
	// Compiling the export's plans (JIT) costs more than it saves.
	if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
		return st, ex, err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.db.key("export")); err != nil {
		return st, ex, err
	}
	var from, to string
	if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT upto::text FROM export_state), '0')`).Scan(&from); err != nil {
		return st, ex, err
	}
	// The barrier: every query log write holds the "log" lock shared for its
	// transaction; once this exclusive session lock is granted, every write
	// that began is committed or gone, and no write gets a transaction id
	// until it is released, so the next id to be assigned bounds the rows
	// that can still appear. Writers wait only for these three statements.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_lock($1)", s.db.key("log")); err != nil {
		return st, ex, err
	}
	err := tx.QueryRow(ctx, "SELECT pg_snapshot_xmax(pg_current_snapshot())::text").Scan(&to)
	if _, uerr := tx.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", s.db.key("log")); uerr != nil && err == nil {
		err = uerr
	}
	if err != nil {
		return st, ex, err
	}
	// Queries of finished transactions in [from, to) not exported yet, with
	// the latest feedback for each: the feedback of the range's queries is
	// reduced to one row per query first and hash-joined (a lookup per
	// query cost more than the rest of the export). The fields
	// dataset.ExportPolicy.Judge never reads (the ranked intents, the model
	// version, the latency) are left on the server: sending and decoding
	// them was a third of the export.
	rows, err := tx.Query(ctx, `SELECT q.record - '{all_intents,model_version,latency_ms}'::text[], f.positive, f.success
		FROM queries q
		LEFT JOIN (SELECT DISTINCT ON (fb.query_id) fb.query_id, fb.positive, fb.success
			FROM feedback fb
			WHERE fb.query_id IN (SELECT r.query_id FROM queries r WHERE r.tx >= $1::xid8 AND r.tx < $2::xid8)
			ORDER BY fb.query_id, fb.ts DESC, fb.id DESC) f ON f.query_id = q.query_id
		WHERE q.tx >= $1::xid8 AND q.tx < $2::xid8
		  AND NOT EXISTS (SELECT 1 FROM samples x WHERE x.kind = 'exported' AND x.query_id = q.query_id)
		ORDER BY q.id`, from, to)
	if err != nil {
		return st, ex, err
	}
	pol := s.policy
	var out, models []dataset.Sample
	seen := map[string]bool{}
	var raw []byte
	var pos, ok *bool
	_, err = pgx.ForEachRow(rows, []any{&raw, &pos, &ok}, func() error {
		st.Scanned++
		var q dataset.Query
		if err := json.Unmarshal(raw, &q); err != nil {
			st.Corrupt++
			return nil
		}
		if seen[q.QueryID] {
			st.Rejected[dataset.ReasonDuplicate]++
			return nil
		}
		seen[q.QueryID] = true
		if pos != nil {
			q.Positive = pos
			if ok != nil {
				q.Success = ok
			}
		}
		smp, reason := pol.Judge(q)
		switch {
		case reason != "":
			st.Rejected[reason]++
		case smp.Source == dataset.SourceModel:
			models = append(models, smp)
		default:
			out = append(out, smp)
		}
		return nil
	})
	if err != nil {
		return st, ex, err
	}
	if len(models) > 0 {
		allowed := len(models)
		if pol.ModelShare < 1 {
			allowed = int(pol.ModelShare * float64(len(out)) / (1 - pol.ModelShare))
		}
		if allowed < len(models) {
			st.Rejected[dataset.ReasonModelCap] += len(models) - allowed
			models = models[:allowed]
		}
		out = append(out, models...)
	}
	st.Exported = len(out)
	// Feedback in the range whose query was judged by an earlier export.
	err = tx.QueryRow(ctx, `SELECT count(*) FROM feedback f
		WHERE f.tx >= $1::xid8 AND f.tx < $2::xid8
		  AND NOT EXISTS (SELECT 1 FROM queries q WHERE q.query_id = f.query_id AND q.tx >= $1::xid8)`,
		from, to).Scan(&st.LateFeedback)
	if err != nil {
		return st, ex, err
	}
	// Exports are serialized by the lock above, so the samples copied now
	// get ids above every sample id committed or assigned so far.
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM samples").Scan(&ex.before); err != nil {
		return st, ex, err
	}
	if err := copySamples(ctx, tx, "exported", out); err != nil {
		return st, ex, err
	}
	ex.samples = out
	_, err = tx.Exec(ctx, `INSERT INTO export_state (upto) VALUES ($1::xid8)
		ON CONFLICT (id) DO UPDATE SET upto = excluded.upto`, to)
	return st, ex, err
}

// Snapshot exports, then returns the base set, the exported samples split
// at the committed mark, the golden set and the mark to commit. See
// retrain.DatasetStore.
func (s *DatasetStore) Snapshot(ctx context.Context) (dataset.Snapshot, error) {
	var snap dataset.Snapshot
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		var err error
		snap, err = s.snapshot(ctx, tx)
		return err
	})
	if err != nil {
		return dataset.Snapshot{}, s.db.scrub(fmt.Errorf("pgstore: snapshot: %w", err))
	}
	return snap, nil
}

// Preview returns what Snapshot would, writing nothing: the export runs in
// a transaction that is rolled back.
func (s *DatasetStore) Preview(ctx context.Context) (dataset.Snapshot, error) {
	tx, err := s.db.pool.Begin(ctx)
	if err != nil {
		return dataset.Snapshot{}, s.db.scrub(fmt.Errorf("pgstore: preview: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	snap, err := s.snapshot(ctx, tx)
	if err != nil {
		return dataset.Snapshot{}, s.db.scrub(fmt.Errorf("pgstore: preview: %w", err))
	}
	return snap, nil
}

func (s *DatasetStore) snapshot(ctx context.Context, tx pgx.Tx) (dataset.Snapshot, error) {
	var snap dataset.Snapshot
	st, ex, err := s.export(ctx, tx)
	snap.Export = st
	if err != nil {
		return snap, err
	}
	var mark int64
	if err := tx.QueryRow(ctx, "SELECT coalesce((SELECT upto FROM train_mark), 0)").Scan(&mark); err != nil {
		return snap, err
	}
	// What the export just added is in ex: read only what was there before.
	rows, err := tx.Query(ctx, "SELECT id, kind, sample FROM samples WHERE id <= $1 ORDER BY id", ex.before)
	if err != nil {
		return snap, err
	}
	var id int64
	var kind string
	var raw []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &kind, &raw}, func() error {
		var x dataset.Sample
		if err := json.Unmarshal(raw, &x); err != nil {
			snap.Corrupt++
			return nil
		}
		switch kind {
		case "base":
			snap.Base = append(snap.Base, x)
		case "golden":
			snap.Golden = append(snap.Golden, x)
		default:
			if id <= mark {
				snap.Old = append(snap.Old, x)
			} else {
				snap.New = append(snap.New, x)
			}
			snap.Mark = dataset.Mark{Offset: id, Count: snap.Mark.Count + 1}
		}
		return nil
	})
	if err != nil {
		return snap, err
	}
	if len(ex.samples) > 0 {
		var last int64
		if err := tx.QueryRow(ctx, "SELECT max(id) FROM samples WHERE kind = 'exported'").Scan(&last); err != nil {
			return snap, err
		}
		snap.New = append(snap.New, ex.samples...)
		snap.Mark = dataset.Mark{Offset: last, Count: snap.Mark.Count + len(ex.samples)}
	}
	if snap.Mark.Offset < mark {
		snap.Mark.Offset = mark
	}
	dataset.ExcludeGolden(&snap)
	return snap, nil
}

// Commit advances the training watermark to m; a mark at or before the
// current one is a no-op, one beyond the exported samples returns an error
// matching dataset.ErrBadMark.
func (s *DatasetStore) Commit(ctx context.Context, m dataset.Mark) error {
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error { return commitMark(ctx, tx, m) })
	if err != nil {
		return s.db.scrub(fmt.Errorf("pgstore: commit: %w", err))
	}
	return nil
}

func commitMark(ctx context.Context, tx pgx.Tx, m dataset.Mark) error {
	var max int64
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM samples WHERE kind = 'exported'").Scan(&max); err != nil {
		return err
	}
	if m.Offset > max {
		return fmt.Errorf("mark %d: %w", m.Offset, dataset.ErrBadMark)
	}
	_, err := tx.Exec(ctx, `INSERT INTO train_mark (upto, count) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET upto = excluded.upto, count = excluded.count
		WHERE train_mark.upto < excluded.upto`, m.Offset, m.Count)
	return err
}

// pendingExactMax is how many unexported queries Pending judges exactly;
// beyond it Pending counts them all (an upper bound).
const pendingExactMax = 20000

// Pending returns the number of exported samples after the committed mark
// plus what an export would add now: exact (judged in a transaction that
// is rolled back) while at most 20,000 queries wait, otherwise an upper
// bound (every waiting query counted).
func (s *DatasetStore) Pending(ctx context.Context) (int, error) {
	var after, waiting int
	err := s.db.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM samples WHERE kind = 'exported' AND id > coalesce((SELECT upto FROM train_mark), 0)),
		(SELECT count(*) FROM queries WHERE tx >= coalesce((SELECT upto FROM export_state), '0'::xid8))`).Scan(&after, &waiting)
	if err != nil {
		return 0, s.db.scrub(fmt.Errorf("pgstore: pending: %w", err))
	}
	if waiting == 0 || waiting > pendingExactMax {
		return after + waiting, nil
	}
	tx, err := s.db.pool.Begin(ctx)
	if err != nil {
		return 0, s.db.scrub(fmt.Errorf("pgstore: pending: %w", err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	st, _, err := s.export(ctx, tx)
	if err != nil {
		return 0, s.db.scrub(fmt.Errorf("pgstore: pending: %w", err))
	}
	return after + st.Exported, nil
}

// Load fills an empty store (no base, golden or exported samples) in one
// transaction: the base set, the golden set and samples already exported
// from a query log, which count as new. It reports false and changes
// nothing when the store holds any sample, so loading twice is a no-op.
// cronjob run --init uses it to load a root directory into a database.
func (s *DatasetStore) Load(ctx context.Context, base, golden, exported []dataset.Sample) (bool, error) {
	loaded := false
	err := pgx.BeginFunc(ctx, s.db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.db.key("export")); err != nil {
			return err
		}
		var any bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM samples)").Scan(&any); err != nil || any {
			return err
		}
		for _, k := range []struct {
			kind string
			ss   []dataset.Sample
		}{{"base", base}, {"golden", golden}, {"exported", exported}} {
			if err := copySamples(ctx, tx, k.kind, k.ss); err != nil {
				return err
			}
		}
		loaded = true
		return nil
	})
	if err != nil {
		return false, s.db.scrub(fmt.Errorf("pgstore: load: %w", err))
	}
	return loaded, nil
}

// Signals measures the live signals over the query log (see
// retrain.Signaler and dataset.FileStore.Signals, with which it agrees):
// the n windows of length window ending at now, oldest first.
func (s *DatasetStore) Signals(ctx context.Context, now time.Time, window time.Duration, n int, oov func(string) (int, int)) ([]trigger.Signals, error) {
	if n <= 0 || window <= 0 {
		return nil, nil
	}
	from := now.Add(-time.Duration(n) * window)
	rows, err := s.db.pool.Query(ctx, "SELECT record FROM queries WHERE ts >= $1 AND ts < $2", from.UTC(), now.UTC())
	if err != nil {
		return nil, s.db.scrub(fmt.Errorf("pgstore: signals: %w", err))
	}
	c := dataset.NewSignalCounter(now, window, n, oov)
	for rows.Next() {
		var q dataset.Query
		if json.Unmarshal(rows.RawValues()[0], &q) == nil {
			c.Add(&q)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.db.scrub(fmt.Errorf("pgstore: signals: %w", err))
	}
	return c.Result(), nil
}
