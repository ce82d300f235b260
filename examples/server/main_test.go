package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/model"
	"moodfood/retrain/serve"
)

var trainSet = []model.Example{
	{Text: "i am so sad today", Labels: []string{"emotion_sad"}},
	{Text: "feeling down and blue", Labels: []string{"emotion_sad"}},
	{Text: "gloomy and unhappy tonight", Labels: []string{"emotion_sad"}},
	{Text: "heartbroken and lonely", Labels: []string{"emotion_sad"}},
	{Text: "i am so happy today", Labels: []string{"emotion_happy"}},
	{Text: "feeling great and cheerful", Labels: []string{"emotion_happy"}},
	{Text: "celebrating with friends tonight", Labels: []string{"emotion_happy"}},
	{Text: "excited and joyful", Labels: []string{"emotion_happy"}},
}

// newRoot makes a root with a trained model deployed and a labels file.
func newRoot(t *testing.T) (root, labels string, store *backup.FileStore, body []byte) {
	t.Helper()
	root = t.TempDir()
	c, err := model.NewTrainer(&model.TrainerOptions{Seed: 1, Workers: 1}).Train(t.Context(), trainSet, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		t.Fatal(err)
	}
	store, err = backup.OpenFileStore(filepath.Join(root, "models"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	m, err := store.Put(t.Context(), backup.Manifest{}, bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Deploy(t.Context(), m.Version); err != nil {
		t.Fatal(err)
	}
	labels = filepath.Join(root, "llm_labels.jsonl")
	lines := `{"text": "What should I eat, I'm starving!", "labels": ["goal_filling", "emotion_hungry"]}
{"text": "something warm for a cold night", "labels": ["weather_cold", "goal_comfort"]}
not json
`
	if err := os.WriteFile(labels, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	return root, labels, store, b.Bytes()
}

// startServer runs the command on a free port and returns its base URL and
// a function that stops it and returns its exit code and stderr.
func startServer(t *testing.T, args ...string) (string, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	var logBuf bytes.Buffer
	addr := make(chan string, 1)
	done := make(chan int, 1)
	go func() {
		code := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
		done <- code
	}()
	logDone := make(chan struct{})
	go func() {
		defer close(logDone)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			logBuf.WriteString(line + "\n")
			if a, ok := strings.CutPrefix(line, "listening on "); ok {
				addr <- a
			}
		}
	}()
	var base string
	select {
	case base = <-addr:
	case code := <-done:
		<-logDone
		t.Fatalf("server exited with %d:\n%s", code, logBuf.String())
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	stopped := false
	stop := func() (int, string) {
		if stopped {
			return -1, ""
		}
		stopped = true
		cancel()
		code := <-done
		<-logDone
		return code, logBuf.String()
	}
	t.Cleanup(func() { stop() })
	return base, stop
}

func post(t *testing.T, url string, body any, out any) int {
	t.Helper()
	return postAs(t, "", url, body, out)
}

// testToken is the operator token of the tests' servers.
const testToken = "test-operator-token-0123456789"

// tokenFile writes testToken to a file and returns the flags naming it.
func tokenFile(t *testing.T) []string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(f, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"-operator-token-file", f}
}

// postAs posts body with "Authorization: Bearer token" unless token is "".
func postAs(t *testing.T, token, url string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Operator", "alice")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func get(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func TestServer_EndToEnd(t *testing.T) {
	root, labels, store, body := newRoot(t)
	// A threshold above 1 sends every query to the fake LLM.
	base, stop := startServer(t, append(tokenFile(t), "-root", root, "-llm-labels", labels, "-threshold", "1.1", "-poll", "10ms")...)
	op := func(path string, body, out any) int { return postAs(t, testToken, base+path, body, out) }

	var health map[string]string
	if code := get(t, base+"/healthz", &health); code != 200 || health["status"] != "ok" || health["model_version"] == "" {
		t.Fatalf("healthz %d %v", code, health)
	}
	deployed := health["model_version"]

	t.Run("Classify", func(t *testing.T) {
		var a serve.Answer
		if code := post(t, base+"/classify", map[string]string{"text": "i am so sad today", "session_id": "u1"}, &a); code != 200 {
			t.Fatalf("status %d", code)
		}
		if a.QueryID == "" || string(a.ModelVersion) != deployed || a.ML.Label != "emotion_sad" {
			t.Fatalf("answer %+v", a)
		}
	})
	t.Run("ClassifyLLM", func(t *testing.T) {
		var a serve.Answer
		post(t, base+"/classify", map[string]string{"text": "what should i eat, I'm STARVING", "session_id": "u2"}, &a)
		if a.Route != serve.RouteLLM || a.Label != "goal_filling" || len(a.LLMLabels) != 2 {
			t.Fatalf("answer %+v", a)
		}
		post(t, base+"/classify", map[string]string{"text": "a text the LLM file does not have at all"}, &a)
		if a.Route != serve.RouteLLM || a.Label != "" || len(a.Labels) != 0 {
			t.Fatalf("no-intent answer %+v", a)
		}
		// Feedback on it.
		if code := post(t, base+"/feedback", map[string]any{"query_id": a.QueryID, "positive": false}, nil); code != 204 {
			t.Fatalf("feedback status %d", code)
		}
	})
	t.Run("BadRequests", func(t *testing.T) {
		for _, tc := range []struct {
			path string
			body any
			want int
		}{
			{"/classify", map[string]string{"text": ""}, 400},
			{"/classify", map[string]any{"text": 3}, 400},
			{"/classify", map[string]string{"txt": "typo"}, 400},
			{"/feedback", map[string]any{"query_id": "x"}, 400},
			{"/feedback", map[string]any{"positive": true}, 400},
			{"/canary/promote", nil, 404},
			{"/shadow/stop", nil, 404},
			{"/canary", map[string]any{"version": "nonsense", "fraction": 0.1}, 400},
			{"/canary", map[string]any{"version": deployed, "fraction": 0.1}, 409},
			{"/canary", map[string]any{"version": deployed, "fraction": 2}, 400},
		} {
			if code := op(tc.path, tc.body, nil); code != tc.want {
				t.Errorf("POST %s %v: status %d, want %d", tc.path, tc.body, code, tc.want)
			}
		}
		if code := get(t, base+"/classify", nil); code != http.StatusMethodNotAllowed {
			t.Errorf("GET /classify: %d", code)
		}
	})
	t.Run("HotReloadAndCanary", func(t *testing.T) {
		m, err := store.Put(t.Context(), backup.Manifest{}, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var cs serve.CanaryStats
		if code := op("/canary", map[string]any{"version": m.Version, "fraction": 1}, &cs); code != 200 || cs.Version != m.Version {
			t.Fatalf("canary %d %+v", code, cs)
		}
		var a serve.Answer
		post(t, base+"/classify", map[string]string{"text": "i am so happy", "session_id": "u1"}, &a)
		if a.ModelVersion != m.Version || !a.Canary {
			t.Fatalf("canary answer %+v", a)
		}
		if code := op("/canary/abort", nil, &cs); code != 200 || cs.Canary.Queries != 1 {
			t.Fatalf("abort %d %+v", code, cs)
		}
		// Deployed by another process: picked up by the poll loop.
		if err := store.Deploy(t.Context(), m.Version); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			var st serve.Stats
			get(t, base+"/status", &st)
			if st.Deployed == m.Version {
				if st.Reloads != 1 || st.Queries < 4 {
					t.Fatalf("status %+v", st)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("new deploy not picked up")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	code, logs := stop()
	if code != 0 {
		t.Fatalf("exit code %d\n%s", code, logs)
	}
	// The query log was flushed on shutdown.
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", "query_logs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	queries, feedback := strings.Count(string(b), `"type":"query"`), strings.Count(string(b), `"type":"feedback"`)
	if queries != 4 || feedback != 1 || !strings.Contains(string(b), `"classification_method":"llm"`) ||
		!strings.Contains(string(b), `"llm_labels":["goal_filling","emotion_hungry"]`) {
		t.Fatalf("query log: %d queries, %d feedback:\n%s", queries, feedback, b)
	}
	if !strings.Contains(logs, `"skipped_lines":1`) {
		t.Errorf("fake LLM load not logged:\n%s", logs)
	}
}

func TestServer_NoModelYet(t *testing.T) {
	root := t.TempDir()
	base, stop := startServer(t, "-root", root)
	if code := get(t, base+"/healthz", nil); code != 503 {
		t.Fatalf("healthz %d", code)
	}
	if code := post(t, base+"/classify", map[string]string{"text": "hi"}, nil); code != 503 {
		t.Fatalf("classify %d", code)
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, logs)
	}
}

func TestRun_Usage(t *testing.T) {
	var stderr bytes.Buffer
	if code := run(t.Context(), nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
		t.Fatalf("no -root: exit %d, %q", code, stderr.String())
	}
	if code := run(t.Context(), []string{"-root", t.TempDir(), "-bogus"}, io.Discard); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
	if code := run(t.Context(), []string{"-h"}, io.Discard); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
}

// TestServer_Correct: POST /correct on an ML answer returns the LLM's
// answer and records the verdict; a second call, another text or an
// LLM-answered query get 409, a missing field 400.
func TestServer_Correct(t *testing.T) {
	root, labels, _, _ := newRoot(t)
	// A threshold near 0 lets the model answer everything.
	base, _ := startServer(t, append(tokenFile(t), "-root", root, "-llm-labels", labels, "-threshold", "0.001", "-poll", "10ms")...)
	const text = "something warm for a cold night"
	var a serve.Answer
	if code := post(t, base+"/classify", map[string]string{"text": text}, &a); code != 200 || a.Route != serve.RouteML {
		t.Fatalf("classify: status %d, answer %+v", code, a)
	}
	if code := post(t, base+"/correct", map[string]string{"query_id": a.QueryID, "text": "another text"}, nil); code != 409 {
		t.Fatalf("correct with another text: status %d, want 409", code)
	}
	if code := post(t, base+"/correct", map[string]string{"query_id": a.QueryID}, nil); code != 400 {
		t.Fatalf("correct without text: status %d, want 400", code)
	}
	var c serve.Answer
	if code := post(t, base+"/correct", map[string]string{"query_id": a.QueryID, "text": text}, &c); code != 200 {
		t.Fatalf("correct: status %d", code)
	}
	if c.Route != serve.RouteLLM || c.Reason != serve.ReasonRejected || !slices.Equal(c.Labels, []string{"weather_cold", "goal_comfort"}) {
		t.Fatalf("corrected answer %+v", c)
	}
	if code := post(t, base+"/correct", map[string]string{"query_id": a.QueryID, "text": text}, nil); code != 409 {
		t.Fatalf("second correction: status %d, want 409", code)
	}
	if code := post(t, base+"/correct", map[string]string{"query_id": c.QueryID, "text": text}, nil); code != 409 {
		t.Fatalf("correcting the LLM's answer: status %d, want 409", code)
	}
}
