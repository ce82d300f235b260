package pgstore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/retrain/pgstore"
	"moodfood/retrain/retraintest"
)

// corruptible is the ModelStore with the suite's Corrupter: it flips a byte
// of a stored chunk behind the store's back.
type corruptible struct {
	*pgstore.ModelStore
	db *pgstore.DB
}

func (c corruptible) Corrupt(ctx context.Context, v backup.Version) error {
	return c.db.Exec(ctx, `WITH d AS (DELETE FROM model_chunks WHERE version = $1 AND seq = 0 RETURNING data)
		INSERT INTO model_chunks (version, seq, data)
		SELECT $1, 0, CASE WHEN length(data) = 0 THEN '\x00'::bytea ELSE set_byte(data, 0, get_byte(data, 0) # 1) END FROM d`, v)
}

func TestModelStore(t *testing.T) {
	retraintest.TestModelStore(t, func(t *testing.T) retrain.ModelStore {
		db, _ := openDB(t, nil)
		return corruptible{db.Models(), db}
	})
}

func TestModelStore_WriteOnce(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t, nil)
	s := db.Models()
	m, err := s.Put(ctx, backup.Manifest{}, strings.NewReader("body"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "UPDATE model_versions SET sha256 = 'x' WHERE version = $1", m.Version); err == nil {
		t.Error("a version row could be updated")
	}
	if err := db.Exec(ctx, "UPDATE model_chunks SET data = 'x' WHERE version = $1", m.Version); err == nil {
		t.Error("a chunk could be updated")
	}
	if err := s.Deploy(ctx, m.Version); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "DELETE FROM model_versions WHERE version = $1", m.Version); err == nil {
		t.Error("the deployed version could be deleted")
	}
}

func TestModelStore_Large(t *testing.T) {
	// A body of many chunks round-trips, and a failing reader leaves nothing.
	ctx := context.Background()
	db, _ := openDB(t, nil)
	s := db.Models()
	body := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16+7)
	m, err := s.Put(ctx, backup.Manifest{}, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deploy(ctx, m.Version); err != nil {
		t.Fatal(err)
	}
	_, rc, err := s.Open(ctx, m.Version)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, body) {
		t.Fatalf("read %d bytes back, want %d equal", len(got), len(body))
	}
	boom := errors.New("boom")
	if _, err := s.Put(ctx, backup.Manifest{}, io.MultiReader(bytes.NewReader(body), errReader{boom})); !errors.Is(err, boom) {
		t.Fatalf("Put with a failing body = %v", err)
	}
	if ms, _ := s.List(ctx); len(ms) != 1 {
		t.Errorf("a failed Put left %d versions", len(ms))
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
