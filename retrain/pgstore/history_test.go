package pgstore_test

import (
	"context"
	"testing"

	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/retrain/retraintest"
	"moodfood/trigger"
)

func TestHistory(t *testing.T) {
	retraintest.TestHistory(t, func(t *testing.T) func() retrain.History {
		db, url := openDB(t, nil)
		return func() retrain.History {
			other, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: db.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			return other.History()
		}
	})
}

func TestHistory_DamagedRowSkipped(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t, nil)
	h := db.History()
	if err := h.Append(ctx, retrain.Record{RetrainID: "retrain_20260101_000000_aaaaaa", Status: trigger.OutcomeDeployed}); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, `INSERT INTO run_history (retrain_id, ts, status, manual, record)
		VALUES ('x', now(), 'deployed', false, '{"retrain_id": 42}')`); err != nil {
		t.Fatal(err)
	}
	p, err := h.List(ctx, retrain.HistoryFilter{})
	if err != nil || len(p.Records) != 1 || p.Damaged != 1 {
		t.Fatalf("List = %+v, %v; want 1 record and 1 damaged", p, err)
	}
}
