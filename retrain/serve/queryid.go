package serve

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Bounds on what a client sends. Classify and Feedback refuse longer values
// with an error matching ErrTooLong, before anything is stored.
const (
	// MaxQueryIDBytes bounds the query id Feedback accepts. The ids the
	// Server issues are about 50 bytes.
	MaxQueryIDBytes = 128
	// MaxSessionIDBytes bounds Request.SessionID.
	MaxSessionIDBytes = 256
)

// DefaultFeedbackTTL is how long after its query feedback is accepted.
const DefaultFeedbackTTL = 24 * time.Hour

// Query ids are issued by the Server and signed, so that Feedback can tell
// an id it issued from one a client made up without remembering every id:
//
//	<nonce>.<issued, unix seconds, base 36>.<HMAC-SHA-256 of the first two parts, 16 bytes, base64url>
//
// The nonce comes from Options.NewQueryID; the key from Options.QueryIDKey
// (replicas that share it accept each other's ids).
const macBytes = 16

// newKey returns a random HMAC key for a Server without Options.QueryIDKey.
func newKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// issueID returns a new signed query id issued at now.
func (s *Server) issueID(now time.Time) string {
	body := s.o.NewQueryID() + "." + strconv.FormatInt(now.Unix(), 36)
	return body + "." + base64.RawURLEncoding.EncodeToString(s.mac(body))
}

func (s *Server) mac(body string) []byte {
	m := hmac.New(sha256.New, s.o.QueryIDKey)
	m.Write([]byte(body))
	return m.Sum(nil)[:macBytes]
}

// checkID verifies that id was issued by a Server with this key, not longer
// than Options.FeedbackTTL before now.
func (s *Server) checkID(id string, now time.Time) error {
	if len(id) > MaxQueryIDBytes {
		return fmt.Errorf("%w: query id of %d bytes (at most %d)", ErrTooLong, len(id), MaxQueryIDBytes)
	}
	dot := strings.LastIndexByte(id, '.')
	if dot < 0 {
		return ErrUnknownQuery
	}
	body, sig := id[:dot], id[dot+1:]
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig) // strict: one spelling per id, so "once" holds
	if err != nil || !hmac.Equal(got, s.mac(body)) {
		return ErrUnknownQuery
	}
	ts := body[strings.LastIndexByte(body, '.')+1:]
	sec, err := strconv.ParseInt(ts, 36, 64)
	if err != nil {
		return ErrUnknownQuery
	}
	if age := now.Sub(time.Unix(sec, 0)); s.o.FeedbackTTL > 0 && age > s.o.FeedbackTTL {
		return fmt.Errorf("%w: the query is %s old (at most %s)", ErrFeedbackExpired, age.Truncate(time.Second), s.o.FeedbackTTL)
	}
	return nil
}

// seenIDs remembers the last n query ids that got feedback, so that each
// gets feedback once; an id pushed out of it by n later ones could get a
// second feedback, which the export joins as the last verdict anyway.
type seenIDs struct {
	mu   sync.Mutex
	m    map[string]struct{}
	ring []string
	next int
}

func (r *seenIDs) init(n int) {
	r.m = make(map[string]struct{}, min(n, 1<<16))
	r.ring = make([]string, n)
}

// add records id and reports whether it was new.
func (r *seenIDs) add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.m[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.m, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.m[id] = struct{}{}
	return true
}

// remove forgets id (its feedback could not be logged, so it may come again).
func (r *seenIDs) remove(id string) {
	r.mu.Lock()
	delete(r.m, id) // its ring slot is overwritten in turn; a stale delete of a re-added id is harmless
	r.mu.Unlock()
}

// redact applies Options.Redact, keeping the original text when the hook
// returns an empty string.
func (s *Server) redact(text string) string {
	if s.o.Redact == nil {
		return text
	}
	if r := s.o.Redact(text); r != "" {
		return r
	}
	return text
}
