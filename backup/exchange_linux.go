package backup

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// exchange swaps the directory entries at a and b atomically.
func exchange(a, b string) error {
	err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return errExchangeUnsupported
	}
	return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
}
