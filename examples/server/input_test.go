package main

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"moodfood/retrain/serve"
)

// Every answered query is logged; what cannot be logged or holds nothing to
// classify is refused with a 4xx and a message, before the model sees it.
func TestServer_ClassifyInput(t *testing.T) {
	root, _, _, _ := newRoot(t)
	base, stop := startServer(t, "-root", root)
	raw := func(body string) (int, string) {
		t.Helper()
		resp, err := http.Post(base+"/classify", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	// The longest accepted text, every byte of it escaped in the log.
	longest := "a" + strings.Repeat(`\u0001`, serve.MaxTextBytes-1)
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"Blank", `{"text":"   "}`, 400},
		{"ZeroWidthOnly", `{"text":"\u200b\u200d\ufeff"}`, 400},
		{"TrailingJunk", `{"text":"rainy"} xyz`, 400},
		{"SecondObject", `{"text":"rainy"}{"text":"sunny"}`, 400},
		{"TooLong", `{"text":"` + strings.Repeat("rainy day ", 7000) + `"}`, 413},
		{"TrailingSpace", "{\"text\":\"rainy and cold\"}\n  ", 200},
		{"Longest", `{"text":"` + longest + `"}`, 200},
	} {
		if code, msg := raw(tc.body); code != tc.want {
			t.Errorf("%s: status %d, want %d: %.200s", tc.name, code, tc.want, msg)
		} else if code >= 400 && !strings.Contains(msg, `"error"`) {
			t.Errorf("%s: %d without an error message: %s", tc.name, code, msg)
		}
	}
	if code, logs := stop(); code != 0 {
		t.Fatalf("exit %d\n%s", code, logs)
	}
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", "query_logs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"type":"query"`); n != 2 || strings.Count(string(b), `\u0001`) != serve.MaxTextBytes-1 {
		t.Fatalf("want the 2 answered queries logged (the longest one included), got %d:\n%.300s", n, b)
	}
}
