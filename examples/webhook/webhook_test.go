package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/examples/webhook"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/trigger"
)

// firstWord is a classifier predicting the first word of a text.
type firstWord struct{}

// loopback allows the test receivers on 127.0.0.1, which the destination
// policy refuses by default.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func (firstWord) Predict(text string) model.Prediction {
	w, _, _ := strings.Cut(text, " ")
	return model.Prediction{Label: w, Confidence: 0.9, Labels: []string{w}}
}
func (firstWord) Encode(w io.Writer) error { _, err := w.Write([]byte("firstword\n")); return err }

type trainer struct{}

func (trainer) Train(ctx context.Context, _ []model.Example, _ func(model.Progress)) (retrain.Classifier, error) {
	return firstWord{}, ctx.Err()
}
func (trainer) Decode(r io.Reader) (retrain.Classifier, error) { return firstWord{}, nil }

func data() *dataset.MemStore {
	var base []dataset.Sample
	for _, l := range []string{"happy", "sad"} {
		for i := range 40 {
			base = append(base, dataset.Sample{Text: fmt.Sprintf("%s %x text %d", l, i*7919, i), Labels: []string{l}})
		}
	}
	return dataset.NewMemStore(base)
}

var secret = []byte("s3cr3t")

func TestNotify_Delivery(t *testing.T) {
	var got struct {
		sync.Mutex
		payload webhook.Payload
		header  http.Header
		err     error
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.Lock()
		defer got.Unlock()
		got.header = r.Header.Clone()
		got.err = webhook.Verify(secret, r.Header, body, time.Now(), time.Minute)
		json.Unmarshal(body, &got.payload)
	}))
	defer srv.Close()
	n, err := webhook.New(srv.URL+"/hook", &webhook.Options{Allow: loopback, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	rec := &retrain.Record{RetrainID: "retrain_20250820_030000_abcdef", Status: trigger.OutcomeDeployed, NewVersion: "v2",
		NewMetrics: map[string]float64{"accuracy": 0.93}}
	err = n.Notify(context.Background(), retrain.Event{Type: retrain.EventModelDeployed, RunID: rec.RetrainID, Record: rec})
	if err != nil {
		t.Fatal(err)
	}
	got.Lock()
	defer got.Unlock()
	if got.err != nil {
		t.Errorf("Verify: %v", got.err)
	}
	p := got.payload
	if p.Event != "model.deployed" || p.Text == "" || p.Text != p.Content || p.Record == nil || p.Record.RetrainID != rec.RetrainID {
		t.Errorf("payload %+v", p)
	}
	if k := got.header.Get(webhook.HeaderIdempotency); k != rec.RetrainID+".model.deployed" {
		t.Errorf("idempotency key %q", k)
	}
}

func TestVerify(t *testing.T) {
	body := []byte(`{"event":"x"}`)
	now := time.Unix(1_700_000_000, 0)
	ts := fmt.Sprint(now.Unix())
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, ts)
	h.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, body))
	if err := webhook.Verify(secret, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Errorf("good delivery: %v", err)
	}
	if err := webhook.Verify(secret, h, append(body, ' '), now, 0); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("tampered body: %v", err)
	}
	if err := webhook.Verify([]byte("other"), h, body, now, 0); !errors.Is(err, webhook.ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := webhook.Verify(secret, h, body, now.Add(time.Hour), 5*time.Minute); !errors.Is(err, webhook.ErrStale) {
		t.Errorf("replayed late: %v", err)
	}
}

func TestNotify_RetriesOn5xx(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	n, _ := webhook.New(srv.URL, &webhook.Options{Allow: loopback, Backoff: time.Millisecond})
	if err := n.Notify(context.Background(), retrain.Event{Type: retrain.EventRunFailed}); err != nil || calls.Load() != 3 {
		t.Fatalf("Notify = %v after %d calls", err, calls.Load())
	}
	// 4xx is not retried.
	calls.Store(0)
	srv4 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv4.Close()
	n, _ = webhook.New(srv4.URL, &webhook.Options{Allow: loopback, Backoff: time.Millisecond})
	if err := n.Notify(context.Background(), retrain.Event{Type: retrain.EventRunFailed}); !errors.Is(err, webhook.ErrDelivery) || calls.Load() != 1 {
		t.Fatalf("Notify = %v after %d calls", err, calls.Load())
	}
}

// TestRetrain_BadEndpoints: an endpoint that is down, slow, failing or never
// finishes its body changes neither the run's outcome nor, beyond the notify
// timeout, its time; and a canary secret in the URL appears nowhere.
func TestRetrain_BadEndpoints(t *testing.T) {
	const canary = "CANARY-7f3a9c-SECRET"
	// Handlers that hang wait for release, closed before each server closes.
	var release chan struct{}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	neverEnds := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.WriteHeader(200)
		w.Write([]byte("{"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	redirectLoop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.String(), http.StatusFound)
	})
	down := httptest.NewServer(failing)
	downURL := down.URL
	down.Close()

	cases := []struct {
		name string
		h    http.Handler
		url  string
	}{
		{"down", nil, downURL},
		{"slow", slow, ""},
		{"500", failing, ""},
		{"never finishes body", neverEnds, ""},
		{"redirect loop", redirectLoop, ""},
	}
	const notifyTimeout = 400 * time.Millisecond
	runs, bad, leaks := 0, 0, 0
	var worst time.Duration
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url
			release = make(chan struct{})
			if tc.h != nil {
				srv := httptest.NewServer(tc.h)
				defer srv.Close()
				u = srv.URL
			}
			defer close(release) // runs before srv.Close
			u += "/hooks/" + canary + "?token=" + canary
			n, err := webhook.New(u, &webhook.Options{Allow: loopback, Secret: secret, Timeout: 150 * time.Millisecond, Backoff: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			var logs bytes.Buffer
			var mu sync.Mutex
			logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			r, err := retrain.New(retrain.Config{
				Trigger: trigger.TriggerFunc(func(context.Context, trigger.State) (trigger.Decision, error) {
					return trigger.Decision{Retrain: true}, nil
				}),
				Data:          data(),
				Trainer:       trainer{},
				Models:        backup.NewMemStore(),
				Notifier:      n,
				NotifyTimeout: notifyTimeout,
				HistoryPath:   filepath.Join(dir, "retrain_history.jsonl"),
				LockPath:      filepath.Join(dir, "retrain.lock"),
				Logger:        logger,
			})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res, err := r.Run(context.Background(), retrain.RunOptions{})
			took := time.Since(start)
			worst = max(worst, took)
			runs++
			// Two notifications (run.started, model.deployed), each bounded.
			if err != nil || !res.Deployed || took > 2*notifyTimeout+time.Second {
				bad++
				t.Errorf("Run = %+v, %v in %v", res, err, took)
			}
			st, _ := r.Status(context.Background())
			r.Close()
			hist, _ := os.ReadFile(filepath.Join(dir, "retrain_history.jsonl"))
			stJSON, _ := json.Marshal(st)
			resJSON, _ := json.Marshal(res)
			mu.Lock()
			all := logs.String() + string(hist) + string(stJSON) + string(resJSON) + fmt.Sprint(err) + fmt.Sprint(n)
			mu.Unlock()
			// The notifier's own error, directly.
			nerr := n.Notify(context.Background(), retrain.Event{Type: retrain.EventRunFailed})
			all += fmt.Sprint(nerr)
			if c := strings.Count(all, canary); c != 0 {
				leaks += c
				t.Errorf("secret appears %d times", c)
			}
			// A 2xx whose body never ends counts as delivered.
			if tc.name != "never finishes body" && !strings.Contains(logs.String(), "notification") {
				t.Errorf("the failed notification was not logged: %s", logs.String())
			}
		})
	}
	t.Logf(`REL {"test": "webhook_bad_endpoints", "runs": %d, "bad": %d, "secret_leaks": %d, "worst_run_ms": %d, "notify_timeout_ms": %d}`,
		runs, bad, leaks, worst.Milliseconds(), notifyTimeout.Milliseconds())
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func ExampleVerify() {
	secret := []byte("shared secret")
	body := []byte(`{"event":"model.deployed"}`)
	now := time.Unix(1_755_658_800, 0)
	h := http.Header{}
	h.Set(webhook.HeaderTimestamp, fmt.Sprint(now.Unix()))
	h.Set(webhook.HeaderSignature, webhook.Sign(secret, fmt.Sprint(now.Unix()), body))
	fmt.Println(webhook.Verify(secret, h, body, now, time.Minute))
	fmt.Println(webhook.Verify([]byte("wrong"), h, body, now, time.Minute))
	// Output:
	// <nil>
	// webhook: bad signature
}

// TestNotify_DestinationPolicy: loopback, private and link-local
// destinations are refused unless allowed, whatever name the URL uses (the
// check is on the address connected to), and Deny wins over Allow.
func TestNotify_DestinationPolicy(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ev := retrain.Event{Type: retrain.EventRunSkipped, RunID: "r1", Record: &retrain.Record{RetrainID: "r1", Status: "skipped"}}
	tried := 0
	for _, tc := range []struct {
		url         string
		allow, deny []netip.Prefix
		ok          bool
	}{
		{srv.URL, nil, nil, false},
		{"http://localhost:" + port, nil, nil, false}, // a name resolving to loopback (as a rebinding name would)
		{"http://127.0.0.2:" + port, loopback, nil, false},
		{"http://10.0.0.1:" + port, nil, nil, false},
		{"http://169.254.169.254:" + port, nil, nil, false}, // cloud metadata
		{"http://[::1]:" + port, nil, nil, false},
		{srv.URL, loopback, loopback, false},
		{srv.URL, loopback, nil, true},
	} {
		tried++
		n, err := webhook.New(tc.url, &webhook.Options{Allow: tc.allow, Deny: tc.deny, Retries: -1, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = n.Notify(t.Context(), ev)
		if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, webhook.ErrDestination)) {
			t.Errorf("%s allow %v deny %v: %v", tc.url, tc.allow, tc.deny, err)
		}
	}
	if hits.Load() != 1 {
		t.Errorf("the receiver got %d deliveries, want 1 (the allowed one)", hits.Load())
	}
	t.Logf("destinations tried: %d", tried)
}

// TestNotify_NoCrossOriginRedirect: a redirect to another origin is not
// followed (the signed body stays with the receiver the URL names); one
// within the origin is.
func TestNotify_NoCrossOriginRedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	var home atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusPermanentRedirect)
		default:
			home.Add(1)
		}
	}))
	defer srv.Close()
	ev := retrain.Event{Type: retrain.EventRunSkipped, RunID: "r1", Record: &retrain.Record{RetrainID: "r1", Status: "skipped"}}
	n, _ := webhook.New(srv.URL+"/away", &webhook.Options{Allow: loopback, Retries: -1, Secret: []byte("s")})
	if err := n.Notify(t.Context(), ev); err == nil || elsewhere.Load() != 0 {
		t.Errorf("cross-origin redirect: err %v, other host got %d deliveries", err, elsewhere.Load())
	}
	n, _ = webhook.New(srv.URL+"/moved", &webhook.Options{Allow: loopback, Retries: -1})
	if err := n.Notify(t.Context(), ev); err != nil || home.Load() != 1 {
		t.Errorf("same-origin redirect: err %v, %d deliveries", err, home.Load())
	}
}
