package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"moodfood/dataset"
	"moodfood/retrain"
)

// Quarantine is retrain.Quarantine on PostgreSQL: one quarantine row per
// sample a run left out, with the time, the run id, the reason, the group
// set aside (if any) and the sample as JSON, for review, e.g.
//
//	SELECT quarantined_at, retrain_id, reason, sample_group, sample->>'text', sample->'labels'
//	FROM moodfood.quarantine ORDER BY id DESC LIMIT 50;
//
// Add inserts a run's samples in one transaction. It is safe for
// concurrent use by any number of processes.
type Quarantine struct{ db *DB }

// Quarantine returns the schema's quarantine.
func (db *DB) Quarantine() *Quarantine { return &Quarantine{db: db} }

var _ retrain.Quarantine = (*Quarantine)(nil)

// Add keeps samples. See retrain.Quarantine.
func (q *Quarantine) Add(ctx context.Context, at time.Time, runID, reason, group string, samples []dataset.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rows := make([][]any, len(samples))
	for i := range samples {
		b, err := json.Marshal(samples[i])
		if err != nil {
			return fmt.Errorf("pgstore: quarantine: %w", err)
		}
		rows[i] = []any{at.UTC(), runID, reason, group, []byte(retrain.QuarantineKey(&samples[i])), string(b)}
	}
	_, err := q.db.pool.CopyFrom(ctx, pgx.Identifier{"quarantine"},
		[]string{"quarantined_at", "retrain_id", "reason", "sample_group", "sample_key", "sample"}, pgx.CopyFromRows(rows))
	if err != nil {
		return q.db.scrub(fmt.Errorf("pgstore: quarantine: %w", err))
	}
	return nil
}

// Keys returns the key of every sample kept. See retrain.Quarantine.
func (q *Quarantine) Keys(ctx context.Context) (map[string]bool, error) {
	rows, err := q.db.pool.Query(ctx, `SELECT DISTINCT sample_key FROM quarantine`)
	if err != nil {
		return nil, q.db.scrub(fmt.Errorf("pgstore: quarantine: %w", err))
	}
	out := map[string]bool{}
	var k []byte
	_, err = pgx.ForEachRow(rows, []any{&k}, func() error {
		out[string(k)] = true
		return nil
	})
	if err != nil {
		return nil, q.db.scrub(fmt.Errorf("pgstore: quarantine: %w", err))
	}
	return out, nil
}

// Prune deletes the samples added before cutoff. See retrain.Quarantine.
func (q *Quarantine) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := q.db.pool.Exec(ctx, `DELETE FROM quarantine WHERE quarantined_at < $1`, cutoff.UTC())
	if err != nil {
		return 0, q.db.scrub(fmt.Errorf("pgstore: quarantine: %w", err))
	}
	return int(tag.RowsAffected()), nil
}
