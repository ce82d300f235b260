package backup_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"moodfood/backup"
)

func ExampleFileStore() {
	root, _ := os.MkdirTemp("", "moodfood")
	defer os.RemoveAll(root)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := backup.OpenFileStore(filepath.Join(root, "models"), &backup.FileStoreOptions{Now: func() time.Time { return t0 }})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	old, _ := s.Put(ctx, backup.Manifest{Metrics: map[string]float64{"accuracy": 0.91}}, strings.NewReader("old model"))
	_ = s.Deploy(ctx, old.Version)
	cand, _ := s.Put(ctx, backup.Manifest{Metrics: map[string]float64{"accuracy": 0.93}}, strings.NewReader("new model"))
	_ = s.Deploy(ctx, cand.Version)

	b, _ := os.ReadFile(filepath.Join(s.DeployedPath(), "model.bin"))
	fmt.Println(cand.Version, string(b))

	prev, err := backup.Rollback(ctx, s)
	fmt.Println(prev == old.Version, err)
	// Output:
	// model_backup_20260102_030405_000002 new model
	// true <nil>
}

func ExampleSelect() {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var items []backup.Manifest
	for i := 1; i <= 4; i++ {
		items = append(items, backup.Manifest{
			Version: backup.Version(fmt.Sprintf("model_backup_20260301_000000_%06d", i)),
			Created: now.Add(time.Duration(i-5) * 24 * time.Hour),
		})
	}
	// Version 2 is deployed: it and version 1 (its rollback target) are
	// pinned; KeepLast keeps the newest one.
	keep, drop := backup.Select(items, items[1].Version, now, backup.Policy{KeepLast: 1})
	fmt.Println(len(keep), "kept;", "dropped", drop[0].Version)
	// Output: 3 kept; dropped model_backup_20260301_000000_000003
}

func ExampleMemStore() {
	ctx := context.Background()
	s := backup.NewMemStore()
	_, err := s.Current(ctx)
	fmt.Println(errors.Is(err, backup.ErrNoCurrent))
	m, _ := s.Put(ctx, backup.Manifest{}, strings.NewReader("body"))
	fmt.Println(s.Deploy(ctx, m.Version))
	// Output:
	// true
	// <nil>
}

// Restore verifies a backup before deploying it: a backup with one flipped
// byte is refused and the deployed model keeps serving.
func ExampleFileStore_Restore() {
	root, _ := os.MkdirTemp("", "moodfood")
	defer os.RemoveAll(root)
	ctx := context.Background()
	s, err := backup.OpenFileStore(filepath.Join(root, "models"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	a, _ := s.Put(ctx, backup.Manifest{}, strings.NewReader("model A"))
	b, _ := s.Put(ctx, backup.Manifest{}, strings.NewReader("model B"))
	_ = s.Deploy(ctx, b.Version)

	// Damage A's body behind the store's back.
	body := filepath.Join(s.Dir(), "backups", string(a.Version), "model.bin")
	_ = os.WriteFile(body, []byte("model X"), 0o600)

	err = s.Restore(ctx, a.Version)
	cur, _ := s.Current(ctx)
	fmt.Println(errors.Is(err, backup.ErrCorrupt), cur == b.Version)
	// Output: true true
}
