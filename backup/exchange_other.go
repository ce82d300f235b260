//go:build !linux && !darwin

package backup

// exchange reports that this platform cannot swap two directory entries.
func exchange(a, b string) error { return errExchangeUnsupported }
