package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func getBody(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestServer_MetricsAndDashboard: /metrics counts the queries served and
// names the deployed version; /dashboard is a self-contained page with its
// charts and the live serving facts.
func TestServer_MetricsAndDashboard(t *testing.T) {
	root, labels, _, _ := newRoot(t)
	base, _ := startServer(t, "-root", root, "-llm-labels", labels)
	for _, text := range []string{"something warm for a cold night", "What should I eat, I'm starving!", "hello"} {
		if code := post(t, base+"/classify", map[string]string{"text": text}, nil); code != http.StatusOK {
			t.Fatalf("classify %q: %d", text, code)
		}
	}
	code, hdr, body := getBody(t, base+"/metrics")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", code, hdr.Get("Content-Type"))
	}
	var total int
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "moodfood_classify_requests_total{") {
			var n int
			if _, err := fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &n); err == nil {
				total += n
			}
		}
	}
	if total != 3 {
		t.Errorf("/metrics counts %d classify requests, want 3:\n%s", total, body)
	}
	for _, want := range []string{"moodfood_model_info{version=", "moodfood_classify_duration_seconds_bucket", "moodfood_retrain_runs_total", "moodfood_query_log_dropped_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	code, hdr, body = getBody(t, base+"/dashboard")
	if code != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("/dashboard: %d %v", code, hdr)
	}
	if n := strings.Count(body, "<svg"); n != 6 || !strings.Contains(body, "routing threshold in use") || !strings.Contains(body, "No canary running") {
		t.Errorf("/dashboard: %d charts, serving facts present %v", n, strings.Contains(body, "routing threshold in use"))
	}
}
