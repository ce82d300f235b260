package webhook

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// backoff is the wait before retry number attempt (1-based): the base
// doubled per attempt up to max, of which a random half is taken ("equal
// jitter": between half and all of it), so that many senders retrying
// after one outage do not hit the receiver in step.
func backoff(base, max time.Duration, attempt int, rnd func() float64) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	half := d / 2
	return half + time.Duration(rnd()*float64(d-half))
}

// retryAfter reads a Retry-After header (delay seconds or an HTTP date)
// relative to now; ok is false when there is none or it cannot be read.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// defaultRand is the jitter source when Options.Rand is nil.
func defaultRand() float64 { return rand.Float64() }
