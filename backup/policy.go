package backup

import "time"

// Policy says which versions Prune keeps. A version is kept when any rule
// keeps it; the zero Policy keeps everything.
//
// Two versions are always kept whatever the policy says (they are "pinned"):
// the deployed one and the rollback target, the newest version older than
// the deployed one (see RollbackTarget); FileStore.Prune and MemStore.Prune
// pin the newest older one that passes verification, the one Restore("")
// would deploy. With nothing deployed, the newest version is pinned. The
// versions listed in Keep are pinned too.
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
	// Keep lists versions never dropped, whatever the rules above say
	// (MaxBytes included): e.g. candidates staged for a person's approval
	// (the retrain package fills it with the staged versions no approve,
	// reject or promote has decided yet). Names that are not stored are
	// ignored.
	Keep []Version
}

// DropsNothing reports whether p has no rule that drops a version: no
// KeepLast, KeepWithin or MaxBytes above zero (Keep alone drops nothing).
// Prune with such a policy removes nothing.
func (p Policy) DropsNothing() bool { return p.zero() }

func (p Policy) zero() bool { return p.KeepLast <= 0 && p.KeepWithin <= 0 && p.MaxBytes <= 0 }

// Select applies p to items and returns the versions to keep and to drop,
// both newest first (by Created, then by version name). current is the
// deployed version ("" if none). Select is pure: it touches no store, and
// it never drops current, p.Keep or the rollback target, which it takes to be
// RollbackTarget(items, current). A store that checks its versions passes
// the target it has verified to SelectPinned instead (FileStore.Prune does).
func Select(items []Manifest, current Version, now time.Time, p Policy) (keep, drop []Manifest) {
	return SelectPinned(items, current, RollbackTarget(items, current), now, p)
}

// SelectPinned is Select with the rollback target given by the caller:
// rollback ("" if there is none) is pinned with current instead of
// RollbackTarget(items, current). With current and rollback both "", the
// newest item is pinned. The versions of p.Keep are pinned in every case.
// SelectPinned is pure.
func SelectPinned(items []Manifest, current, rollback Version, now time.Time, p Policy) (keep, drop []Manifest) {
	sorted := append([]Manifest(nil), items...)
	sortNewestFirst(sorted)

	pinned := make(map[Version]bool)
	switch {
	case current != "" || rollback != "":
		for _, v := range []Version{current, rollback} {
			if v != "" {
				pinned[v] = true
			}
		}
	case len(sorted) > 0:
		pinned[sorted[0].Version] = true
	}
	for _, v := range p.Keep {
		if v != "" {
			pinned[v] = true
		}
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
