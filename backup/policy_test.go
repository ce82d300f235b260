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
	v := func(name string) backup.Version { return backup.Version("model_backup_20260301_120000_" + name) }
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
		// The unlisted deployed version was put at 08:30 (its name says so):
		// b (08:00) is the newest older one by Created, though every listed
		// name sorts after it.
		{"DeployedUnlistedPlacedByCreated", five, "model_backup_20260301_083000_000001", backup.Policy{KeepWithin: time.Minute}, "[b]"},
		{"DeployedUnlistedSameSecondByName", []backup.Manifest{mk("d", 0, 1), mk("b", 0, 1), mk("a", h, 1)}, "model_backup_20260301_120000_c",
			backup.Policy{MaxBytes: 1}, "[b]"},
		{"WindowOrCount", five, "e", backup.Policy{KeepLast: 1, KeepWithin: 210 * time.Minute}, "[e d c]"},
		{"MaxBytesOverridesCount", five, "e", backup.Policy{KeepLast: 5, MaxBytes: 30}, "[e d c]"},
		{"MaxBytesNeverDropsPinned", five, "c", backup.Policy{KeepLast: 5, MaxBytes: 5}, "[c b]"},
		{"MaxBytesAlone", five, "e", backup.Policy{MaxBytes: 40}, "[e d c b]"},
		{"FutureTimestampCountsAsNew", append([]backup.Manifest{mk("f", -48*h, 10)}, five...), "e",
			backup.Policy{KeepWithin: 90 * time.Minute}, "[f e d]"},
		{"KeepPinsAStagedVersion", five, "e", backup.Policy{KeepLast: 1, Keep: []backup.Version{v("b")}}, "[e d b]"},
		{"KeepSurvivesMaxBytes", five, "e", backup.Policy{MaxBytes: 5, Keep: []backup.Version{v("a")}}, "[e d a]"},
		{"KeepWithNothingDeployed", five, "", backup.Policy{KeepLast: 1, Keep: []backup.Version{v("a")}}, "[e a]"},
		{"KeepUnstoredNameIgnored", five, "e", backup.Policy{KeepLast: 1, Keep: []backup.Version{v("z"), ""}}, "[e d]"},
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

func TestSelectPinned(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	mk := func(name string, age time.Duration, size int64) backup.Manifest {
		return backup.Manifest{
			Version: backup.Version("model_backup_20260301_120000_" + name),
			Created: now.Add(-age),
			Files:   []backup.FileSum{{Name: "model.bin", Size: size}},
		}
	}
	v := func(name string) backup.Version {
		if name == "" {
			return ""
		}
		return backup.Version("model_backup_20260301_120000_" + name)
	}
	h := time.Hour
	five := []backup.Manifest{mk("a", 5*h, 10), mk("b", 4*h, 10), mk("c", 3*h, 10), mk("d", 2*h, 10), mk("e", 1*h, 10)}
	tests := []struct {
		name              string
		current, rollback string
		p                 backup.Policy
		keep              string
	}{
		{"GivenTargetReplacesDefault", "e", "b", backup.Policy{KeepLast: 1}, "[e b]"},
		{"NoTarget", "e", "", backup.Policy{KeepLast: 1}, "[e]"},
		{"TargetOutsideWindow", "e", "a", backup.Policy{KeepWithin: 90 * time.Minute}, "[e a]"},
		{"TargetSurvivesMaxBytes", "e", "a", backup.Policy{KeepLast: 5, MaxBytes: 5}, "[e a]"},
		{"TargetWithoutCurrent", "", "c", backup.Policy{KeepLast: 1}, "[e c]"},
		{"NothingPinnedButNewest", "", "", backup.Policy{KeepWithin: time.Minute}, "[e]"},
		{"TargetNotListed", "e", "z", backup.Policy{KeepLast: 1}, "[e]"},
		{"ZeroPolicyKeepsAll", "e", "b", backup.Policy{}, "[e d c b a]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keep, drop := backup.SelectPinned(five, v(tt.current), v(tt.rollback), now, tt.p)
			if got := short(keep); got != tt.keep {
				t.Errorf("keep = %s, want %s", got, tt.keep)
			}
			if len(keep)+len(drop) != len(five) {
				t.Errorf("keep %d + drop %d != %d items", len(keep), len(drop), len(five))
			}
		})
	}
	// Select is SelectPinned with RollbackTarget.
	for _, cur := range []string{"", "a", "c", "e", "model_backup_20260301_083000_000001"} {
		c := backup.Version(cur)
		if len(cur) == 1 {
			c = v(cur)
		}
		p := backup.Policy{KeepWithin: time.Minute}
		k1, _ := backup.Select(five, c, now, p)
		k2, _ := backup.SelectPinned(five, c, backup.RollbackTarget(five, c), now, p)
		if short(k1) != short(k2) {
			t.Errorf("current %q: Select keeps %s, SelectPinned with RollbackTarget keeps %s", cur, short(k1), short(k2))
		}
	}
}
