package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"regexp"
	"sync"
	"time"

	"moodfood/internal/atomicfile"
	"moodfood/internal/jsonl"
	"moodfood/internal/nofollow"
)

// shadowLog is the shadow-disagreement log (user text) with its retention:
// lines older than retention are deleted when it opens and then daily.
type shadowLog struct {
	path      string
	retention time.Duration // <= 0: forever
	mu        sync.Mutex
	app       *jsonl.Appender
}

// openShadowLog applies the retention and opens the log for appending.
func openShadowLog(path string, retention time.Duration, now time.Time) (*shadowLog, int, error) {
	l := &shadowLog{path: path, retention: retention}
	n, err := l.prune(now)
	if err != nil {
		return nil, 0, err
	}
	if l.app, err = jsonl.OpenAppender(path, nil); err != nil {
		return nil, 0, err
	}
	return l, n, nil
}

// append writes one record.
func (l *shadowLog) append(b []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.app.Append(b)
}

// prune deletes the lines whose "timestamp" is older than the retention,
// closing and reopening the appender around the rewrite.
func (l *shadowLog) prune(now time.Time) (int, error) {
	if l.retention <= 0 {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, err := nofollow.ReadFile(l.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	cutoff := now.Add(-l.retention)
	var keep []byte
	n := 0
	for line := range bytes.Lines(b) {
		var r struct {
			Timestamp time.Time `json:"timestamp"`
		}
		if json.Unmarshal(line, &r) == nil && !r.Timestamp.IsZero() && r.Timestamp.Before(cutoff) {
			n++
			continue
		}
		keep = append(keep, line...)
	}
	if n == 0 {
		return 0, nil
	}
	if l.app != nil {
		l.app.Sync()
		l.app.Close()
		l.app = nil
	}
	err = atomicfile.WriteBytes(l.path, 0o600, keep)
	if l.app == nil && err == nil {
		l.app, err = jsonl.OpenAppender(l.path, nil)
	}
	return n, err
}

// close flushes and closes the log.
func (l *shadowLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.app != nil {
		l.app.Sync()
		l.app.Close()
		l.app = nil
	}
}

var (
	emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	phoneRE = regexp.MustCompile(`\+?[0-9][0-9 ().-]{6,}[0-9]`)
)

// redactContacts masks e-mail addresses and phone numbers (-redact).
func redactContacts(text string) string {
	return phoneRE.ReplaceAllString(emailRE.ReplaceAllString(text, "<EMAIL>"), "<PHONE>")
}
