package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"moodfood/examples/webhook"
	"moodfood/retrain"
)

// TestHandler posts deliveries made by the real Notifier, then forged,
// stale, repeated and malformed ones.
// loopback allows the test receivers on 127.0.0.1, which the destination
// policy refuses by default.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

func TestHandler(t *testing.T) {
	secret := []byte("s3cret")
	var out bytes.Buffer
	h := &handler{secret: secret, maxSkew: time.Minute, out: &out, now: time.Now}
	srv := httptest.NewServer(h)
	defer srv.Close()

	n, err := webhook.New(srv.URL, &webhook.Options{Allow: loopback, Secret: secret, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ev := retrain.Event{Type: retrain.EventModelDeployed, RunID: "retrain_20261127_030000_abcdef", Time: time.Now(),
		Record: &retrain.Record{RetrainID: "retrain_20261127_030000_abcdef", Status: "deployed", NewVersion: "model_backup_20261127_030000_000001"}}
	if err := n.Notify(context.Background(), ev); err != nil {
		t.Fatalf("signed delivery refused: %v", err)
	}
	if err := n.Notify(context.Background(), ev); err != nil { // a retry: accepted, not printed again
		t.Fatalf("repeated delivery refused: %v", err)
	}
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, " model.deployed ") {
		t.Fatalf("printed:\n%s", got)
	}

	wrong, _ := webhook.New(srv.URL, &webhook.Options{Allow: loopback, Secret: []byte("other"), Retries: -1})
	if err := wrong.Notify(context.Background(), ev); err == nil {
		t.Error("a delivery signed with another secret was accepted")
	}
	unsigned, _ := webhook.New(srv.URL, &webhook.Options{Allow: loopback, Retries: -1})
	if err := unsigned.Notify(context.Background(), ev); err == nil {
		t.Error("an unsigned delivery was accepted")
	}
	stale, _ := webhook.New(srv.URL, &webhook.Options{Allow: loopback, Secret: secret, Retries: -1,
		Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	if err := stale.Notify(context.Background(), ev); err == nil {
		t.Error("a stale delivery was accepted")
	}

	post := func(method, body string, signed bool) int {
		req, _ := http.NewRequest(method, srv.URL, strings.NewReader(body))
		if signed {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req.Header.Set(webhook.HeaderTimestamp, ts)
			req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, []byte(body)))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(http.MethodGet, "", false); c != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", c)
	}
	if c := post(http.MethodPost, "not json", true); c != http.StatusBadRequest {
		t.Errorf("signed garbage: %d", c)
	}
	if c := post(http.MethodPost, strings.Repeat("x", maxBody+1), true); c != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d", c)
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("refused deliveries were printed:\n%s", out.String())
	}
}

// TestRunUsage checks the receiver refuses to start without a secret.
func TestRunUsage(t *testing.T) {
	t.Setenv("MOODFOOD_WEBHOOK_SECRET", "")
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--listen", "127.0.0.1:0"}, &bytes.Buffer{}, &stderr); code != 2 ||
		!strings.Contains(stderr.String(), "--allow-unsigned") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve, then shut down at once
	if code := run(ctx, []string{"--listen", "127.0.0.1:0", "--allow-unsigned"}, &bytes.Buffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

// The receiver verifies the Standard Webhooks signature: a delivery signed
// only that way (an off-the-shelf sender) is accepted, and a wrong one is
// refused even when the X-Moodfood signature is right.
func TestHandler_StandardWebhooks(t *testing.T) {
	secret := []byte("s3cret")
	var out bytes.Buffer
	h := &handler{secret: secret, maxSkew: time.Minute, out: &out, now: time.Now}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := `{"text":"t","content":"t","event":"model.deployed"}`
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	send := func(std, own string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set(webhook.HeaderStdID, "msg_1")
		req.Header.Set(webhook.HeaderStdTimestamp, ts)
		if std != "" {
			req.Header.Set(webhook.HeaderStdSignature, std)
		}
		if own != "" {
			req.Header.Set(webhook.HeaderTimestamp, ts)
			req.Header.Set(webhook.HeaderSignature, own)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	good := webhook.SignStandard(secret, "msg_1", ts, []byte(body))
	bad := webhook.SignStandard([]byte("other"), "msg_1", ts, []byte(body))
	if code := send(good, ""); code != http.StatusNoContent {
		t.Errorf("standard-signed delivery: %d", code)
	}
	if code := send("v1,bm9wZQ== "+good, ""); code != http.StatusNoContent {
		t.Errorf("one of several signatures right: %d", code)
	}
	if code := send(bad, webhook.Sign(secret, ts, []byte(body))); code != http.StatusUnauthorized {
		t.Errorf("wrong standard signature beside a right X-Moodfood one: %d", code)
	}
}
