package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"moodfood/examples/webhook"
)

// TestWebhook runs the binary with the webhook URL in the environment and
// the secret in a file, and checks the signed deliveries a receiver gets.
func TestWebhook(t *testing.T) {
	demo := demoRoot(t)
	secret := []byte("topsecret")
	var mu sync.Mutex
	var events []string
	var bad []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if err := webhook.Verify(secret, r.Header, body, time.Now(), 0); err != nil {
			bad = append(bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			bad = append(bad, err.Error())
		}
		events = append(events, p.Event)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root")
	env, _ := fakeEnv(t)
	env = append(env, "MOODFOOD_WEBHOOK_URL="+srv.URL, "MOODFOOD_WEBHOOK_ALLOW=127.0.0.1")
	r := cronjob(t, env, "run", "--force", "--root", root, "--init", demo, "--webhook-secret-file", secretFile)
	r.want(t, exitOK, "run with a webhook")
	if strings.Contains(r.stdout+r.stderr, srv.URL) {
		t.Error("the webhook URL was printed")
	}
	mu.Lock()
	if len(bad) > 0 || !slices.Contains(events, "run.started") || !slices.Contains(events, "model.deployed") {
		t.Errorf("deliveries: %q, refused: %q", events, bad)
	}
	mu.Unlock()

	// The URL from a file readable by others works, with a warning.
	urlFile := filepath.Join(dir, "url")
	if err := os.WriteFile(urlFile, []byte(srv.URL+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(urlFile, 0o644); err != nil {
		t.Fatal(err)
	}
	fenv, _ := fakeEnv(t)
	r = cronjob(t, append(fenv, "MOODFOOD_WEBHOOK_SECRET="+string(secret), "MOODFOOD_WEBHOOK_ALLOW=127.0.0.1"), "run", "--root", root, "--webhook-url-file", urlFile)
	r.want(t, exitOK, "run with the URL from a file")
	if !strings.Contains(r.stderr, "readable by other users") {
		t.Errorf("no warning about the URL file's mode: %s", r.stderr)
	}
	mu.Lock()
	if !slices.Contains(events, "run.skipped") || len(bad) > 0 {
		t.Errorf("deliveries: %q, refused: %q", events, bad)
	}
	mu.Unlock()

	// A secret without a URL is a configuration error, recorded as a failure.
	r = cronjob(t, append(fenv, "MOODFOOD_WEBHOOK_SECRET=x"), "run", "--root", root)
	r.want(t, exitFailed, "secret without URL")
	checkFinished(t, mustHeartbeat(t, root), exitFailed, "failed")
	cronjob(t, fenv, "run", "--root", root, "--webhook-url-file", filepath.Join(dir, "missing")).want(t, exitFailed, "missing URL file")
}

// A webhook that cannot be delivered is reported on run's stderr; the run's
// exit code is the run's own.
func TestWebhook_FailureOnStderr(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound) // not retried
	}))
	defer srv.Close()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	env, _ := fakeEnv(t)
	r := cronjob(t, append(env, "MOODFOOD_WEBHOOK_URL="+srv.URL, "MOODFOOD_WEBHOOK_ALLOW=127.0.0.1"), "run", "--root", root)
	r.want(t, exitFailed, "run without data, with a failing webhook")
	if !strings.Contains(r.stderr, "warning: webhook: run.failed notification not delivered: webhook: delivery failed: webhook: HTTP 404") {
		t.Fatalf("stderr does not report the failed delivery:\n%s", r.stderr)
	}
	if strings.Contains(r.stderr, srv.URL) {
		t.Error("the webhook URL was printed")
	}
}
