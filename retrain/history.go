package retrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"moodfood/internal/jsonl"
	"moodfood/trigger"
)

// history is where run records go: a JSONL file, or memory when no path is
// configured.
type history struct {
	path string // "" = memory

	mu  sync.Mutex
	mem []Record
}

// append adds one record. File appends go through internal/jsonl (O_APPEND,
// one write, a new line first if the file does not end in one) and are
// fsynced before append returns.
func (h *history) append(rec Record) error {
	if h.path == "" {
		h.mu.Lock()
		h.mem = append(h.mem, rec)
		h.mu.Unlock()
		return nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("retrain: history: %w", err)
	}
	a, err := jsonl.OpenAppender(h.path, nil)
	if err != nil {
		return fmt.Errorf("retrain: history: %w", err)
	}
	err = a.Append(b)
	if err == nil {
		err = a.Sync()
	}
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("retrain: history: %w", err)
	}
	return nil
}

// historyTail is what Run and Status need from the history.
type historyTail struct {
	// Last is the most recent record, LastSuccess the most recent deployed
	// one, LastAttempt the most recent one that trained (not skipped, not a
	// manual rollback), LastRollback the most recent manual rollback after
	// LastSuccess (nil if none).
	Last, LastSuccess, LastAttempt, LastRollback *Record
	// Corrupt counts damaged lines met on the way back.
	Corrupt int
}

// tail reads the history backwards from its end until it has found the last
// success and the last attempt (or reached the start), so its cost does not
// grow with the length of the history in the usual case. Damaged lines are
// skipped and counted.
func (h *history) tail() (historyTail, error) {
	var t historyTail
	done := func(r *Record) bool {
		if t.Last == nil {
			t.Last = r
		}
		if r.Manual {
			// A manual rollback trained nothing: not an attempt for the
			// trigger (see Retrainer.Rollback).
			if t.LastRollback == nil && t.LastSuccess == nil {
				t.LastRollback = r
			}
			return false
		}
		if t.LastAttempt == nil && r.Status != trigger.OutcomeSkipped {
			t.LastAttempt = r
		}
		if t.LastSuccess == nil && r.Status == trigger.OutcomeDeployed {
			t.LastSuccess = r
		}
		return t.LastAttempt != nil && t.LastSuccess != nil
	}
	if h.path == "" {
		h.mu.Lock()
		defer h.mu.Unlock()
		for i := len(h.mem) - 1; i >= 0; i-- {
			r := h.mem[i]
			if done(&r) {
				break
			}
		}
		return t, nil
	}
	f, err := os.Open(h.path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return t, fmt.Errorf("retrain: history: %w", err)
	}
	defer f.Close()
	err = scanBackwards(f, func(line []byte) bool {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil || r.RetrainID == "" || r.Status == "" {
			t.Corrupt++
			return false
		}
		return done(&r)
	})
	if err != nil {
		return t, fmt.Errorf("retrain: history: %w", err)
	}
	return t, nil
}

// maxHistoryLine bounds one history line; longer lines are skipped.
const maxHistoryLine = jsonl.DefaultMaxRecord

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
