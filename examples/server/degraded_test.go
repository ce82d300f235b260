package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"moodfood/backup"
)

// The server starts on a root whose deployed model.bin was damaged at rest
// while an intact older version exists: /healthz says degraded and names
// the version serving.
func TestServer_CorruptDeployedModel(t *testing.T) {
	root, _, store, body := newRoot(t)
	old, err := store.Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.Put(t.Context(), backup.Manifest{}, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Deploy(t.Context(), m.Version); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(store.DeployedPath(), "model.bin")
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(bin, b, 0o600); err != nil {
		t.Fatal(err)
	}
	base, stop := startServer(t, "-root", root)
	var health map[string]string
	if code := get(t, base+"/healthz", &health); code != 200 || health["status"] != "degraded" ||
		health["model_version"] != string(old) || health["reason"] == "" {
		t.Fatalf("healthz %d %v; want 200, degraded, serving %s", code, health, old)
	}
	if code := post(t, base+"/classify", map[string]string{"text": "i am so sad today"}, nil); code != 200 {
		t.Fatalf("classify %d", code)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, logs)
	}
}
