package backup

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// exchange swaps the directory entries at a and b atomically.
func exchange(a, b string) error {
	err := unix.RenamexNp(a, b, unix.RENAME_SWAP)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EINVAL):
		return errExchangeUnsupported
	}
	return &os.LinkError{Op: "exchange", Old: a, New: b, Err: err}
}
