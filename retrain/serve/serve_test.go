package serve_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain/serve"
)

func TestServer_ClassifyRoutes(t *testing.T) {
	okLLM := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		return []string{"teacher", "A"}, 0.8, nil
	})
	errLLM := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		return nil, 0, errors.New("quota exceeded")
	})
	slowLLM := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		<-ctx.Done()
		return nil, 0, ctx.Err()
	})
	deafLLM := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		time.Sleep(30 * time.Millisecond) // ignores ctx; its late answer is discarded
		return []string{"late"}, 0.9, nil
	})
	emptyLLM := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		return nil, 0.7, nil
	})
	panicLLM := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		panic("boom")
	})
	tests := []struct {
		name       string
		text       string
		llm        serve.LLM
		threshold  float64
		ambiguity  float64
		wantRoute  serve.Route
		wantReason string
		wantLabel  string
		wantErrIn  string // substring of Answer.LLMError
		timeout    time.Duration
	}{
		{name: "Confident", text: "c=0.9 r=0.05", llm: okLLM, wantRoute: serve.RouteML, wantLabel: "A"},
		{name: "LowConfidence", text: "c=0.29 r=0.05", llm: okLLM, wantRoute: serve.RouteLLM, wantReason: serve.ReasonLowConfidence, wantLabel: "teacher"},
		{name: "ThresholdInclusive", text: "c=0.3 r=0.1", llm: okLLM, wantRoute: serve.RouteML, wantLabel: "A"},
		{name: "Ambiguous", text: "c=0.5 r=0.45", llm: okLLM, wantRoute: serve.RouteLLM, wantReason: serve.ReasonAmbiguous, wantLabel: "teacher"},
		{name: "MarginExactlyAmbiguity", text: "c=0.5 r=0.4", llm: okLLM, wantRoute: serve.RouteML, wantLabel: "A"},
		{name: "CustomThreshold", text: "c=0.6 r=0.1", llm: okLLM, threshold: 0.7, wantRoute: serve.RouteLLM, wantReason: serve.ReasonLowConfidence, wantLabel: "teacher"},
		{name: "CustomAmbiguity", text: "c=0.6 r=0.35", llm: okLLM, ambiguity: 0.3, wantRoute: serve.RouteLLM, wantReason: serve.ReasonAmbiguous, wantLabel: "teacher"},
		{name: "ChecksDisabled", text: "c=0.01 r=0.01", llm: okLLM, threshold: -1, ambiguity: -1, wantRoute: serve.RouteML, wantLabel: "A"},
		{name: "LLMError", text: "c=0.1", llm: errLLM, wantRoute: serve.RouteDegraded, wantReason: serve.ReasonLowConfidence, wantLabel: "A", wantErrIn: "quota"},
		{name: "LLMTimeout", text: "c=0.1", llm: slowLLM, wantRoute: serve.RouteDegraded, wantReason: serve.ReasonLowConfidence, wantLabel: "A", wantErrIn: "timed out", timeout: 10 * time.Millisecond},
		{name: "LLMIgnoresContext", text: "c=0.1", llm: deafLLM, wantRoute: serve.RouteDegraded, wantReason: serve.ReasonLowConfidence, wantLabel: "A", wantErrIn: "timed out", timeout: 10 * time.Millisecond},
		{name: "LLMPanics", text: "c=0.1", llm: panicLLM, wantRoute: serve.RouteDegraded, wantReason: serve.ReasonLowConfidence, wantLabel: "A", wantErrIn: "panicked"},
		{name: "NoLLM", text: "c=0.1", wantRoute: serve.RouteDegraded, wantReason: serve.ReasonLowConfidence, wantLabel: "A", wantErrIn: "no LLM"},
		{name: "LLMNoIntent", text: "c=0.1", llm: emptyLLM, wantRoute: serve.RouteLLM, wantReason: serve.ReasonLowConfidence, wantLabel: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := &recLog{}
			// A short timeout only where the test is about it: on a loaded
			// machine an instant LLM can take longer than 10 ms to be run.
			timeout := cmp.Or(tt.timeout, time.Minute)
			s, _ := newTestServer(t, &serve.Options{LLM: tt.llm, LLMTimeout: timeout,
				Threshold: tt.threshold, Ambiguity: tt.ambiguity, QueryLog: log})
			a := classify(t, s, tt.text, "s1")
			if a.Route != tt.wantRoute || a.Reason != tt.wantReason || a.Label != tt.wantLabel {
				t.Fatalf("got route %q reason %q label %q, want %q %q %q", a.Route, a.Reason, a.Label, tt.wantRoute, tt.wantReason, tt.wantLabel)
			}
			if tt.wantErrIn == "" && a.LLMError != "" || !contains(a.LLMError, tt.wantErrIn) {
				t.Errorf("LLMError = %q, want it to contain %q", a.LLMError, tt.wantErrIn)
			}
			if a.ModelVersion != "A" || a.ML.Label != "A" && tt.wantRoute != serve.RouteML {
				t.Errorf("ModelVersion %q ML %q", a.ModelVersion, a.ML.Label)
			}
			q := log.last()
			if q.Method != dataset.Method(a.Route) || q.ModelVersion != "A" || q.QueryID != a.QueryID ||
				q.PrimaryIntent != a.ML.Label || q.Text != tt.text || q.SessionID != "s1" {
				t.Errorf("logged %+v for answer %+v", q, a)
			}
			if !slices.Equal(q.LLMLabels, a.LLMLabels) || (a.Route == serve.RouteLLM) != (q.LLMLabels != nil) && a.Label != "" {
				t.Errorf("logged LLM labels %q, answer %q", q.LLMLabels, a.LLMLabels)
			}
			st := s.Stats()
			if st.Queries != 1 || len(st.Versions) != 1 || st.Versions[0].Queries != 1 {
				t.Errorf("stats %+v", st)
			}
			if tt.wantErrIn == "timed out" && st.LLMTimeouts != 1 || tt.wantErrIn == "quota" && st.LLMErrors != 1 {
				t.Errorf("LLM errors %d timeouts %d", st.LLMErrors, st.LLMTimeouts)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestMargin(t *testing.T) {
	tests := []struct {
		name string
		p    model.Prediction
		want float64
	}{
		{"SingleLabel", model.Prediction{Label: "a", Confidence: 0.6, Labels: []string{"a"},
			Ranked: []model.Score{{Label: "a", Prob: 0.6}, {Label: "b", Prob: 0.3}, {Label: "c", Prob: 0.1}}}, 0.3},
		{"MultiLabelSkipsPredictedSet", model.Prediction{Label: "a", Confidence: 0.9, Labels: []string{"a", "b"},
			Ranked: []model.Score{{Label: "a", Prob: 0.9}, {Label: "b", Prob: 0.85}, {Label: "c", Prob: 0.2}}}, 0.7},
		{"MultiLabelEmptySet", model.Prediction{Label: "a", Confidence: 0.4,
			Ranked: []model.Score{{Label: "a", Prob: 0.4}, {Label: "b", Prob: 0.35}}}, 0.05},
		{"NoRunnerUp", model.Prediction{Label: "a", Confidence: 0.7, Labels: []string{"a"},
			Ranked: []model.Score{{Label: "a", Prob: 0.7}}}, 0.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := serve.Margin(tt.p); got < tt.want-1e-12 || got > tt.want+1e-12 {
				t.Errorf("Margin = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestServer_ClassifyErrors(t *testing.T) {
	t.Run("ErrEmptyText", func(t *testing.T) {
		s, _ := newTestServer(t, nil)
		if _, err := s.Classify(t.Context(), serve.Request{}); !errors.Is(err, serve.ErrEmptyText) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrNoModel", func(t *testing.T) {
		src := newMemSource()
		s, err := serve.Open(t.Context(), src, &serve.Options{Decode: fakeDecode, PollInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Classify(t.Context(), serve.Request{Text: "x"}); !errors.Is(err, serve.ErrNoModel) {
			t.Fatalf("err = %v", err)
		}
		src.put("A", "FAKE A")
		src.deploy("A")
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if a := classify(t, s, "x", ""); a.ModelVersion != "A" {
			t.Fatalf("answered by %q", a.ModelVersion)
		}
	})
	t.Run("CallerCanceledDuringLLM", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		llm := serve.LLMFunc(func(c context.Context, text string) ([]string, float64, error) {
			cancel()
			<-c.Done()
			return nil, 0, c.Err()
		})
		log := &recLog{}
		s, _ := newTestServer(t, &serve.Options{LLM: llm, QueryLog: log})
		if _, err := s.Classify(ctx, serve.Request{Text: "c=0.1"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if len(log.queries) != 0 || s.Stats().Canceled != 1 {
			t.Fatalf("logged %d, canceled %d", len(log.queries), s.Stats().Canceled)
		}
	})
	t.Run("LogFailureDoesNotFailQuery", func(t *testing.T) {
		log := &recLog{err: errors.New("disk full")}
		s, _ := newTestServer(t, &serve.Options{QueryLog: log})
		classify(t, s, "hello", "")
		if st := s.Stats(); st.LogErrors != 1 || st.Queries != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		s, _ := newTestServer(t, nil)
		s.Close()
		ctx := t.Context()
		_, cerr := s.Classify(ctx, serve.Request{Text: "x"})
		_, perr := s.PromoteCanary(ctx)
		_, werr := s.CheckWatchdog(ctx)
		for name, err := range map[string]error{"Classify": cerr, "Feedback": s.Feedback(ctx, "q", true),
			"Reload": s.Reload(ctx), "StartCanary": s.StartCanary(ctx, "B", 0.5), "SetCanaryFraction": s.SetCanaryFraction(0.5),
			"PromoteCanary": perr, "StartShadow": s.StartShadow(ctx, "B"), "CheckWatchdog": werr} {
			if !errors.Is(err, serve.ErrClosed) {
				t.Errorf("%s after Close = %v, want ErrClosed", name, err)
			}
		}
		if st := s.Stats(); st.Deployed != "A" { // final numbers stay readable
			t.Errorf("Stats after Close: deployed %q", st.Deployed)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestServer_QueryIDs(t *testing.T) {
	n := 0
	s, _ := newTestServer(t, &serve.Options{NewQueryID: func() string { n++; return "q" + string(rune('0'+n)) }})
	a1, a2 := classify(t, s, "x", ""), classify(t, s, "x", "")
	if !strings.HasPrefix(a1.QueryID, "q1.") || !strings.HasPrefix(a2.QueryID, "q2.") || len(a1.QueryID) > serve.MaxQueryIDBytes {
		t.Fatalf("QueryIDs %q, %q: want the nonce, the time and a signature", a1.QueryID, a2.QueryID)
	}
	if _, err := s.Classify(t.Context(), serve.Request{Text: "x", SessionID: strings.Repeat("s", serve.MaxSessionIDBytes+1)}); !errors.Is(err, serve.ErrTooLong) {
		t.Fatalf("a long session id: %v, want ErrTooLong", err)
	}
}

// TestServer_FeedbackOnlyFromTheAsker: feedback is accepted for an id the
// Server issued, once, within FeedbackTTL; made-up, altered, foreign-key,
// expired and oversized ids are refused and neither logged nor counted.
func TestServer_FeedbackOnlyFromTheAsker(t *testing.T) {
	log := &recLog{}
	now := time.Unix(1e9, 0)
	clock := func() time.Time { return now }
	key := []byte("replicas share this key")
	s, _ := newTestServer(t, &serve.Options{QueryLog: log, Now: clock, QueryIDKey: key})
	a := classify(t, s, "x", "")
	other, _ := newTestServer(t, &serve.Options{Now: clock}) // another key
	foreign := classify(t, other, "x", "")
	replica, _ := newTestServer(t, &serve.Options{Now: clock, QueryIDKey: key})
	shared := classify(t, replica, "x", "")
	forged := []byte(a.QueryID)
	forged[0] ^= 1
	// The same signature spelled differently (the last base64 character's
	// unused bits set): a second id for the same query would defeat "once".
	respelled := []byte(a.QueryID)
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	respelled[len(respelled)-1] = b64[strings.IndexByte(b64, respelled[len(respelled)-1])|1]

	for name, tc := range map[string]struct {
		id   string
		want error
	}{
		"made up":      {"q-000001", serve.ErrUnknownQuery},
		"altered":      {string(forged), serve.ErrUnknownQuery},
		"respelled":    {string(respelled), serve.ErrUnknownQuery},
		"other key":    {foreign.QueryID, serve.ErrUnknownQuery},
		"one megabyte": {strings.Repeat("q", 1<<20), serve.ErrTooLong},
		"empty":        {"", serve.ErrNoQueryID},
	} {
		if err := s.Feedback(t.Context(), tc.id, true); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if err := s.Feedback(t.Context(), a.QueryID, true); err != nil {
		t.Fatal(err)
	}
	if err := s.Feedback(t.Context(), a.QueryID, false); !errors.Is(err, serve.ErrDuplicateFeedback) {
		t.Fatalf("second feedback: %v, want ErrDuplicateFeedback", err)
	}
	if err := s.Feedback(t.Context(), shared.QueryID, true); err != nil {
		t.Fatalf("feedback on a replica's query: %v", err)
	}
	late := classify(t, s, "x", "")
	now = now.Add(serve.DefaultFeedbackTTL + time.Second)
	if err := s.Feedback(t.Context(), late.QueryID, true); !errors.Is(err, serve.ErrFeedbackExpired) {
		t.Fatalf("late feedback: %v, want ErrFeedbackExpired", err)
	}

	if len(log.feedback) != 2 || log.feedback[0].QueryID != a.QueryID || !log.feedback[0].Positive || log.feedback[1].QueryID != shared.QueryID {
		t.Fatalf("logged %+v, want the two accepted ones", log.feedback)
	}
	st := s.Stats()
	if v := st.Versions[0]; v.Positive != 1 || v.Negative != 0 || st.UnattributedFeedback != 1 {
		t.Fatalf("stats %+v", st)
	}
	now = now.Add(-serve.DefaultFeedbackTTL)
	log.err = errors.New("disk full")
	b := classify(t, s, "x", "")
	if err := s.Feedback(t.Context(), b.QueryID, true); err == nil {
		t.Fatal("logger error not returned")
	}
	log.err = nil
	if err := s.Feedback(t.Context(), b.QueryID, true); err != nil {
		t.Fatalf("retry after a logger error: %v", err)
	}
}

func TestServer_Reload(t *testing.T) {
	t.Run("PicksUpNewVersion", func(t *testing.T) {
		s, src := newTestServer(t, nil)
		src.deploy("B")
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if a := classify(t, s, "x", ""); a.ModelVersion != "B" || a.Label != "B" {
			t.Fatalf("answer %+v", a)
		}
		if st := s.Stats(); st.Reloads != 1 || st.Deployed != "B" {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("RefusedCorruptKeepsServing", func(t *testing.T) {
		s, src := newTestServer(t, nil)
		src.deploy("BAD")
		for range 3 { // refused every time, counted once
			if err := s.Reload(t.Context()); !errors.Is(err, serve.ErrRefused) {
				t.Fatalf("err = %v", err)
			}
			if a := classify(t, s, "x", ""); a.ModelVersion != "A" || a.Label != "A" {
				t.Fatalf("answer %+v", a)
			}
		}
		st := s.Stats()
		if st.Refused != 1 || len(st.RefusedVersions) != 1 || st.RefusedVersions[0].Version != "BAD" ||
			!st.RefusedVersions[0].Permanent || st.Reloads != 0 {
			t.Fatalf("stats %+v", st)
		}
		src.deploy("B") // a good one after the bad one is picked up
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if a := classify(t, s, "x", ""); a.ModelVersion != "B" {
			t.Fatalf("answer %+v", a)
		}
	})
	t.Run("StoreCorruptionIsRefused", func(t *testing.T) {
		src := &corruptAtEOF{memSource: newMemSource()}
		src.put("A", "FAKE A")
		src.put("B", "FAKE B")
		src.deploy("A")
		s, err := serve.Open(t.Context(), src, &serve.Options{Decode: fakeDecode, PollInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		src.deploy("B")
		if err := s.Reload(t.Context()); !errors.Is(err, serve.ErrRefused) || !errors.Is(err, backup.ErrCorrupt) {
			t.Fatalf("err = %v", err)
		}
		if a := classify(t, s, "x", ""); a.ModelVersion != "A" {
			t.Fatalf("answer %+v", a)
		}
	})
	t.Run("TransientFailureRetried", func(t *testing.T) {
		s, src := newTestServer(t, nil)
		src.mu.Lock()
		src.currentErr = errors.New("EIO")
		src.mu.Unlock()
		src.deploy("B")
		if err := s.Reload(t.Context()); err == nil {
			t.Fatal("no error")
		}
		src.mu.Lock()
		src.currentErr = nil
		src.mu.Unlock()
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Deployed != "B" || st.Refused != 0 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("OpenFailsOnCorruptDeployed", func(t *testing.T) {
		src := newMemSource()
		src.put("BAD", "garbage")
		src.deploy("BAD")
		_, err := serve.Open(t.Context(), src, &serve.Options{Decode: fakeDecode, PollInterval: -1})
		if !errors.Is(err, serve.ErrRefused) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("PollLoop", func(t *testing.T) {
		s, src := newTestServer(t, &serve.Options{PollInterval: 5 * time.Millisecond})
		src.deploy("BAD")
		src.deploy("B")
		deadline := time.Now().Add(5 * time.Second)
		for s.Stats().Deployed != "B" {
			if time.Now().After(deadline) {
				t.Fatal("not picked up")
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// corruptAtEOF is a source whose body for any version but "A" fails its
// checksum at EOF, as backup.FileStore's does.
type corruptAtEOF struct{ *memSource }

func (c *corruptAtEOF) Open(ctx context.Context, v backup.Version) (backup.Manifest, io.ReadCloser, error) {
	m, rc, err := c.memSource.Open(ctx, v)
	if err != nil || v == "A" {
		return m, rc, err
	}
	return m, eofErr{rc}, nil
}

type eofErr struct{ io.ReadCloser }

func (e eofErr) Read(p []byte) (int, error) {
	n, err := e.ReadCloser.Read(p)
	if err == io.EOF {
		return n, backup.ErrCorrupt
	}
	return n, err
}

func TestServer_CloseStopsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	src := newMemSource()
	src.put("A", "FAKE A")
	src.deploy("A")
	for range 10 {
		s, err := serve.Open(t.Context(), src, &serve.Options{Decode: fakeDecode, PollInterval: time.Millisecond,
			Watchdog: &serve.WatchdogOptions{}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
		s.Close()
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Fatalf("goroutines: %d before, %d after", before, after)
	}
}

// TestServer_RoutingMatchesFallbackReason checks, over a grid of
// confidences, runner-ups and settings, that Classify routes exactly as
// FallbackReason says (with the defaults substituted for zero settings), and
// that a shadow counts as fallbacks exactly the queries FallbackReason sends
// to the LLM.
func TestServer_RoutingMatchesFallbackReason(t *testing.T) {
	llm := serve.LLMFunc(func(context.Context, string) ([]string, float64, error) { return []string{"x"}, 1, nil })
	settings := []struct{ th, amb, effTh, effAmb float64 }{
		{0, 0, serve.DefaultThreshold, serve.DefaultAmbiguity},
		{0.5, 0.2, 0.5, 0.2},
		{-1, 0.05, -1, 0.05},
		{0.7, -1, 0.7, -1},
	}
	for _, st := range settings {
		t.Run(fmt.Sprintf("th=%v,amb=%v", st.th, st.amb), func(t *testing.T) {
			s, _ := newTestServer(t, &serve.Options{LLM: llm, Threshold: st.th, Ambiguity: st.amb})
			if err := s.StartShadow(t.Context(), "B"); err != nil {
				t.Fatal(err)
			}
			wantFallbacks := int64(0)
			for ci := 0; ci <= 20; ci++ {
				for ri := 0; ri <= ci; ri += 2 {
					c, r := float64(ci)/20, float64(ri)/20
					a := classify(t, s, fmt.Sprintf("c=%v r=%v", c, r), "")
					want := serve.FallbackReason(a.ML, st.effTh, st.effAmb)
					wantRoute := serve.RouteML
					if want != "" {
						wantRoute = serve.RouteLLM
						wantFallbacks++ // the shadow B sees the same c and r
					}
					if a.Reason != want || a.Route != wantRoute {
						t.Errorf("c=%v r=%v: route %q reason %q, FallbackReason says %q", c, r, a.Route, a.Reason, want)
					}
				}
			}
			if got := s.Stats().Shadow.Fallbacks; got != wantFallbacks {
				t.Errorf("shadow counted %d fallbacks, FallbackReason says %d", got, wantFallbacks)
			}
		})
	}
}

// TestServer_Redact: the redaction hook rewrites the text before the query
// log and the shadow hook see it; the model still sees the original.
func TestServer_Redact(t *testing.T) {
	log := &recLog{}
	var shadowed []serve.Disagreement
	s, _ := newTestServer(t, &serve.Options{QueryLog: log,
		Redact:         func(text string) string { return strings.ReplaceAll(text, "alice@example.com", "<EMAIL>") },
		OnDisagreement: func(d serve.Disagreement) { shadowed = append(shadowed, d) }})
	if err := s.StartShadow(t.Context(), "B"); err != nil {
		t.Fatal(err)
	}
	classify(t, s, "mail me at alice@example.com", "")
	if len(log.queries) != 1 || log.queries[0].Text != "mail me at <EMAIL>" {
		t.Fatalf("logged %+v", log.queries)
	}
	for _, d := range shadowed {
		if strings.Contains(d.Text, "alice") {
			t.Fatalf("shadow hook saw %q", d.Text)
		}
	}
}
