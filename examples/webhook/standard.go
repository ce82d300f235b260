package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers (https://www.standardwebhooks.com), sent beside
// the X-Moodfood ones so that off-the-shelf receivers can verify a delivery:
//
//	webhook-id:        <retrain_id>.<event>   (the same as Idempotency-Key)
//	webhook-timestamp: <unix seconds>
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
// The key is the secret's bytes, or, for a secret written the Standard
// Webhooks way ("whsec_" followed by base64), the decoded bytes.
const (
	HeaderStdID        = "webhook-id"
	HeaderStdTimestamp = "webhook-timestamp"
	HeaderStdSignature = "webhook-signature"
)

// stdKey is the HMAC key of a secret under the Standard Webhooks rules.
func stdKey(secret []byte) []byte {
	if rest, ok := strings.CutPrefix(string(secret), "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(rest); err == nil {
			return k
		}
	}
	return secret
}

// SignStandard returns the webhook-signature header value ("v1,<base64>")
// for a delivery with id, timestamp ts (unix seconds) and body.
func SignStandard(secret []byte, id, ts string, body []byte) string {
	m := hmac.New(sha256.New, stdKey(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyStandard checks a delivery's Standard Webhooks headers: ErrStale
// when webhook-timestamp is more than maxSkew from now (0 = 5 minutes),
// ErrBadSignature unless one of the space-separated signatures in
// webhook-signature is the v1 signature of id, timestamp and body (compared
// in constant time).
func VerifyStandard(secret []byte, header http.Header, body []byte, now time.Time, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = 5 * time.Minute
	}
	ts := header.Get(HeaderStdTimestamp)
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrStale
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return ErrStale
	}
	id := header.Get(HeaderStdID)
	if id == "" {
		return ErrBadSignature
	}
	want := []byte(SignStandard(secret, id, ts, body))
	for _, sig := range strings.Fields(header.Get(HeaderStdSignature)) {
		if hmac.Equal([]byte(sig), want) {
			return nil
		}
	}
	return ErrBadSignature
}
