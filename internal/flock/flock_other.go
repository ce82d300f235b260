//go:build !unix

package flock

import "os"

// Supported reports whether this platform has flock(2). It is false here
// (Windows, Plan 9, wasm): Try and Release return ErrUnsupported, so the
// file stores built on them refuse to open instead of running unlocked.
const Supported = false

// Try returns ErrUnsupported on this platform.
func Try(f *os.File, exclusive bool) error { return ErrUnsupported }

// Block returns ErrUnsupported on this platform.
func Block(f *os.File, exclusive bool) error { return ErrUnsupported }

// Release returns ErrUnsupported on this platform.
func Release(f *os.File) error { return ErrUnsupported }

// IsReadOnlyFS reports whether err says the file system is read-only; this
// platform has no distinct error for it.
func IsReadOnlyFS(err error) bool { return false }
