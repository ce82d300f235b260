// Package procstat reads the current process's resource usage: its peak
// resident set size and the CPU time it has used. Both come from
// getrusage(2) on Unix systems; elsewhere they are reported as 0 (unknown).
package procstat
