package retrain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"moodfood/internal/atomicfile"
	"moodfood/internal/flock"
	"moodfood/internal/jsonl"

	"moodfood/internal/nofollow"
)

// FileHistory is the History of Open: a JSONL file, one Record per line
// (ROOT/data/logs/retrain_history.jsonl), appended under an flock on
// path + ".lock" and fsynced before Append returns.
//
// Damage: a line that does not parse (a torn write left by a crash, a
// corrupt byte) is skipped by List and Tail and counted in Damaged; the
// file is never rewritten by a reader. An Append that finds the file not
// ending in a newline starts on a new line. An Append whose own write or
// fsync fails (ENOSPC, EIO) truncates the file back to the size it found,
// under the lock, so it leaves no torn line of its own.
//
// Side record: a run whose Append failed is not lost from view. The
// record is written into path + ".unrecorded", a file of SideRecordBytes
// preallocated (filled with spaces) by the first successful Append and
// later only overwritten in place, which needs no new disk blocks on the
// supported local filesystems (ext4, xfs, tmpfs; btrfs's copy-on-write may
// still fail on a full disk). List and Tail return the kept-aside records
// as the newest ones (counted in HistoryPage.Unrecorded), so Status and the
// monitor see a run that could not record itself; the next Append that
// succeeds writes them into the history first, in order, and blanks the
// side file. Records that do not fit are dropped from the side file, oldest
// first; a record too big for it alone is kept without its checks,
// durations and trigger reasons.
//
// A FileHistory is safe for concurrent use; several processes may append
// to one file. Local filesystems only (NFS is unsupported).
type FileHistory struct {
	path string

	mu sync.Mutex // serializes this process's appends; the flock does across processes
	// write writes b to f; a test seam for a full disk (f.Write otherwise).
	write func(f *os.File, b []byte) (int, error)
}

// SideRecordBytes is the size of FileHistory's side file.
const SideRecordBytes = 64 << 10

var (
	_ History = (*FileHistory)(nil)
	_ Tailer  = (*FileHistory)(nil)
)

// NewFileHistory returns the history kept in the JSONL file at path. It
// touches no disk: the file (0600) and its directory (0700) are created by
// the first Append.
func NewFileHistory(path string) *FileHistory {
	return &FileHistory{path: path, write: (*os.File).Write}
}

// Path is the history file.
func (h *FileHistory) Path() string { return h.path }

func (h *FileHistory) sidePath() string { return h.path + ".unrecorded" }

// maxHistoryLine bounds one history line; longer records are refused by
// Append and skipped by readers.
const maxHistoryLine = jsonl.DefaultMaxRecord

// Append writes rec as one line, after any kept-aside records, and fsyncs
// the file. See FileHistory for what a failure leaves behind.
func (h *FileHistory) Append(ctx context.Context, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("retrain: history: %w", err)
	}
	if len(line) > maxHistoryLine {
		return fmt.Errorf("retrain: history: record of %d bytes: %w", len(line), jsonl.ErrTooLarge)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	dir := filepath.Dir(h.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("retrain: history: %w", err)
	}
	l, err := flock.LockWait(h.path + ".lock")
	if err != nil {
		return fmt.Errorf("retrain: history: %w", err)
	}
	defer l.Unlock()

	side, _ := h.readSide()
	werr := h.appendLines(append(side, line))
	if werr != nil {
		if serr := h.writeSide(append(side, line)); serr != nil {
			werr = errors.Join(werr, fmt.Errorf("keeping the record aside: %w", serr))
		}
		return fmt.Errorf("retrain: history: %w", werr)
	}
	if len(side) > 0 {
		h.writeSide(nil) // they are in the history now
	}
	h.ensureSide()
	return nil
}

// appendLines appends the lines in one write and fsyncs; on failure it
// truncates the file back to its size before the write.
func (h *FileHistory) appendLines(lines [][]byte) error {
	f, err := nofollow.OpenFile(h.path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	var buf []byte
	if size > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], size-1); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if last[0] != '\n' {
			buf = append(buf, '\n') // a torn line before us: readers skip it
		}
	}
	for _, l := range lines {
		buf = append(append(buf, l...), '\n')
	}
	_, err = h.write(f, buf)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		if terr := f.Truncate(size); terr == nil {
			f.Sync()
		}
		return err
	}
	if size == 0 {
		return atomicfile.SyncDir(filepath.Dir(h.path))
	}
	return nil
}

// ensureSide creates the side file, full of spaces, if it is missing.
// Failing to is not an error: only the side record is then unavailable.
func (h *FileHistory) ensureSide() {
	if _, err := os.Lstat(h.sidePath()); !errors.Is(err, os.ErrNotExist) {
		return
	}
	atomicfile.WriteBytes(h.sidePath(), 0o600, bytes.Repeat([]byte{' '}, SideRecordBytes))
}

// readSide returns the kept-aside records' lines, oldest first. A line that
// does not parse is dropped.
func (h *FileHistory) readSide() ([][]byte, int) {
	f, err := nofollow.OpenFile(h.sidePath(), os.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, SideRecordBytes))
	if err != nil {
		return nil, 0
	}
	var lines [][]byte
	damaged := 0
	for l := range bytes.SplitSeq(b, []byte{'\n'}) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		var r Record
		if json.Unmarshal(l, &r) != nil || r.RetrainID == "" || r.Status == "" {
			damaged++
			continue
		}
		lines = append(lines, bytes.Clone(l))
	}
	return lines, damaged
}

// writeSide overwrites the side file in place with lines (the newest kept
// when they do not all fit) padded with spaces to SideRecordBytes, and
// fsyncs it. It never grows or creates the file.
func (h *FileHistory) writeSide(lines [][]byte) error {
	f, err := nofollow.OpenFile(h.sidePath(), os.O_WRONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if n := len(lines); n > 0 && len(lines[n-1])+1 > SideRecordBytes {
		lines[n-1] = shrinkRecord(lines[n-1])
	}
	total := 0
	first := len(lines)
	for first > 0 && total+len(lines[first-1])+1 <= SideRecordBytes {
		first--
		total += len(lines[first]) + 1
	}
	buf := make([]byte, 0, SideRecordBytes)
	for _, l := range lines[first:] {
		buf = append(append(buf, l...), '\n')
	}
	buf = append(buf, bytes.Repeat([]byte{' '}, SideRecordBytes-len(buf))...)
	if _, err := f.WriteAt(buf, 0); err != nil {
		return err
	}
	return f.Sync()
}

// shrinkRecord drops a record's bulky parts so that it fits the side file.
func shrinkRecord(line []byte) []byte {
	var r Record
	if json.Unmarshal(line, &r) != nil {
		return line
	}
	r.Checks, r.Durations, r.Trigger, r.Canaries, r.Warnings = nil, nil, nil, nil, nil
	r.OldMetrics, r.NewMetrics = headline(r.OldMetrics), headline(r.NewMetrics)
	b, err := json.Marshal(r)
	if err != nil {
		return line
	}
	return b
}

// each calls fn with every record, newest first: the kept-aside ones, then
// the file's lines from its end, until fn returns true. It returns the
// number of damaged lines met.
func (h *FileHistory) each(ctx context.Context, fn func(r *Record, aside bool) bool) (int, error) {
	side, damaged := h.readSide()
	for i := len(side) - 1; i >= 0; i-- {
		var r Record
		json.Unmarshal(side[i], &r) // parsed by readSide
		if fn(&r, true) {
			return damaged, nil
		}
	}
	f, err := nofollow.OpenFile(h.path, os.O_RDONLY|syscall.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return damaged, nil
	}
	if err != nil {
		return damaged, fmt.Errorf("retrain: history: %w", err)
	}
	defer f.Close()
	n := 0
	var cerr error
	err = scanBackwards(f, func(line []byte) bool {
		if n++; n%256 == 0 {
			if cerr = ctx.Err(); cerr != nil {
				return true
			}
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil || r.RetrainID == "" || r.Status == "" {
			damaged++
			return false
		}
		return fn(&r, false)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		return damaged, fmt.Errorf("retrain: history: %w", err)
	}
	return damaged, nil
}

// List returns the matching records, newest first, reading the file
// backwards and stopping once Limit records are found.
func (h *FileHistory) List(ctx context.Context, f HistoryFilter) (HistoryPage, error) {
	if err := ctx.Err(); err != nil {
		return HistoryPage{}, err
	}
	var p HistoryPage
	var err error
	p.Damaged, err = h.each(ctx, func(r *Record, aside bool) bool {
		if f.Match(r) {
			p.Records = append(p.Records, *r)
			if aside {
				p.Unrecorded++
			}
		}
		return f.Limit > 0 && len(p.Records) >= f.Limit
	})
	return p, err
}

// Tail reads the history backwards from its end until it has found the last
// success and the last attempt (or reached the start), so its cost does not
// grow with the length of the history in the usual case.
func (h *FileHistory) Tail(ctx context.Context) (HistoryTail, error) {
	if err := ctx.Err(); err != nil {
		return HistoryTail{}, err
	}
	var tl tailer
	var err error
	tl.t.Damaged, err = h.each(ctx, func(r *Record, aside bool) bool {
		if aside {
			tl.t.Unrecorded++
		}
		c := *r
		return tl.add(&c)
	})
	return tl.t, err
}

// scanBackwards calls fn with each complete non-blank line of f, last line
// first, until fn returns true or the start of the file is reached. A final
// line without its newline (a torn append) is passed too: fn rejects it if it
// does not parse. Lines over maxHistoryLine are skipped.
func scanBackwards(f *os.File, fn func(line []byte) bool) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	const chunk = 64 << 10
	end := fi.Size()
	var carry []byte // the start of a line whose beginning is in an earlier chunk
	for end > 0 {
		start := max(0, end-chunk)
		buf := make([]byte, end-start, int(end-start)+len(carry))
		if _, err := f.ReadAt(buf, start); err != nil && err != io.EOF {
			return err
		}
		buf = append(buf, carry...)
		for {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 {
				break
			}
			line := bytes.TrimSpace(buf[i+1:])
			if len(line) > 0 && len(line) <= maxHistoryLine && fn(line) {
				return nil
			}
			buf = buf[:i]
		}
		if len(buf) > maxHistoryLine {
			buf = buf[:0] // skip an over-long line without holding it
		}
		carry = buf
		end = start
	}
	if line := bytes.TrimSpace(carry); len(line) > 0 && len(line) <= maxHistoryLine {
		fn(line)
	}
	return nil
}
