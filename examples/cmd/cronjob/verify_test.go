package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerify_FailsOnAnyDamagedVersion: verify exits 1 for a truncated
// model.bin, a deleted, unparseable or oversized manifest.json, and a model
// whose manifest checksums match but whose weights are absurd; it used to
// skip the version and report "0 version(s) verified", exit 0.
func TestVerify_FailsOnAnyDamagedVersion(t *testing.T) {
	if _, err := exec.LookPath("cp"); err != nil {
		t.Skip("cp is needed to copy the root")
	}
	env, _ := fakeEnv(t)
	base := filepath.Join(t.TempDir(), "root")
	cronjob(t, env, "run", "--force", "--root", base, "--init", demoRoot(t)).want(t, exitOK, "first run")
	cronjob(t, env, "verify", "--root", base).want(t, exitOK, "verify of a good root")
	versions, err := os.ReadDir(filepath.Join(base, "models", "backups"))
	if err != nil || len(versions) != 1 {
		t.Fatalf("versions: %v %v", versions, err)
	}
	v := versions[0].Name()

	for name, damage := range map[string]func(dir string){
		"truncated model.bin": func(dir string) { os.Truncate(filepath.Join(dir, "model.bin"), 100) },
		"deleted manifest":    func(dir string) { os.Remove(filepath.Join(dir, "manifest.json")) },
		"garbage manifest":    func(dir string) { os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{not json"), 0o600) },
		"huge manifest": func(dir string) {
			os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(`{"pad": "`+strings.Repeat("x", 2<<20)+`"}`), 0o600)
		},
		"absurd weights, valid checksums": func(dir string) {
			body := filepath.Join(dir, "model.bin")
			b, _ := os.ReadFile(body)
			for i := len(b) - 200; i < len(b)-100; i++ { // in the weights: huge float32s (0x7e7e7e7e ≈ 8e37)
				b[i] = 0x7e
			}
			// Rewrite the model's own payload checksum and the manifest's, as an attacker would.
			os.WriteFile(body, recheck(t, b), 0o600)
			fixManifest(t, dir)
		},
	} {
		t.Run(name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "root")
			if out, err := exec.Command("cp", "-a", base, root).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
			dir := filepath.Join(root, "models", "backups", v)
			os.Chmod(filepath.Join(dir, "model.bin"), 0o600)
			os.Chmod(filepath.Join(dir, "manifest.json"), 0o600)
			damage(dir)
			r := cronjob(t, env, "verify", "--root", root)
			r.want(t, exitFailed, "verify of a damaged version")
			t.Log(strings.TrimSpace(r.stdout))
			if !strings.Contains(r.stdout, v+" CORRUPT") {
				t.Errorf("verify output does not name the version:\n%s", r.stdout)
			}
		})
	}
}

// recheck rewrites the payload checksum in a model file's header so that the
// file passes its own integrity check (format v1: magic, version, header
// length, JSON header with payload_sha256, payload).
func recheck(t *testing.T, b []byte) []byte {
	t.Helper()
	hl := int(b[12]) | int(b[13])<<8 | int(b[14])<<16 | int(b[15])<<24
	var h map[string]any
	if err := json.Unmarshal(b[16:16+hl], &h); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b[16+hl:])
	h["payload_sha256"] = hex.EncodeToString(sum[:])
	js, _ := json.Marshal(h)
	out := append([]byte{}, b[:12]...)
	out = append(out, byte(len(js)), byte(len(js)>>8), byte(len(js)>>16), byte(len(js)>>24))
	out = append(out, js...)
	return append(out, b[16+hl:]...)
}

// fixManifest records model.bin's new size and SHA-256 in manifest.json.
func fixManifest(t *testing.T, dir string) {
	t.Helper()
	body, _ := os.ReadFile(filepath.Join(dir, "model.bin"))
	mb, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	var m map[string]any
	if err := json.Unmarshal(mb, &m); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	for _, f := range m["files"].([]any) {
		f := f.(map[string]any)
		if f["name"] == "model.bin" {
			f["size"] = len(body)
			f["sha256"] = hex.EncodeToString(sum[:])
		}
	}
	out, _ := json.Marshal(m)
	os.WriteFile(filepath.Join(dir, "manifest.json"), out, 0o600)
}
