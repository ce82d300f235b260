package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"moodfood/backup"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"moodfood/retrain"
	"moodfood/retrain/serve"
)

var controlPaths = []string{"/canary", "/canary/promote", "/canary/abort", "/shadow", "/shadow/stop", "/rollback"}

// TestControl_OffWithoutToken: without an operator token no client can
// start, promote or roll back anything.
func TestControl_OffWithoutToken(t *testing.T) {
	root, _, store, _ := newRoot(t)
	base, _ := startServer(t, "-root", root)
	dep, _ := store.Current(t.Context())
	for _, p := range controlPaths {
		var e map[string]string
		if code := postAs(t, testToken, base+p, map[string]any{"version": dep, "fraction": 1}, &e); code != http.StatusForbidden || !strings.Contains(e["error"], "disabled") {
			t.Errorf("POST %s without a configured token: %d %v, want 403 with a JSON error", p, code, e)
		}
	}
}

// TestControl_NeedsOperatorAndIsRecorded: with a token, control needs it
// (401 otherwise), and every change lands in the history with who, what
// and when.
func TestControl_NeedsOperatorAndIsRecorded(t *testing.T) {
	root, _, store, body := newRoot(t)
	first, _ := store.Current(t.Context())
	m, err := store.Put(t.Context(), backup.Manifest{}, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startServer(t, append(tokenFile(t), "-root", root, "-poll", "10ms")...)
	for _, p := range controlPaths {
		for _, tok := range []string{"", "wrong-token-wrong-token", testToken + "x"} {
			if code := postAs(t, tok, base+p, map[string]any{"version": m.Version, "fraction": 1}, nil); code != http.StatusUnauthorized {
				t.Errorf("POST %s with token %q: %d, want 401", p, tok, code)
			}
		}
	}
	if v, _ := store.Current(t.Context()); v != first {
		t.Fatalf("an unauthorized request deployed %s", v)
	}
	var cs serve.CanaryStats
	if code := postAs(t, testToken, base+"/canary", map[string]any{"version": m.Version, "fraction": 0.5}, &cs); code != 200 {
		t.Fatalf("canary: %d", code)
	}
	if code := postAs(t, testToken, base+"/canary/promote", nil, &cs); code != 200 {
		t.Fatalf("promote: %d", code)
	}
	if v, _ := store.Current(t.Context()); v != m.Version {
		t.Fatalf("deployed %s after promote, want %s", v, m.Version)
	}
	var res retrain.Result
	if code := postAs(t, testToken, base+"/rollback", map[string]any{}, &res); code != 200 || res.NewVersion != first {
		t.Fatalf("rollback: %d %+v", code, res)
	}
	stop()
	hist := readRecords(t, filepath.Join(root, "data", "logs", "retrain_history.jsonl"))
	want := []string{retrain.ActionCanaryStart, retrain.ActionCanaryPromote, retrain.ActionRollback}
	if len(hist) != len(want) {
		t.Fatalf("history has %d records, want %d: %+v", len(hist), len(want), hist)
	}
	for i, r := range hist {
		if r.Action != want[i] || !strings.HasPrefix(r.Actor, "alice (token) from 127.0.0.1:") || r.Timestamp.IsZero() || !r.Manual {
			t.Errorf("record %d: action %q actor %q at %v", i, r.Action, r.Actor, r.Timestamp)
		}
	}
	if hist[1].Status != "deployed" || hist[1].NewVersion != m.Version || hist[2].Status != "rolled_back" {
		t.Errorf("promote %s -> %s, rollback %s", hist[1].Status, hist[1].NewVersion, hist[2].Status)
	}
}

func readRecords(t *testing.T, path string) []retrain.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []retrain.Record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r retrain.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestFeedback_OnlyFromTheAsker: a client cannot choose a query id, and
// feedback on an id the server did not issue is refused and not logged.
func TestFeedback_OnlyFromTheAsker(t *testing.T) {
	root, _, _, _ := newRoot(t)
	base, stop := startServer(t, "-root", root)
	if code := post(t, base+"/classify", map[string]string{"text": "i am so sad", "query_id": "mine"}, nil); code != 400 {
		t.Errorf("classify with a chosen query_id: %d, want 400", code)
	}
	var a serve.Answer
	if code := post(t, base+"/classify", map[string]string{"text": "i am so sad"}, &a); code != 200 {
		t.Fatalf("classify: %d", code)
	}
	for _, tc := range []struct {
		id   string
		want int
	}{
		{"made-up", 404},
		{a.QueryID[:len(a.QueryID)-5] + flip(a.QueryID[len(a.QueryID)-5]) + a.QueryID[len(a.QueryID)-4:], 404},
		{strings.Repeat("q", 1_000_000), 400},
		{a.QueryID, 204},
		{a.QueryID, 409},
	} {
		var e map[string]string
		if code := post(t, base+"/feedback", map[string]any{"query_id": tc.id, "positive": true}, &e); code != tc.want {
			t.Errorf("feedback on %.20q: %d %v, want %d", tc.id, code, e, tc.want)
		}
	}
	if code := post(t, base+"/classify", map[string]string{"text": "hi there", "session_id": strings.Repeat("s", 1000)}, nil); code != 400 {
		t.Errorf("classify with a 1000-byte session id: %d, want 400", code)
	}
	stop()
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", "query_logs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `"type":"feedback"`); n != 1 {
		t.Errorf("%d feedback records logged, want 1:\n%s", n, b)
	}
}

// TestServer_MemoryBoundedByHugeIDs: a megabyte of query or session id per
// request does not stay in the server's memory (it used to keep the last
// 10,000 ids whatever their size: 12 MB -> 2.66 GB RSS).
func TestServer_MemoryBoundedByHugeIDs(t *testing.T) {
	root, _, _, _ := newRoot(t)
	base, _ := startServer(t, "-root", root)
	huge := strings.Repeat("x", 1_000_000)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before, rss0 := heap(), rss(t)
	const n = 150
	for range n {
		post(t, base+"/classify", map[string]string{"text": "i am so sad", "query_id": huge}, nil)
		post(t, base+"/classify", map[string]string{"text": "i am so sad", "session_id": huge}, nil)
		post(t, base+"/feedback", map[string]any{"query_id": huge, "positive": true}, nil)
	}
	after, rss1 := heap(), rss(t)
	t.Logf("%d requests with 1 MB ids: heap %d -> %d MB, RSS %d -> %d MB", 3*n, before>>20, after>>20, rss0>>20, rss1>>20)
	if after > before+32<<20 {
		t.Errorf("heap grew from %d to %d MB: client ids are retained", before>>20, after>>20)
	}
}

// rss is this process's resident set size in bytes (0 where /proc is missing).
func rss(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res uint64
	if _, err := fmt.Sscan(string(b), &size, &res); err != nil {
		return 0
	}
	return res * uint64(os.Getpagesize())
}

// TestWriteJSON_EncoderError: a value the encoder refuses is a 500 with a
// JSON body, never an empty 200.
func TestWriteJSON_EncoderError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusOK, map[string]float64{"confidence": math.NaN()})
	var e map[string]string
	if rec.Code != 500 || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e["error"] == "" {
		t.Fatalf("status %d, body %q; want 500 with a JSON error", rec.Code, rec.Body.String())
	}
}

// TestShadowLog_Retention: shadow disagreements (user text) older than the
// retention are deleted when the log opens; newer ones and new appends stay.
func TestShadowLog_Retention(t *testing.T) {
	p := filepath.Join(t.TempDir(), "shadow_disagreements.jsonl")
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old := `{"query_id":"a","timestamp":"2026-10-01T00:00:00Z","text_input":"old secret"}` + "\n"
	fresh := `{"query_id":"b","timestamp":"2026-11-30T00:00:00Z","text_input":"recent"}` + "\n"
	if err := os.WriteFile(p, []byte(old+fresh), 0o600); err != nil {
		t.Fatal(err)
	}
	l, n, err := openShadowLog(p, 30*24*time.Hour, now)
	if err != nil || n != 1 {
		t.Fatalf("open: %d pruned, %v", n, err)
	}
	if err := l.append([]byte(`{"query_id":"c"}`)); err != nil {
		t.Fatal(err)
	}
	l.close()
	b, _ := os.ReadFile(p)
	if strings.Contains(string(b), "old secret") || !strings.Contains(string(b), "recent") || !strings.Contains(string(b), `"c"`) {
		t.Fatalf("after retention:\n%s", b)
	}
	if got := redactContacts("mail bob@example.org or call +1 555 123 4567 now"); got != "mail <EMAIL> or call <PHONE> now" {
		t.Errorf("redactContacts = %q", got)
	}
}

// flip returns another base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}
