// Package jsonl reads and appends JSON Lines files the way docs/ARCHITECTURE.md §4 asks:
//
//   - Files are append-only. Reader never stops at a damaged line: a line the
//     caller rejects (by returning ErrSkip), a line longer than the maximum
//     record size, and a final line without its terminating newline (a torn
//     tail) are skipped and counted in Stats with their 1-based line numbers.
//     Nothing is ever rewritten.
//   - There is no line-length trap: lines of any length are read in pieces;
//     a line over the limit is discarded without being buffered whole.
//   - Appender refuses records over its limit, starts on a new line when the
//     file does not end in a newline (left by a crash mid-append), and writes
//     each batch with one write(2) on an O_APPEND descriptor while holding an
//     flock(2) on a lock file beside the data file ("<path>.lock"), so batches
//     from several goroutines or processes on one host never interleave. If
//     the file was renamed away (rotated) by another process, the Appender
//     reopens the path before writing.
//
// Local filesystems only; NFS is unsupported.
package jsonl
