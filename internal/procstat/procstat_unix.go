//go:build unix

package procstat

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// PeakRSS is the process's peak resident set size in bytes, or 0 if it
// cannot be read.
func PeakRSS() int64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return int64(ru.Maxrss) // bytes on macOS
	}
	return int64(ru.Maxrss) * 1024 // kilobytes on Linux and the BSDs
}

// CPUSeconds is the CPU time (user + system) the process has used so far,
// or 0 if it cannot be read.
func CPUSeconds() float64 {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// Alive reports whether pid is a live process: signal 0 is delivered, or
// refused for lack of permission (the process exists but belongs to
// another user).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := unix.Kill(pid, 0)
	return err == nil || err == unix.EPERM
}
