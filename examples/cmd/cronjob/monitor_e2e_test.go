package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/model"
)

// deployFake stores and deploys a body that is not a model in root's model
// store, returning the deployed model.bin.
func deployFake(t *testing.T, root string) string {
	t.Helper()
	return deployBody(t, root, []byte(strings.Repeat("model ", 100)))
}

// deployTiny trains a two-label model and deploys it in root's store.
func deployTiny(t *testing.T, root string) {
	t.Helper()
	c, err := model.NewTrainer(&model.TrainerOptions{Seed: 1, Workers: 1}).Train(t.Context(), []model.Example{
		{Text: "sad and gloomy", Labels: []string{"sad"}}, {Text: "down and blue", Labels: []string{"sad"}},
		{Text: "happy and bright", Labels: []string{"happy"}}, {Text: "joyful and glad", Labels: []string{"happy"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	deployBody(t, root, b.Bytes())
}

func deployBody(t *testing.T, root string, body []byte) string {
	t.Helper()
	s, err := backup.OpenFileStore(filepath.Join(root, "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.Put(t.Context(), backup.Manifest{}, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deploy(t.Context(), m.Version); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(s.Dir(), "backups", string(m.Version), "model.bin")
}

// A failed first run followed by a skipped one leaves nothing deployed:
// monitor must not say OK.
func TestMonitor_FailedThenSkippedNothingDeployed(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, baseDatasetRel), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env, _ := fakeEnv(t)
	cronjob(t, env, "setup", "--root", root).want(t, exitOK, "setup")
	cronjob(t, env, "run", "--force", "--root", root).want(t, exitFailed, "forced run on empty data")
	cronjob(t, env, "run", "--root", root).want(t, exitOK, "skipped run")
	r := cronjob(t, env, "monitor", "--root", root)
	r.want(t, monCritical, "monitor after failed+skipped with nothing deployed")
	if !strings.HasPrefix(r.stdout, "RETRAIN CRITICAL - ") {
		t.Errorf("monitor: %s", r.stdout)
	}
}

// A root that does not exist cannot be judged: UNKNOWN, and it is not
// created.
func TestMonitor_NoRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "missing")
	env, _ := fakeEnv(t)
	r := cronjob(t, env, "monitor", "--root", root)
	r.want(t, monUnknown, "monitor on a missing root")
	if !strings.HasPrefix(r.stdout, "RETRAIN UNKNOWN - ") {
		t.Errorf("monitor: %s", r.stdout)
	}
	if _, err := os.Stat(root); err == nil {
		t.Error("monitor created the root")
	}
}

// A deployed model damaged at rest is CRITICAL even when the last run went
// well.
func TestMonitor_CorruptDeployed(t *testing.T) {
	root := t.TempDir()
	env, _ := fakeEnv(t)
	cronjob(t, env, "setup", "--root", root, "--schedule", "0 3 * * *").want(t, exitOK, "setup")
	bin := deployFake(t, root)
	code := 0
	now := time.Now()
	hb := &heartbeat{Schema: 1, State: stateFinished, Started: now.Add(-time.Hour), Finished: now.Add(-time.Hour),
		ExitCode: &code, Outcome: "deployed", Root: root}
	if err := writeHeartbeat(root, hb); err != nil {
		t.Fatal(err)
	}
	cronjob(t, env, "monitor", "--root", root, "--grace", "30h").want(t, monOK, "monitor with an intact model")
	if err := flipByte(bin); err != nil {
		t.Fatal(err)
	}
	r := cronjob(t, env, "monitor", "--root", root, "--grace", "30h")
	r.want(t, monCritical, "monitor with a damaged model")
	if !strings.Contains(r.stdout, "does not verify") {
		t.Errorf("monitor: %s", r.stdout)
	}
}

func flipByte(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0xff
	return os.WriteFile(path, b, 0o600)
}
