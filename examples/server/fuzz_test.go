package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"moodfood/backup"
	"moodfood/model"
	"moodfood/retrain/serve"
)

// FuzzHandlers sends arbitrary bodies to every endpoint (control ones with
// and without the operator token): no panic, every answer a known status
// with a JSON body (or 204 with none), and nothing a client sends is kept.
func FuzzHandlers(f *testing.F) {
	c, err := model.NewTrainer(&model.TrainerOptions{Seed: 1, Workers: 1}).Train(context.Background(), trainSet, nil)
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		f.Fatal(err)
	}
	store, err := backup.OpenFileStore(filepath.Join(f.TempDir(), "models"), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	ctx := context.Background()
	m, err := store.Put(ctx, backup.Manifest{}, bytes.NewReader(b.Bytes()))
	if err != nil {
		f.Fatal(err)
	}
	m2, _ := store.Put(ctx, backup.Manifest{}, bytes.NewReader(b.Bytes()))
	if err := store.Deploy(ctx, m.Version); err != nil {
		f.Fatal(err)
	}
	srv, err := serve.Open(ctx, store, &serve.Options{PollInterval: -1, FeedbackWindow: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { srv.Close() })
	a, err := srv.Classify(ctx, serve.Request{Text: "i am so sad"})
	if err != nil {
		f.Fatal(err)
	}
	h := newHandler(srv, nil, 1<<16, nil) // control off: the guard must hold for any body
	paths := []string{"/classify", "/feedback", "/canary", "/canary/promote", "/canary/abort", "/shadow", "/shadow/stop", "/rollback", "/healthz", "/status"}
	for i, seed := range []string{
		`{"text": "i am so sad", "session_id": "u1"}`,
		`{"query_id": "` + a.QueryID + `", "positive": true}`,
		`{"version": "` + string(m2.Version) + `", "fraction": 0.5}`,
		`{"text": "\u0000\ud800", "session_id": ""}`,
		`{"text": "x"} junk`,
		`{"query_id": 1e400}`,
		``,
	} {
		f.Add(uint8(i), []byte(seed))
	}
	statuses := []int{200, 204, 400, 401, 403, 404, 405, 409, 410, 413, 422, 503}
	f.Fuzz(func(t *testing.T, p uint8, body []byte) {
		path := paths[int(p)%len(paths)]
		method := "POST"
		if path == "/healthz" || path == "/status" {
			method = "GET"
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !slices.Contains(statuses, rec.Code) {
			t.Fatalf("%s %q: status %d", path, body, rec.Code)
		}
		if rec.Code == 204 {
			return
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %q: %d with a body that is not JSON: %q", path, body, rec.Code, rec.Body.String())
		}
		if strings.HasPrefix(path, "/canary") || strings.HasPrefix(path, "/shadow") || path == "/rollback" {
			if rec.Code != http.StatusForbidden {
				t.Fatalf("%s without a token answered %d", path, rec.Code)
			}
		}
	})
}
