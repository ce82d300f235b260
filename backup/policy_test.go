package backup_test

import (
	"fmt"
	"testing"
	"time"

	"moodfood/backup"
)

func TestSelect(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(name string, age time.Duration, size int64) backup.Manifest {
		return backup.Manifest{
			Version: backup.Version("model_backup_20260301_120000_" + name),
			Created: now.Add(-age),
			Files:   []backup.FileSum{{Name: "model.bin", Size: size}},
		}
	}
	h := time.Hour
	// Newest first: e (1h), d (2h), c (3h), b (4h), a (5h).
	five := []backup.Manifest{mk("a", 5*h, 10), mk("b", 4*h, 10), mk("c", 3*h, 10), mk("d", 2*h, 10), mk("e", 1*h, 10)}
	tests := []struct {
		name    string
		items   []backup.Manifest
		current string
		p       backup.Policy
		keep    string
	}{
		{"Empty", nil, "", backup.Policy{KeepLast: 1}, "[]"},
		{"ZeroPolicyKeepsAll", five, "e", backup.Policy{}, "[e d c b a]"},
		{"KeepLast1PinsRollbackTarget", five, "e", backup.Policy{KeepLast: 1}, "[e d]"},
		{"KeepLast0WithWindow", five, "e", backup.Policy{KeepWithin: 150 * time.Minute}, "[e d]"},
		{"KeepLastN", five, "e", backup.Policy{KeepLast: 3}, "[e d c]"},
		{"KeepLastMoreThanItems", five, "e", backup.Policy{KeepLast: 10}, "[e d c b a]"},
		{"OldDeployedPinnedWithItsPredecessor", five, "b", backup.Policy{KeepLast: 1}, "[e b a]"},
		{"NothingDeployedPinsNewest", five, "", backup.Policy{KeepWithin: time.Minute}, "[e]"},
		{"DeployedUnlistedPinsOlderName", five[:2], "model_backup_20260301_120000_c", backup.Policy{KeepLast: 0, KeepWithin: time.Minute}, "[b]"},
		{"WindowOrCount", five, "e", backup.Policy{KeepLast: 1, KeepWithin: 210 * time.Minute}, "[e d c]"},
		{"MaxBytesOverridesCount", five, "e", backup.Policy{KeepLast: 5, MaxBytes: 30}, "[e d c]"},
		{"MaxBytesNeverDropsPinned", five, "c", backup.Policy{KeepLast: 5, MaxBytes: 5}, "[c b]"},
		{"MaxBytesAlone", five, "e", backup.Policy{MaxBytes: 40}, "[e d c b]"},
		{"FutureTimestampCountsAsNew", append([]backup.Manifest{mk("f", -48*h, 10)}, five...), "e",
			backup.Policy{KeepWithin: 90 * time.Minute}, "[f e d]"},
		{"EqualTimestampsOrderByName", []backup.Manifest{mk("000002", h, 1), mk("000010", h, 1), mk("000001", h, 1)}, "000010",
			backup.Policy{KeepLast: 1}, "[000010 000002]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := backup.Version(tt.current)
			if tt.current != "" && len(tt.current) < 8 {
				cur = backup.Version("model_backup_20260301_120000_" + tt.current)
			}
			keep, drop := backup.Select(tt.items, cur, now, tt.p)
			if got := short(keep); got != tt.keep {
				t.Errorf("keep = %s, want %s", got, tt.keep)
			}
			if len(keep)+len(drop) != len(tt.items) {
				t.Errorf("keep %d + drop %d != %d items", len(keep), len(drop), len(tt.items))
			}
			for _, m := range drop {
				if m.Version == cur {
					t.Errorf("dropped the deployed version")
				}
			}
		})
	}
}

func short(ms []backup.Manifest) string {
	var s []string
	for _, m := range ms {
		s = append(s, string(m.Version)[len("model_backup_20260301_120000_"):])
	}
	return fmt.Sprint(s)
}
