package pgstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"moodfood/backup"
)

func TestModelStore_RestoreAndRollbackTarget(t *testing.T) {
	ctx := context.Background()
	db, _ := openDB(t, nil)
	s := db.Models()
	var vs []backup.Version
	for _, b := range []string{"a", "b", "c"} {
		m, err := s.Put(ctx, backup.Manifest{}, strings.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, m.Version)
	}
	if _, err := s.RollbackTarget(ctx); !errors.Is(err, backup.ErrNoCurrent) {
		t.Fatalf("RollbackTarget with nothing deployed = %v", err)
	}
	if err := s.Deploy(ctx, vs[2]); err != nil {
		t.Fatal(err)
	}
	if v, err := s.RollbackTarget(ctx); err != nil || v != vs[1] {
		t.Fatalf("RollbackTarget = %s, %v; want %s", v, err, vs[1])
	}
	if err := s.Restore(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.Current(ctx); cur != vs[1] {
		t.Fatalf("after Restore(\"\"): %s, want %s", cur, vs[1])
	}
	if err := s.Restore(ctx, vs[2]); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.Current(ctx); cur != vs[2] {
		t.Fatalf("after Restore(%s): %s", vs[2], cur)
	}
}
