// Package webhook is a retrain.Notifier that posts run events to a chat
// webhook (Slack and Discord accept the same JSON) or to any HTTP receiver,
// and the Verify function such a receiver uses to check a delivery.
//
// Each delivery is one POST of
//
//	{"text": "...", "content": "...", "event": "model.deployed", "record": {...}}
//
// where text (Slack) and content (Discord) carry the same one-line summary
// and record is the run's retrain.Record, as in the history file. Headers:
//
//	X-Moodfood-Timestamp: <unix seconds>
//	X-Moodfood-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//	Idempotency-Key:      <retrain_id>.<event>
//
// and the Standard Webhooks headers webhook-id, webhook-timestamp and
// webhook-signature (see standard.go), the signatures only when a Secret is
// set. A delivery is retried on network errors and 5xx or 429 answers with
// jittered exponential backoff; a Retry-After header on a 429 or 503 answer
// is honoured (a wait longer than MaxRetryAfter, or than the context allows,
// gives up at once), all within the context's deadline, which retrain bounds
// by Config.NotifyTimeout.
//
// The webhook URL is a secret (it usually embeds a token): it never appears
// in an error, a log line, a history record or a status page. Errors name
// the host only as "webhook".
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"moodfood/retrain"
)

// Header names.
const (
	HeaderSignature   = "X-Moodfood-Signature"
	HeaderTimestamp   = "X-Moodfood-Timestamp"
	HeaderIdempotency = "Idempotency-Key"
)

// Errors returned by Notify and Verify.
var (
	ErrBadSignature = errors.New("webhook: bad signature")
	ErrStale        = errors.New("webhook: timestamp outside the allowed skew")
	ErrDelivery     = errors.New("webhook: delivery failed")
)

// Options tunes a Notifier. A nil *Options and every zero field mean the
// defaults in the comments.
type Options struct {
	// Secret signs each delivery (HMAC-SHA256); empty means unsigned.
	Secret []byte
	// Client sends the requests (nil = a client with Timeout per attempt).
	// It is copied: redirects are followed only within the URL's origin,
	// and when its Transport is nil or an *http.Transport without its own
	// dialer, the destination policy below is applied as it connects.
	Client *http.Client
	// Allow and Deny are the destination policy, checked on the address
	// each connection is made to (after DNS resolution, so DNS rebinding
	// cannot dodge it). Public addresses are allowed; loopback, private,
	// link-local and other non-public ones are refused unless in Allow
	// (127.0.0.1/32 for a receiver on the same machine); an address in Deny
	// is always refused. With an HTTP proxy from the environment, the
	// address checked is the proxy's.
	Allow, Deny []netip.Prefix
	// Timeout bounds each attempt (0 = 5s).
	Timeout time.Duration
	// Retries is the number of retries after the first attempt (0 = 3;
	// negative = none). Backoff is the first wait, doubled each time up to
	// MaxBackoff (0 = 200ms and 30s); each wait is jittered, between half
	// and all of it.
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
	// MaxRetryAfter is the longest Retry-After wait honoured (0 = 60s); a
	// receiver asking for more ends the delivery with an error.
	MaxRetryAfter time.Duration
	// Rand returns the jitter, uniform in [0, 1) (nil = math/rand/v2).
	Rand func() float64
	// MaxResponse caps how much of a response body is read (0 = 64 KiB);
	// a receiver that never finishes its body is cut off by Timeout.
	MaxResponse int64
	// Events, if not empty, lists the event types to deliver; others are
	// ignored.
	Events []string
	// Now is the clock for the timestamp header (nil = time.Now).
	Now func() time.Time
}

// Notifier posts events to one webhook URL. It is safe for concurrent use.
type Notifier struct {
	url  string // secret: never printed
	opts Options
}

var _ retrain.Notifier = (*Notifier)(nil)

// New returns a Notifier posting to rawURL, which must be an absolute http or
// https URL. Read the URL from the environment or a file, never from argv.
// The error never contains the URL.
func New(rawURL string, opts *Options) (*Notifier, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook: the webhook URL is not an absolute http(s) URL")
	}
	n := &Notifier{url: rawURL}
	if opts != nil {
		n.opts = *opts
	}
	if n.opts.Timeout <= 0 {
		n.opts.Timeout = 5 * time.Second
	}
	n.opts.Client = n.client(n.opts.Client)
	if n.opts.Retries == 0 {
		n.opts.Retries = 3
	} else if n.opts.Retries < 0 {
		n.opts.Retries = 0
	}
	if n.opts.Backoff <= 0 {
		n.opts.Backoff = 200 * time.Millisecond
	}
	if n.opts.MaxBackoff <= 0 {
		n.opts.MaxBackoff = 30 * time.Second
	}
	if n.opts.MaxRetryAfter <= 0 {
		n.opts.MaxRetryAfter = 60 * time.Second
	}
	if n.opts.Rand == nil {
		n.opts.Rand = defaultRand
	}
	if n.opts.MaxResponse <= 0 {
		n.opts.MaxResponse = 64 << 10
	}
	if n.opts.Now == nil {
		n.opts.Now = time.Now
	}
	return n, nil
}

// String hides the URL from %v and %s.
func (n *Notifier) String() string { return "webhook.Notifier{url: <redacted>}" }

// Payload is the JSON body of a delivery.
type Payload struct {
	Text    string          `json:"text"`
	Content string          `json:"content"`
	Event   string          `json:"event"`
	Record  *retrain.Record `json:"record,omitempty"`
}

// Message is the chat text of an event.
func Message(e retrain.Event) string {
	icon := map[string]string{
		retrain.EventRunStarted:      "⏳",
		retrain.EventRunSkipped:      "💤",
		retrain.EventRunFailed:       "❌",
		retrain.EventGateRejected:    "🛑",
		retrain.EventModelDeployed:   "✅",
		retrain.EventModelRolledBack: "↩️",
	}[e.Type]
	s := strings.TrimSpace(icon + " moodfood " + e.Type)
	if e.Record != nil {
		s += ": " + e.Record.Summary()
	}
	return s
}

// Notify delivers e, retrying on network errors and 5xx/429 answers until
// ctx is done. The error wraps ErrDelivery and never contains the URL.
func (n *Notifier) Notify(ctx context.Context, e retrain.Event) error {
	if len(n.opts.Events) > 0 && !contains(n.opts.Events, e.Type) {
		return nil
	}
	msg := Message(e)
	body, err := json.Marshal(Payload{Text: msg, Content: msg, Event: e.Type, Record: e.Record})
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	key := e.RunID + "." + e.Type
	var last error
	var asked time.Duration // the receiver's Retry-After, if it sent one
	for attempt := 0; attempt <= n.opts.Retries; attempt++ {
		if attempt > 0 {
			wait := backoff(n.opts.Backoff, n.opts.MaxBackoff, attempt, n.opts.Rand)
			if asked > 0 {
				if asked > n.opts.MaxRetryAfter {
					return fmt.Errorf("%w: the receiver asks to retry in %s, more than %s (last: %v)", ErrDelivery, asked, n.opts.MaxRetryAfter, last)
				}
				if dl, ok := ctx.Deadline(); ok && time.Until(dl) < asked {
					return fmt.Errorf("%w: the receiver asks to retry in %s, past the deadline (last: %v)", ErrDelivery, asked, last)
				}
				wait = max(wait, asked)
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%w after %d attempts: %v (last: %v)", ErrDelivery, attempt, ctx.Err(), last)
			case <-t.C:
			}
		}
		retry, ra, err := n.post(ctx, body, key)
		if err == nil {
			return nil
		}
		last, asked = err, ra
		if !retry {
			break
		}
	}
	return fmt.Errorf("%w: %w", ErrDelivery, last)
}

// post makes one attempt and says whether a failure is worth retrying and,
// for a 429 or 503 answer with a Retry-After header, how long the receiver
// asks to wait.
func (n *Notifier) post(ctx context.Context, body []byte, key string) (retry bool, after time.Duration, err error) {
	actx, cancel := context.WithTimeout(ctx, n.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return false, 0, errors.New("webhook: cannot build the request")
	}
	ts := strconv.FormatInt(n.opts.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "moodfood-retrain-webhook")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderIdempotency, key)
	req.Header.Set(HeaderStdID, key)
	req.Header.Set(HeaderStdTimestamp, ts)
	if len(n.opts.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(n.opts.Secret, ts, body))
		req.Header.Set(HeaderStdSignature, SignStandard(n.opts.Secret, key, ts, body))
	}
	resp, err := n.opts.Client.Do(req)
	if errors.Is(err, ErrDestination) {
		return false, 0, fmt.Errorf("%w (see Options.Allow)", ErrDestination)
	}
	if err != nil {
		return true, 0, scrub(err)
	}
	defer resp.Body.Close()
	_, rerr := io.Copy(io.Discard, io.LimitReader(resp.Body, n.opts.MaxResponse))
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			after, _ = retryAfter(resp.Header, n.opts.Now())
		}
		return true, after, fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	case resp.StatusCode >= 300:
		return false, 0, fmt.Errorf("webhook: HTTP %d", resp.StatusCode)
	case rerr != nil:
		// Delivered (2xx) but the body never finished: count it as done.
		return false, 0, nil
	}
	return false, 0, nil
}

// scrub replaces an error that may carry the URL (a *url.Error) by one that
// does not, keeping the cause's class.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		cause := ue.Err
		switch {
		case errors.Is(cause, context.DeadlineExceeded):
			return fmt.Errorf("webhook: %s: timeout", ue.Op)
		case errors.Is(cause, context.Canceled):
			return fmt.Errorf("webhook: %s: canceled", ue.Op)
		}
		var ne interface{ Timeout() bool }
		if errors.As(cause, &ne) && ne.Timeout() {
			return fmt.Errorf("webhook: %s: timeout", ue.Op)
		}
		return fmt.Errorf("webhook: %s: network error", ue.Op)
	}
	return errors.New("webhook: request failed")
}

// Sign returns the signature header value for body sent at timestamp ts
// (unix seconds, as sent in X-Moodfood-Timestamp).
func Sign(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a delivery on the receiving side: header is the request's
// headers, body its raw body. It returns ErrStale when the timestamp is more
// than maxSkew away from now (0 = 5 minutes) and ErrBadSignature when the
// signature does not match (compared in constant time).
func Verify(secret []byte, header http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = 5 * time.Minute
	}
	ts := header.Get(HeaderTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return ErrStale
	}
	want := Sign(secret, ts, body)
	if !hmac.Equal([]byte(header.Get(HeaderSignature)), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
