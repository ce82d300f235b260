package retrain_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// externalMain is a program in another module that embeds the library the
// way the README shows: Open a root, Run once, print the outcome.
const externalMain = `package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"moodfood/retrain"
)

func main() {
	root := os.Args[1]
	var data []byte
	for i := range 15 {
		data = fmt.Appendf(data, "{\"text\":\"rainy grey day %d\",\"labels\":[\"weather_rainy\"]}\n", i)
		data = fmt.Appendf(data, "{\"text\":\"bright sunny morning %d\",\"labels\":[\"weather_sunny\"]}\n", i)
	}
	if err := os.MkdirAll(filepath.Join(root, "data"), 0o700); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(root, "data", "intent_dataset.jsonl"), data, 0o600); err != nil {
		panic(err)
	}
	r, err := retrain.Open(root, nil)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	res, err := r.Run(context.Background(), retrain.RunOptions{Force: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("deployed", res.Deployed, res.Record.NewVersion != "")
}
`

// TestExternalModule builds a throwaway module that imports moodfood/retrain
// through a replace directive (as the README tells other modules to) and
// runs an embedded retrain with it. It needs the go command and the modules
// in the local module cache (no network).
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module")
	}
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command")
		}
	}
	self, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(self, "go.sum"))
	if err != nil {
		t.Skip("no go.sum beside the module:", err)
	}
	dir := t.TempDir()
	gomod := fmt.Sprintf("module example.com/embedder\n\ngo 1.26.0\n\nrequire moodfood v0.0.0\n\nreplace moodfood => %s\n", self)
	for name, content := range map[string]string{"go.mod": gomod, "go.sum": string(sum), "main.go": externalMain} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.CommandContext(t.Context(), gobin, "run", ".", filepath.Join(dir, "root"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run in the external module: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "deployed true true" {
		t.Fatalf("external module printed %q", got)
	}
}
