package serve_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"moodfood/retrain/serve"
)

func TestServer_Shadow(t *testing.T) {
	var mu sync.Mutex
	var got []serve.Disagreement
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) { return []string{"B"}, 0.9, nil })
	s, _ := newTestServer(t, &serve.Options{LLM: llm, OnDisagreement: func(d serve.Disagreement) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, d)
	}})
	if err := s.StartShadow(t.Context(), "B"); err != nil {
		t.Fatal(err)
	}
	texts := []string{"hello", "l=x agree", "c=0.1 fallback", "l=y agree too", "hello again"}
	for _, text := range texts {
		if a := classify(t, s, text, "sess"); a.ModelVersion != "A" {
			t.Fatalf("shadow answered: %+v", a)
		}
	}
	st := s.Stats().Shadow
	if st == nil || st.Version != "B" || st.Queries != 5 || st.Disagreements != 3 || st.DisagreementRate != 0.6 ||
		st.Compared != 1 || st.Agreed != 1 || st.ServingAgreed != 0 || st.Fallbacks != 1 {
		t.Fatalf("shadow stats %+v", st)
	}
	if len(got) != 3 || got[0].Text != "hello" || got[0].Label != "A" || got[0].ShadowLabel != "B" ||
		got[0].Version != "A" || got[0].ShadowVersion != "B" || got[0].SessionID != "sess" ||
		got[1].Route != serve.RouteLLM || !slices.Equal(got[1].LLMLabels, []string{"B"}) {
		t.Fatalf("disagreements %+v", got)
	}

	final, err := s.StopShadow()
	if err != nil || final.Queries != 5 {
		t.Fatalf("stop: %+v %v", final, err)
	}
	classify(t, s, "hello", "")
	if len(got) != 3 || s.Stats().Shadow != nil {
		t.Fatal("shadow still running after StopShadow")
	}
	if _, err := s.StopShadow(); !errors.Is(err, serve.ErrNoShadow) {
		t.Fatalf("second stop: %v", err)
	}
	if err := s.StartShadow(t.Context(), "A"); !errors.Is(err, serve.ErrSameVersion) {
		t.Fatalf("shadow of the deployed version: %v", err)
	}
	if err := s.StartShadow(t.Context(), "BAD"); !errors.Is(err, serve.ErrRefused) {
		t.Fatalf("corrupt shadow: %v", err)
	}
}

func TestServer_ShadowHookPanics(t *testing.T) {
	s, _ := newTestServer(t, &serve.Options{OnDisagreement: func(serve.Disagreement) { panic("hook") }})
	if err := s.StartShadow(t.Context(), "B"); err != nil {
		t.Fatal(err)
	}
	classify(t, s, "hello", "")
	if st := s.Stats().Shadow; st.HookPanics != 1 || st.Disagreements != 1 {
		t.Fatalf("shadow stats %+v", st)
	}
}

func TestServer_ShadowWithCanary(t *testing.T) {
	s, _ := newTestServer(t, nil)
	if err := s.StartCanary(t.Context(), "B", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.StartShadow(t.Context(), "C"); err != nil {
		t.Fatal(err)
	}
	a := classify(t, s, "hello", "x")
	if a.ModelVersion != "B" {
		t.Fatalf("answer %+v", a)
	}
	if st := s.Stats(); st.Shadow.Disagreements != 1 || st.Canary.Canary.Queries != 1 {
		t.Fatalf("stats %+v", st)
	}
}
