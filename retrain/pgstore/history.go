package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"moodfood/retrain"
)

// History is the run history on PostgreSQL: one run_history row per Record,
// in append order, with the record as the history line's JSON and the
// columns List filters on beside it. Append is one INSERT: durable when it
// returns nil, nothing when it fails. A row whose JSON does not read back
// as a Record is skipped and counted in HistoryPage.Damaged. It is safe for
// concurrent use by any number of processes.
type History struct{ db *DB }

// History returns the schema's run history.
func (db *DB) History() *History { return &History{db: db} }

var _ retrain.History = (*History)(nil)

// Append stores rec. See retrain.History.
func (h *History) Append(ctx context.Context, rec retrain.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("pgstore: history: %w", err)
	}
	_, err = h.db.pool.Exec(ctx, `INSERT INTO run_history (retrain_id, ts, status, manual, record)
		VALUES ($1, $2, $3, $4, $5)`, rec.RetrainID, rec.Timestamp.UTC(), string(rec.Status), rec.Manual, b)
	if err != nil {
		return h.db.scrub(fmt.Errorf("pgstore: history: %w", err))
	}
	return nil
}

// List returns the matching records, newest first. See retrain.History.
func (h *History) List(ctx context.Context, f retrain.HistoryFilter) (retrain.HistoryPage, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if len(f.Outcomes) > 0 {
		ss := make([]string, len(f.Outcomes))
		for i, o := range f.Outcomes {
			ss[i] = string(o)
		}
		where = append(where, "status = ANY("+arg(ss)+")")
	}
	if !f.Since.IsZero() {
		where = append(where, "ts >= "+arg(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		where = append(where, "ts < "+arg(f.Until.UTC()))
	}
	if f.Manual != nil {
		where = append(where, "manual = "+arg(*f.Manual))
	}
	q := "SELECT record FROM run_history"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := h.db.pool.Query(ctx, q, args...)
	if err != nil {
		return retrain.HistoryPage{}, h.db.scrub(fmt.Errorf("pgstore: history: %w", err))
	}
	var p retrain.HistoryPage
	for rows.Next() {
		var r retrain.Record
		if err := json.Unmarshal(rows.RawValues()[0], &r); err != nil || r.RetrainID == "" {
			p.Damaged++
			continue
		}
		p.Records = append(p.Records, r)
	}
	if err := rows.Err(); err != nil {
		return retrain.HistoryPage{}, h.db.scrub(fmt.Errorf("pgstore: history: %w", err))
	}
	return p, nil
}
