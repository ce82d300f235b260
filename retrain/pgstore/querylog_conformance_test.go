package pgstore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jackc/pgx/v5"

	"moodfood/dataset"
	"moodfood/retrain/pgstore"
	"moodfood/retrain/retraintest"
)

// TestQueryLog_Conformance runs the query log suite on QueryLog: each Open
// is one more QueryLog (as one more replica) on a fresh schema, Read
// selects the tables, and Stall holds an exclusive lock on the queries
// table from another connection, so that every COPY waits.
func TestQueryLog_Conformance(t *testing.T) {
	retraintest.TestQueryLog(t, func(t *testing.T) retraintest.QueryLogHarness {
		db, url := openDB(t, nil)
		conn := func(t *testing.T) *pgx.Conn {
			c, err := pgx.Connect(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Exec(context.Background(), "SET search_path = "+db.Schema()); err != nil {
				t.Fatal(err)
			}
			return c
		}
		return retraintest.QueryLogHarness{
			Open: func(t *testing.T, queue int) retraintest.QueryLog {
				return db.QueryLog(&pgstore.QueryLogOptions{QueueRecords: queue})
			},
			Read: func(t *testing.T) ([]dataset.Query, []dataset.Feedback) {
				ctx := context.Background()
				c := conn(t)
				defer c.Close(ctx)
				var qs []dataset.Query
				var raw []byte
				rows, _ := c.Query(ctx, "SELECT record FROM queries")
				if _, err := pgx.ForEachRow(rows, []any{&raw}, func() error {
					var q dataset.Query
					if err := json.Unmarshal(raw, &q); err != nil {
						return err
					}
					qs = append(qs, q)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				var fbs []dataset.Feedback
				var f dataset.Feedback
				rows, _ = c.Query(ctx, "SELECT query_id, ts, positive, success FROM feedback")
				if _, err := pgx.ForEachRow(rows, []any{&f.QueryID, &f.Timestamp, &f.Positive, &f.Success}, func() error {
					fbs = append(fbs, f)
					f = dataset.Feedback{}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				return qs, fbs
			},
			Stall: func(t *testing.T) func() {
				ctx := context.Background()
				c := conn(t)
				tx, err := c.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tx.Exec(ctx, "LOCK TABLE queries IN ACCESS EXCLUSIVE MODE"); err != nil {
					t.Fatal(err)
				}
				return func() {
					tx.Rollback(ctx)
					c.Close(ctx)
				}
			},
		}
	})
}
