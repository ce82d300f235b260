package serve_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"moodfood/retrain/serve"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.b.String(), s)
}

// TestServer_ClockIsOptionsNow: the warning rate limits and the LLM
// timeout check read Options.Now, not the real clock.
func TestServer_ClockIsOptionsNow(t *testing.T) {
	t.Run("QueryLogWarning", func(t *testing.T) {
		clk := newFakeClock()
		var out syncBuffer
		log := &recLog{err: errors.New("disk full")}
		s, _ := newTestServer(t, &serve.Options{QueryLog: log, Now: clk.Now,
			Logger: slog.New(slog.NewJSONHandler(&out, nil))})
		const msg = "serve: query log failed"
		for i, step := range []struct {
			advance time.Duration
			want    int
		}{{0, 1}, {0, 1}, {30 * time.Second, 1}, {31 * time.Second, 2}, {time.Second, 2}, {time.Hour, 3}} {
			clk.Advance(step.advance)
			classify(t, s, "hello", "s1")
			if got := out.count(msg); got != step.want {
				t.Fatalf("step %d: %d warnings, want %d", i, got, step.want)
			}
		}
	})

	t.Run("TransientReloadWarning", func(t *testing.T) {
		clk := newFakeClock()
		var out syncBuffer
		s, src := newTestServer(t, &serve.Options{Now: clk.Now, Logger: slog.New(slog.NewJSONHandler(&out, nil))})
		src.mu.Lock()
		src.currentErr = errors.New("EIO")
		src.mu.Unlock()
		const msg = "serve: reading the deployed version failed"
		for i, step := range []struct {
			advance time.Duration
			want    int
		}{{0, 1}, {59 * time.Second, 1}, {time.Second, 2}, {0, 2}, {2 * time.Minute, 3}} {
			clk.Advance(step.advance)
			if err := s.Reload(t.Context()); err == nil {
				t.Fatal("Reload with a failing source returned nil")
			}
			if got := out.count(msg); got != step.want {
				t.Fatalf("step %d: %d warnings, want %d", i, got, step.want)
			}
		}
	})

	t.Run("LLMTimeout", func(t *testing.T) {
		// The LLM answers at once on the real clock, but the simulated
		// clock says it took longer than LLMTimeout: a timeout.
		clk := newFakeClock()
		llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
			clk.Advance(2 * time.Second)
			return []string{"late"}, 0.9, nil
		})
		s, _ := newTestServer(t, &serve.Options{LLM: llm, LLMTimeout: time.Second, Now: clk.Now})
		a := classify(t, s, "c=0.1", "s1")
		if a.Route != serve.RouteDegraded || !strings.Contains(a.LLMError, "timed out") {
			t.Errorf("route %q LLMError %q; want degraded, timed out", a.Route, a.LLMError)
		}
		if a.Latency != 2*time.Second {
			t.Errorf("Latency = %s, want 2s of the simulated clock", a.Latency)
		}
		// Under LLMTimeout on the simulated clock: the LLM's answer stands.
		fast := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
			clk.Advance(999 * time.Millisecond)
			return []string{"teacher"}, 0.9, nil
		})
		s2, _ := newTestServer(t, &serve.Options{LLM: fast, LLMTimeout: time.Minute, Now: clk.Now})
		if a := classify(t, s2, "c=0.1", "s1"); a.Route != serve.RouteLLM || a.Label != "teacher" {
			t.Errorf("route %q label %q LLMError %q; want the LLM's answer", a.Route, a.Label, a.LLMError)
		}
	})
}
