package serve_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/retrain/serve"
)

// events records notifications.
type events struct {
	mu sync.Mutex
	e  []retrain.Event
}

func (n *events) Notify(ctx context.Context, e retrain.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.e = append(n.e, e)
	return nil
}

func (n *events) list() []retrain.Event {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]retrain.Event(nil), n.e...)
}

// serveN classifies n queries; every k-th (k > 0) uses text alt.
func serveN(t *testing.T, s *serve.Server, n int, text, alt string, k int) {
	t.Helper()
	for i := range n {
		x := text
		if k > 0 && i%k == 0 {
			x = alt
		}
		classify(t, s, x, "")
	}
}

func TestServer_Watchdog(t *testing.T) {
	agreeA := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) { return []string{"A"}, 0.9, nil })
	tests := []struct {
		name string
		wd   serve.WatchdogOptions
		// before: queries on A; after: queries on B (text, alt, every k-th)
		before          int
		beforeText      string
		beforeAlt       string
		beforeK         int
		after           int
		afterText       string
		afterAlt        string
		afterK          int
		wantState       string
		wantRollback    bool
		wantAfterChecks int // CheckWatchdog calls expected to report "watching" first
	}{
		{name: "FiresOnFallbackRate", wd: serve.WatchdogOptions{MinQueries: 100},
			before: 200, beforeText: "hello", after: 100, afterText: "hello cB=0.1",
			wantState: serve.WatchRolledBack, wantRollback: true},
		{name: "WithinMargin", wd: serve.WatchdogOptions{MinQueries: 100},
			before: 200, beforeText: "hello", beforeAlt: "c=0.1", beforeK: 10, // 10% fallbacks
			after: 200, afterText: "hello", afterAlt: "c=0.1", afterK: 6, // 16.7%: +6.7 points < 10
			wantState: serve.WatchPassed},
		{name: "BeyondCustomMargin", wd: serve.WatchdogOptions{MinQueries: 100, FallbackMargin: 0.05},
			before: 200, beforeText: "hello", beforeAlt: "c=0.1", beforeK: 10,
			after: 200, afterText: "hello", afterAlt: "c=0.1", afterK: 6,
			wantState: serve.WatchRolledBack, wantRollback: true},
		{name: "TooFewQueries", wd: serve.WatchdogOptions{MinQueries: 100},
			before: 200, beforeText: "hello", after: 99, afterText: "hello cB=0.1",
			wantState: serve.WatchWatching},
		{name: "NoBaseline", wd: serve.WatchdogOptions{MinQueries: 100},
			before: 99, beforeText: "hello", after: 100, afterText: "hello cB=0.1",
			wantState: serve.WatchNoBaseline},
		{name: "FiresOnDisagreement", wd: serve.WatchdogOptions{MinQueries: 100, FallbackMargin: -1},
			before: 200, beforeText: "c=0.1", after: 100, afterText: "c=0.1",
			wantState: serve.WatchRolledBack, wantRollback: true},
		{name: "DisagreementNeedsComparisons", wd: serve.WatchdogOptions{MinQueries: 100, FallbackMargin: -1, MinCompared: 101},
			before: 200, beforeText: "c=0.1", after: 100, afterText: "c=0.1",
			wantState: serve.WatchPassed},
		{name: "ChecksDisabled", wd: serve.WatchdogOptions{MinQueries: 100, FallbackMargin: -1, DisagreementMargin: -1},
			before: 200, beforeText: "hello", after: 100, afterText: "c=0.1",
			wantState: serve.WatchPassed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := &events{}
			wd := tt.wd
			s, src := newTestServer(t, &serve.Options{LLM: agreeA, Watchdog: &wd, Notifier: n,
				Now: func() time.Time { return time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC) }})
			if rep, err := s.CheckWatchdog(t.Context()); err != nil || rep.State != serve.WatchIdle {
				t.Fatalf("before any deploy: %+v %v", rep, err)
			}
			serveN(t, s, tt.before, tt.beforeText, tt.beforeAlt, tt.beforeK)
			src.deploy("B")
			if err := s.Reload(t.Context()); err != nil {
				t.Fatal(err)
			}
			if rep, err := s.CheckWatchdog(t.Context()); err != nil || rep.State != serve.WatchWatching {
				t.Fatalf("right after the deploy: %+v %v", rep, err)
			}
			serveN(t, s, tt.after, tt.afterText, tt.afterAlt, tt.afterK)
			rep, err := s.CheckWatchdog(t.Context())
			if err != nil || rep.State != tt.wantState {
				t.Fatalf("report %+v, err %v; want state %s", rep, err, tt.wantState)
			}
			t.Logf("%s: %s", rep.State, rep.Reason)
			st := s.Stats()
			if tt.wantRollback {
				if d := src.deployed(); len(d) != 1 || d[0] != "A" || st.Deployed != "A" {
					t.Fatalf("rollback: store deploys %v, serving %s", d, st.Deployed)
				}
				if a := classify(t, s, "hello", ""); a.ModelVersion != "A" {
					t.Fatalf("after rollback answered by %s", a.ModelVersion)
				}
				e := n.list()
				if len(e) != 1 || e[0].Type != retrain.EventModelRolledBack || e[0].Record == nil ||
					e[0].Record.NewVersion != "B" || e[0].Record.RolledBackTo != "A" || e[0].RunID != "run_B" {
					t.Fatalf("events %+v", e)
				}
			} else if len(src.deployed()) != 0 || st.Deployed != "B" || len(n.list()) != 0 {
				t.Fatalf("unexpected rollback: deploys %v, serving %s", src.deployed(), st.Deployed)
			}
			if st.Watchdog == nil || st.Watchdog.State != tt.wantState {
				t.Fatalf("Stats().Watchdog = %+v", st.Watchdog)
			}
			// A judged deploy is not judged again.
			if tt.wantState != serve.WatchWatching {
				serveN(t, s, 300, "c=0.1", "", 0)
				if rep2, _ := s.CheckWatchdog(t.Context()); rep2.State != tt.wantState || len(src.deployed()) > 1 {
					t.Fatalf("judged twice: %+v", rep2)
				}
			}
		})
	}
}

func TestServer_WatchdogRollbackDeployFails(t *testing.T) {
	s, src := newTestServer(t, &serve.Options{Watchdog: &serve.WatchdogOptions{MinQueries: 10}})
	serveN(t, s, 20, "hello", "", 0)
	src.deploy("B")
	if err := s.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	serveN(t, s, 20, "hello cB=0.1", "", 0)
	src.deployErr = errors.New("read-only file system")
	if _, err := s.CheckWatchdog(t.Context()); err == nil {
		t.Fatal("no error")
	}
	if st := s.Stats(); st.Deployed != "B" {
		t.Fatalf("serving %s after a failed rollback", st.Deployed)
	}
	src.deployErr = nil
	if rep, err := s.CheckWatchdog(t.Context()); err != nil || rep.State != serve.WatchRolledBack {
		t.Fatalf("retry: %+v %v", rep, err)
	}
}

func TestServer_WatchdogInPollLoop(t *testing.T) {
	n := &events{}
	s, src := newTestServer(t, &serve.Options{PollInterval: 2 * time.Millisecond, Notifier: n,
		Watchdog: &serve.WatchdogOptions{MinQueries: 50}})
	serveN(t, s, 100, "hello", "", 0)
	src.deploy("B")
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Deployed != "B" {
		if time.Now().After(deadline) {
			t.Fatal("B not picked up")
		}
		time.Sleep(time.Millisecond)
	}
	for len(n.list()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no rollback")
		}
		classify(t, s, "hello cB=0.1", "")
	}
	if c, _ := src.Current(t.Context()); c != "A" || s.Stats().Deployed != backup.Version("A") {
		t.Fatalf("store at %s, serving %s", c, s.Stats().Deployed)
	}
}

func TestServer_WatchdogDisabled(t *testing.T) {
	s, _ := newTestServer(t, nil)
	if rep, err := s.CheckWatchdog(t.Context()); err != nil || rep.State != serve.WatchDisabled {
		t.Fatalf("%+v %v", rep, err)
	}
}
