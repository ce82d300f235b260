package backup_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"moodfood/backup"
)

// listStore is a Store that lists fixed items, which need not include the
// deployed version.
type listStore struct {
	items    []backup.Manifest
	current  backup.Version
	deployed []backup.Version
}

func (s *listStore) List(context.Context) ([]backup.Manifest, error) {
	return append([]backup.Manifest(nil), s.items...), nil
}

func (s *listStore) Current(context.Context) (backup.Version, error) {
	if s.current == "" {
		return "", backup.ErrNoCurrent
	}
	return s.current, nil
}

func (s *listStore) Deploy(_ context.Context, v backup.Version) error {
	s.deployed = append(s.deployed, v)
	return nil
}

// TestRollbackTarget checks that Previous (and so Rollback and
// Restore("")), RollbackTarget and Select agree on the rollback target,
// ordering by Created then name even when the deployed version is not
// listed.
func TestRollbackTarget(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(name string, created time.Time) backup.Manifest {
		return backup.Manifest{Version: backup.Version(name), Created: created}
	}
	// Names out of step with Created (another store's clock or suffix
	// scheme): Created decides.
	items := []backup.Manifest{
		mk("model_backup_20260301_120000_zz", t0.Add(-3*time.Hour)), // 09:00
		mk("model_backup_20260301_070000_aa", t0.Add(-4*time.Hour)), // 08:00
		mk("model_backup_20260301_100000_mm", t0.Add(-2*time.Hour)), // 10:00
		mk("model_backup_20260301_120000_b", t0),                    // 12:00:00
		mk("model_backup_20260301_120000_d", t0.Add(time.Second/2)), // 12:00:00.5
	}
	tests := []struct {
		name    string
		current backup.Version
		want    backup.Version // "" = ErrNoPrevious
	}{
		{"Listed", "model_backup_20260301_100000_mm", "model_backup_20260301_120000_zz"},
		{"ListedOldest", "model_backup_20260301_070000_aa", ""},
		{"UnlistedByItsNameTime", "model_backup_20260301_093000_000001", "model_backup_20260301_120000_zz"},
		{"UnlistedBeforeAll", "model_backup_20260301_075959_000001", ""},
		{"UnlistedSameSecondByName", "model_backup_20260301_120000_c", "model_backup_20260301_120000_b"},
		{"UnlistedAfterAll", "model_backup_20260301_130000_000001", "model_backup_20260301_120000_d"},
		{"UnlistedNoTimeInNameByName", "v2", "model_backup_20260301_120000_d"}, // every listed name sorts before "v2"
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &listStore{items: items, current: tt.current}
			prev, err := backup.Previous(ctx, s)
			if tt.want == "" {
				if !errors.Is(err, backup.ErrNoPrevious) {
					t.Errorf("Previous = %q, %v; want ErrNoPrevious", prev, err)
				}
			} else if err != nil || prev != tt.want {
				t.Errorf("Previous = %q, %v; want %q", prev, err, tt.want)
			}
			if got := backup.RollbackTarget(items, tt.current); got != tt.want {
				t.Errorf("RollbackTarget = %q, want %q", got, tt.want)
			}
			keep, _ := backup.Select(items, tt.current, t0.Add(time.Hour), backup.Policy{KeepLast: 1, KeepWithin: time.Nanosecond})
			pinned := false
			for _, m := range keep {
				pinned = pinned || m.Version == tt.want
			}
			if tt.want != "" && !pinned {
				t.Errorf("Select keeps %v, not the rollback target %q", keep, tt.want)
			}
		})
	}
}
