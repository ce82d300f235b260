package backup

import "time"

// Policy says which versions Prune keeps. A version is kept when any rule
// keeps it; the zero Policy keeps everything.
//
// Two versions are always kept whatever the policy says (they are "pinned"):
// the deployed one and the rollback target, the newest version older than
// the deployed one. With nothing deployed, the newest version is pinned.
type Policy struct {
	// KeepLast keeps the newest KeepLast versions (0 = no count rule).
	KeepLast int
	// KeepWithin keeps versions created less than KeepWithin before now
	// (0 = no age rule). A version stamped in the future counts as new.
	KeepWithin time.Duration
	// MaxBytes caps the total size of the kept versions (0 = no cap). It
	// overrides KeepLast and KeepWithin: the oldest unpinned versions are
	// dropped until the kept ones fit, or only pinned ones are left.
	MaxBytes int64
}

func (p Policy) zero() bool { return p.KeepLast <= 0 && p.KeepWithin <= 0 && p.MaxBytes <= 0 }

// Select applies p to items and returns the versions to keep and to drop,
// both newest first (by Created, then by version name). current is the
// deployed version ("" if none). Select is pure: it touches no store, and
// it never drops current or the rollback target (see Policy).
func Select(items []Manifest, current Version, now time.Time, p Policy) (keep, drop []Manifest) {
	sorted := append([]Manifest(nil), items...)
	sortNewestFirst(sorted)

	pinned := make(map[Version]bool)
	curIdx := -1
	for i, m := range sorted {
		if current != "" && m.Version == current {
			curIdx = i
			break
		}
	}
	switch {
	case curIdx >= 0:
		pinned[current] = true
		if curIdx+1 < len(sorted) {
			pinned[sorted[curIdx+1].Version] = true // rollback target
		}
	case current != "":
		// The deployed version is not among items (unreadable manifest, or
		// a caller passing a subset): pin by name and keep the newest older
		// name as the rollback target.
		pinned[current] = true
		for _, m := range sorted {
			if m.Version < current {
				pinned[m.Version] = true
				break
			}
		}
	case len(sorted) > 0:
		pinned[sorted[0].Version] = true
	}

	if p.zero() {
		return sorted, nil
	}
	kept := make([]bool, len(sorted))
	for i, m := range sorted {
		switch {
		case pinned[m.Version]:
			kept[i] = true
		case p.KeepLast > 0 && i < p.KeepLast:
			kept[i] = true
		case p.KeepWithin > 0 && now.Sub(m.Created) < p.KeepWithin:
			kept[i] = true
		case p.KeepLast <= 0 && p.KeepWithin <= 0:
			kept[i] = true // only a byte cap: keep until it bites
		}
	}
	if p.MaxBytes > 0 {
		var total int64
		for i, m := range sorted {
			if kept[i] {
				total += m.Size()
			}
		}
		for i := len(sorted) - 1; i >= 0 && total > p.MaxBytes; i-- {
			if kept[i] && !pinned[sorted[i].Version] {
				kept[i] = false
				total -= sorted[i].Size()
			}
		}
	}
	for i, m := range sorted {
		if kept[i] {
			keep = append(keep, m)
		} else {
			drop = append(drop, m)
		}
	}
	return keep, drop
}
