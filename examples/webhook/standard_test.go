package webhook

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"moodfood/retrain"
)

// The published Standard Webhooks test vector (the reference libraries'
// tests): a receiver written against the specification accepts what we
// sign.
func TestSignStandard_Vector(t *testing.T) {
	got := SignStandard([]byte("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("SignStandard = %s, want %s", got, want)
	}
}

// Every delivery carries the Standard Webhooks headers beside the
// X-Moodfood ones; both verify, and a tampered body fails both.
func TestNotify_StandardWebhooksHeaders(t *testing.T) {
	secret := []byte("topsecret")
	var mu sync.Mutex
	var hdr http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		hdr = r.Header.Clone()
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	n, err := New(srv.URL, &Options{Allow: allowLoopback, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), retrain.Event{Type: retrain.EventModelDeployed, RunID: "retrain_x"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hdr.Get(HeaderStdID) != "retrain_x.model.deployed" || hdr.Get(HeaderStdTimestamp) != hdr.Get(HeaderTimestamp) ||
		!strings.HasPrefix(hdr.Get(HeaderStdSignature), "v1,") {
		t.Fatalf("headers: %v", hdr)
	}
	now := time.Now()
	if err := VerifyStandard(secret, hdr, body, now, 0); err != nil {
		t.Fatalf("VerifyStandard: %v", err)
	}
	if err := Verify(secret, hdr, body, now, 0); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	bad := append([]byte(nil), body...)
	bad[len(bad)/2] ^= 1
	if err := VerifyStandard(secret, hdr, bad, now, 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	if err := VerifyStandard(secret, hdr, body, now.Add(time.Hour), 0); !errors.Is(err, ErrStale) {
		t.Fatalf("an hour later: %v", err)
	}
}

// A 429 or 503 with Retry-After is retried after at least that long; a
// Retry-After longer than MaxRetryAfter or than the context allows ends the
// delivery at once instead of sleeping into the deadline.
func TestNotify_RetryAfter(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	answer := func(w http.ResponseWriter) {}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		answer(w)
	}))
	defer srv.Close()
	ev := retrain.Event{Type: retrain.EventRunStarted, RunID: "r"}
	t.Run("Honoured", func(t *testing.T) {
		calls = 0
		answer = func(w http.ResponseWriter) {
			if calls == 1 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
		n, _ := New(srv.URL, &Options{Allow: allowLoopback, Backoff: time.Millisecond, Rand: func() float64 { return 0 }})
		start := time.Now()
		if err := n.Notify(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < time.Second || calls != 2 {
			t.Fatalf("retried after %v (%d calls), want ≥ 1s as the receiver asked", d, calls)
		}
	})
	t.Run("TooLong", func(t *testing.T) {
		calls = 0
		answer = func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		n, _ := New(srv.URL, &Options{Allow: allowLoopback, Backoff: time.Millisecond})
		err := n.Notify(t.Context(), ev)
		if !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "asks to retry in 2m0s") || calls != 1 {
			t.Fatalf("Notify = %v after %d calls", err, calls)
		}
	})
	t.Run("PastDeadline", func(t *testing.T) {
		calls = 0
		answer = func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
		n, _ := New(srv.URL, &Options{Allow: allowLoopback, Backoff: time.Millisecond})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		err := n.Notify(ctx, ev)
		if !errors.Is(err, ErrDelivery) || !strings.Contains(err.Error(), "past the deadline") || calls != 1 {
			t.Fatalf("Notify = %v after %d calls", err, calls)
		}
	})
}

// Waits double up to the cap and are jittered between half and all of it.
func TestBackoff(t *testing.T) {
	base, cap := 100*time.Millisecond, time.Second
	for attempt, full := range []time.Duration{0, 100, 200, 400, 800, 1000, 1000} {
		if attempt == 0 {
			continue
		}
		full *= time.Millisecond
		if lo := backoff(base, cap, attempt, func() float64 { return 0 }); lo != full/2 {
			t.Errorf("attempt %d, no jitter: %v, want %v", attempt, lo, full/2)
		}
		if hi := backoff(base, cap, attempt, func() float64 { return 0.999999 }); hi < full*99/100 || hi > full {
			t.Errorf("attempt %d, full jitter: %v, want about %v", attempt, hi, full)
		}
	}
	seen := map[time.Duration]bool{}
	for range 20 {
		seen[backoff(base, cap, 3, defaultRand)] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 jittered waits gave %d distinct values", len(seen))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"7", 7 * time.Second, true}, {"-1", 0, false}, {"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
	} {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got, ok := retryAfter(h, now); got != tt.want || ok != tt.ok {
			t.Errorf("Retry-After %q = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.ok)
		}
	}
}

// allowLoopback lets the tests reach their receiver on 127.0.0.1, which the
// destination policy refuses by default.
var allowLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
