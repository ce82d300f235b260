package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperMain runs main in a child process (see TestMain_SIGTERM).
func TestHelperMain(t *testing.T) {
	args := os.Getenv("MOODFOOD_SERVER_ARGS")
	if args == "" {
		t.Skip("helper process of TestMain_SIGTERM")
	}
	os.Args = append([]string{"server"}, strings.Split(args, "\n")...)
	main()
}

func TestMain_SIGTERM(t *testing.T) {
	root, _, _, _ := newRoot(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMain$")
	cmd.Env = append(os.Environ(), "MOODFOOD_SERVER_ARGS="+strings.Join([]string{"-root", root, "-addr", "127.0.0.1:0"}, "\n"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	sc := bufio.NewScanner(stderr)
	base := ""
	for sc.Scan() {
		logs.WriteString(sc.Text() + "\n")
		if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			base = a
			break
		}
	}
	if base == "" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("did not start:\n%s", logs.String())
	}
	resp, err := http.Post(base+"/classify", "application/json", strings.NewReader(`{"text":"i am so sad today"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	logs.Write(rest)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatal("no exit after SIGTERM")
	}
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", "query_logs.jsonl"))
	if err != nil || strings.Count(string(b), `"type":"query"`) != 1 {
		t.Fatalf("query log after SIGTERM: %v\n%s", err, b)
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("logs:\n%s", logs.String())
	}
}
