package pgstore_test

import (
	"context"
	"testing"

	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/retrain/retraintest"
)

func TestLocker(t *testing.T) {
	retraintest.TestLocker(t, func(t *testing.T) func() retrain.Locker {
		db, url := openDB(t, nil)
		return func() retrain.Locker {
			// Another process: its own pool on the same schema.
			other, err := pgstore.Open(context.Background(), url, &pgstore.Options{Schema: db.Schema()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			return other.Locker()
		}
	})
}
