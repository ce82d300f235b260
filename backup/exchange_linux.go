package backup

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

const renameExchange = 1 << 1 // RENAME_EXCHANGE from <linux/fs.h>

var errExchangeUnsupported = errors.New("backup: atomic exchange unsupported")

// exchange swaps the directory entries at a and b atomically.
func exchange(a, b string) error {
	if sysRenameat2 == 0 {
		return errExchangeUnsupported
	}
	pa, err := syscall.BytePtrFromString(a)
	if err != nil {
		return err
	}
	pb, err := syscall.BytePtrFromString(b)
	if err != nil {
		return err
	}
	atFDCWD := -100 // AT_FDCWD
	_, _, errno := syscall.Syscall6(sysRenameat2, uintptr(atFDCWD), uintptr(unsafe.Pointer(pa)),
		uintptr(atFDCWD), uintptr(unsafe.Pointer(pb)), renameExchange, 0)
	switch errno {
	case 0:
		return nil
	case syscall.ENOSYS, syscall.EINVAL:
		return errExchangeUnsupported
	}
	return &os.LinkError{Op: "exchange", Old: a, New: b, Err: errno}
}
