//go:build !unix

package procstat

import "os"

// PeakRSS is not measured on this platform: it returns 0.
func PeakRSS() int64 { return 0 }

// CPUSeconds is not measured on this platform: it returns 0.
func CPUSeconds() float64 { return 0 }

// Alive reports whether pid is a live process (os.FindProcess opens it on
// Windows, and fails for a process that has exited).
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	p.Release()
	return true
}
