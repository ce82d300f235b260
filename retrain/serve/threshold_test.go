package serve_test

import (
	"context"
	"testing"

	"moodfood/retrain"
	"moodfood/retrain/serve"
)

// TestServer_EarnedThreshold: a version routes with the threshold in its
// manifest, read again when a new version is loaded; a version without one
// uses DefaultThreshold; Options.Threshold overrides every version's own.
func TestServer_EarnedThreshold(t *testing.T) {
	route := func(s *serve.Server, text string) serve.Route {
		t.Helper()
		return classify(t, s, text, "").Route
	}
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) { return []string{"llm"}, 0.9, nil })

	t.Run("ReadOnReload", func(t *testing.T) {
		s, src := newTestServer(t, &serve.Options{LLM: llm})
		src.metrics["B"] = map[string]float64{retrain.MetricRoutingThreshold: 0.8}
		src.metrics["C"] = map[string]float64{retrain.MetricRoutingThreshold: 0.45}
		// A carries no threshold: DefaultThreshold (0.3).
		if got := route(s, "c=0.5 r=0.1"); got != serve.RouteML {
			t.Fatalf("A at 0.5: %s, want ml (default threshold %v)", got, serve.DefaultThreshold)
		}
		src.deploy("B")
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		a := classify(t, s, "c=0.5 r=0.1", "")
		if a.Route != serve.RouteLLM || a.Reason != serve.ReasonLowConfidence {
			t.Fatalf("B at 0.5: %s (%s), want llm: B earned 0.8", a.Route, a.Reason)
		}
		if got := route(s, "c=0.85 r=0.1"); got != serve.RouteML {
			t.Fatalf("B at 0.85: %s, want ml", got)
		}
		src.deploy("C")
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := route(s, "c=0.5 r=0.1"); got != serve.RouteML {
			t.Fatalf("C at 0.5: %s, want ml: C earned 0.45", got)
		}
		if got := route(s, "c=0.4 r=0.1"); got != serve.RouteLLM {
			t.Fatalf("C at 0.4: %s, want llm", got)
		}
	})

	t.Run("OverrideWins", func(t *testing.T) {
		s, src := newTestServer(t, &serve.Options{LLM: llm, Threshold: 0.6})
		src.metrics["B"] = map[string]float64{retrain.MetricRoutingThreshold: 0.8}
		src.deploy("B")
		if err := s.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := route(s, "c=0.7 r=0.1"); got != serve.RouteML {
			t.Fatalf("B at 0.7 with Threshold 0.6: %s, want ml", got)
		}
		if got := route(s, "c=0.55 r=0.1"); got != serve.RouteLLM {
			t.Fatalf("B at 0.55 with Threshold 0.6: %s, want llm", got)
		}
	})

	t.Run("CanaryRoutesWithItsOwn", func(t *testing.T) {
		s, src := newTestServer(t, &serve.Options{LLM: llm})
		src.metrics["B"] = map[string]float64{retrain.MetricRoutingThreshold: 0.8}
		if err := s.StartCanary(t.Context(), "B", 1); err != nil {
			t.Fatal(err)
		}
		a := classify(t, s, "c=0.5 r=0.1", "")
		if !a.Canary || a.Route != serve.RouteLLM {
			t.Fatalf("canary B at 0.5: canary %v, route %s; want the canary's 0.8 to send it to the LLM", a.Canary, a.Route)
		}
	})
}
