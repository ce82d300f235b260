package serve_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"

	"moodfood/retrain/serve"
)

// TestServer_Correct: a rejected ML answer is asked again, once, and the
// LLM's answer is logged as a second answer (Corrects) after the negative
// feedback; nothing else can make the Server call the LLM this way.
func TestServer_Correct(t *testing.T) {
	log := &recLog{}
	var calls atomic.Int64
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		calls.Add(1)
		return []string{"weather_hot"}, 0.8, nil
	})
	s, _ := newTestServer(t, &serve.Options{QueryLog: log, LLM: llm})
	const text = "cold soup l=goal_comfort"
	a := classify(t, s, text, "")
	if a.Route != serve.RouteML {
		t.Fatalf("route %s, want ml", a.Route)
	}
	fallback := classify(t, s, "c=0.1 unsure", "")
	if fallback.Route != serve.RouteLLM {
		t.Fatalf("route %s, want llm", fallback.Route)
	}
	calls.Store(0)

	for name, tc := range map[string]struct {
		id, text string
		want     error
	}{
		"other text":   {a.QueryID, "something else", serve.ErrNotCorrectable},
		"llm answered": {fallback.QueryID, "c=0.1 unsure", serve.ErrNotCorrectable},
		"made up":      {"q-000001", text, serve.ErrUnknownQuery},
		"empty id":     {"", text, serve.ErrNoQueryID},
		"empty text":   {a.QueryID, " ", serve.ErrEmptyText},
	} {
		if _, err := s.Correct(t.Context(), tc.id, tc.text); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if calls.Load() != 0 || len(log.feedback) != 0 {
		t.Fatalf("refused corrections made %d LLM calls and logged %d feedback", calls.Load(), len(log.feedback))
	}

	c, err := s.Correct(t.Context(), a.QueryID, text)
	if err != nil {
		t.Fatal(err)
	}
	if c.Route != serve.RouteLLM || c.Reason != serve.ReasonRejected || !slices.Equal(c.Labels, []string{"weather_hot"}) ||
		c.QueryID == "" || c.QueryID == a.QueryID {
		t.Fatalf("answer %+v", c)
	}
	if len(log.feedback) != 1 || log.feedback[0].QueryID != a.QueryID || log.feedback[0].Positive {
		t.Fatalf("feedback %+v, want one negative on %s", log.feedback, a.QueryID)
	}
	q := log.last()
	if q.Corrects != a.QueryID || q.QueryID != c.QueryID || q.Method != "llm" || !slices.Equal(q.LLMLabels, []string{"weather_hot"}) ||
		q.PrimaryIntent != "goal_comfort" || q.Text != text {
		t.Fatalf("logged %+v", q)
	}
	if _, err := s.Correct(t.Context(), a.QueryID, text); !errors.Is(err, serve.ErrDuplicateFeedback) {
		t.Fatalf("second correction: %v, want ErrDuplicateFeedback", err)
	}
	if err := s.Feedback(t.Context(), a.QueryID, true); !errors.Is(err, serve.ErrDuplicateFeedback) {
		t.Fatalf("feedback after correction: %v, want ErrDuplicateFeedback", err)
	}
	if err := s.Feedback(t.Context(), c.QueryID, true); err != nil {
		t.Fatalf("feedback on the second answer: %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("%d LLM calls, want 1", calls.Load())
	}
	st := s.Stats()
	if st.Corrections != 1 || st.Queries != 2 {
		t.Errorf("stats: %d corrections, %d queries; want 1 and 2", st.Corrections, st.Queries)
	}
}

// TestServer_CorrectLLMFails: when the LLM fails the feedback is kept and
// the error returned.
func TestServer_CorrectLLMFails(t *testing.T) {
	log := &recLog{}
	boom := errors.New("boom")
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) { return nil, 0, boom })
	s, _ := newTestServer(t, &serve.Options{QueryLog: log, LLM: llm})
	a := classify(t, s, "x", "")
	if _, err := s.Correct(t.Context(), a.QueryID, "x"); !errors.Is(err, boom) {
		t.Fatalf("Correct: %v, want the LLM's error", err)
	}
	if len(log.feedback) != 1 || log.feedback[0].Positive || len(log.queries) != 1 {
		t.Fatalf("logged %d queries and feedback %+v; want the negative feedback only", len(log.queries), log.feedback)
	}
	if st := s.Stats(); st.Corrections != 0 || st.LLMErrors != 1 {
		t.Errorf("stats: %d corrections, %d LLM errors; want 0 and 1", st.Corrections, st.LLMErrors)
	}
}
