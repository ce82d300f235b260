package backup

import "errors"

// errExchangeUnsupported is returned by exchange where the platform or the
// filesystem cannot swap two directory entries atomically. The legacy
// migration then falls back to two renames (move the old directory aside,
// move the new one in), which leaves a window where neither name exists.
//
// exchange is renameat2(RENAME_EXCHANGE) on Linux (kernel ≥ 3.15, on ext4,
// xfs, btrfs and tmpfs) and renamex_np(RENAME_SWAP) on macOS (APFS/HFS+);
// it is unsupported elsewhere.
var errExchangeUnsupported = errors.New("backup: atomic exchange unsupported")
