package serve_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/quick"

	"moodfood/retrain/serve"
)

func TestInCanary_Sticky(t *testing.T) {
	// Property: a key in the canary at fraction f stays in at every f' >= f.
	r := rand.New(rand.NewPCG(3, 4))
	const runs = 200000
	bad := 0
	for i := range runs {
		key := fmt.Sprintf("k%d-%x", i, r.Uint64())
		f, g := r.Float64(), r.Float64()
		if f > g {
			f, g = g, f
		}
		if serve.InCanary(key, f) && !serve.InCanary(key, g) {
			bad++
		}
	}
	t.Logf("REL {\"test\": %q, \"runs\": %d, \"bad\": %d}", t.Name(), runs, bad)
	if bad != 0 {
		t.Fatalf("%d keys left the canary as the fraction rose", bad)
	}
	prop := func(key string, a, b uint16) bool {
		f, g := float64(a%10001)/10000, float64(b%10001)/10000
		if f > g {
			f, g = g, f
		}
		return !serve.InCanary(key, f) || serve.InCanary(key, g)
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 20000}); err != nil {
		t.Fatal(err)
	}
	// And the share of keys in the canary follows the fraction.
	for _, f := range []float64{0, 0.01, 0.1, 0.5, 0.9, 1} {
		in := 0
		const n = 100000
		for i := range n {
			if serve.InCanary(fmt.Sprintf("session-%d", i), f) {
				in++
			}
		}
		if got := float64(in) / n; got < f-0.01 || got > f+0.01 {
			t.Errorf("fraction %v: %v of keys in the canary", f, got)
		}
	}
}

func TestServer_Canary(t *testing.T) {
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) { return []string{"A"}, 0.9, nil })
	s, src := newTestServer(t, &serve.Options{LLM: llm})
	if err := s.StartCanary(t.Context(), "B", 0.2); err != nil {
		t.Fatal(err)
	}
	inAt := map[string]bool{}
	wantIn := 0
	for i := range 1000 {
		sess := fmt.Sprintf("user-%d", i)
		text := "hello"
		if i%4 == 0 {
			text = "c=0.1" // a fallback; the LLM agrees with A, not with B
		}
		a := classify(t, s, text, sess)
		in := serve.InCanary(sess, 0.2)
		if in {
			wantIn++
		}
		inAt[sess] = in
		if want := map[bool]string{true: "B", false: "A"}[in]; string(a.ModelVersion) != want || a.Canary != in {
			t.Fatalf("session %s: answered by %s (canary %v), want %s", sess, a.ModelVersion, a.Canary, want)
		}
		if again := classify(t, s, "hello", sess); again.ModelVersion != a.ModelVersion {
			t.Fatalf("session %s not sticky", sess)
		}
		if in {
			if err := s.Feedback(t.Context(), a.QueryID, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	st := s.Stats().Canary
	if st == nil || st.Version != "B" || st.ControlVersion != "A" || st.Fraction != 0.2 {
		t.Fatalf("canary stats %+v", st)
	}
	if st.Canary.Queries != int64(2*wantIn) || st.Control.Queries != int64(2*(1000-wantIn)) ||
		st.Canary.Negative != int64(wantIn) || st.Control.Negative != 0 {
		t.Fatalf("arms %+v", st)
	}
	if st.Canary.Compared == 0 || st.Canary.Agreement != 0 || st.Control.Agreement != 1 ||
		st.Canary.FallbackRate == 0 || st.Control.FallbackRate == 0 {
		t.Fatalf("arms %+v", st)
	}
	t.Logf("canary %d of 1000 sessions at 0.2; canary %+v; control %+v", wantIn, st.Canary, st.Control)

	// Raising the fraction keeps every session that was in.
	if err := s.SetCanaryFraction(0.5); err != nil {
		t.Fatal(err)
	}
	for sess, was := range inAt {
		if a := classify(t, s, "hello", sess); was && a.ModelVersion != "B" {
			t.Fatalf("session %s left the canary when the fraction rose", sess)
		}
	}

	t.Run("Errors", func(t *testing.T) {
		if err := s.StartCanary(t.Context(), "C", 0.1); !errors.Is(err, serve.ErrCanaryRunning) {
			t.Errorf("second canary: %v", err)
		}
		if err := s.SetCanaryFraction(1.5); !errors.Is(err, serve.ErrFraction) {
			t.Errorf("fraction 1.5: %v", err)
		}
	})

	final, err := s.AbortCanary()
	if err != nil || final.Version != "B" {
		t.Fatalf("abort: %+v %v", final, err)
	}
	if a := classify(t, s, "hello", "user-1"); a.ModelVersion != "A" {
		t.Fatalf("after abort answered by %s", a.ModelVersion)
	}
	if _, err := s.AbortCanary(); !errors.Is(err, serve.ErrNoCanary) {
		t.Fatalf("second abort: %v", err)
	}
	if _, err := s.PromoteCanary(t.Context()); !errors.Is(err, serve.ErrNoCanary) {
		t.Fatalf("promote without canary: %v", err)
	}
	if err := s.SetCanaryFraction(0.1); !errors.Is(err, serve.ErrNoCanary) {
		t.Fatalf("set fraction without canary: %v", err)
	}
	if err := s.StartCanary(t.Context(), "A", 0.1); !errors.Is(err, serve.ErrSameVersion) {
		t.Fatalf("canary of the deployed version: %v", err)
	}
	if err := s.StartCanary(t.Context(), "BAD", 0.1); !errors.Is(err, serve.ErrRefused) {
		t.Fatalf("corrupt canary: %v", err)
	}
	if err := s.StartCanary(t.Context(), "B", -0.1); !errors.Is(err, serve.ErrFraction) {
		t.Fatalf("fraction -0.1: %v", err)
	}

	// Promote: deployed through the store, all traffic on B.
	if err := s.StartCanary(t.Context(), "C", 0.3); err != nil {
		t.Fatal(err)
	}
	src.deployErr = errors.New("read-only file system")
	if _, err := s.PromoteCanary(t.Context()); err == nil || s.Stats().Canary == nil {
		t.Fatalf("failed promote: %v, canary %+v", err, s.Stats().Canary)
	}
	src.deployErr = nil
	if _, err := s.PromoteCanary(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := src.deployed(); len(d) != 1 || d[0] != "C" {
		t.Fatalf("store deploys %v", d)
	}
	if err := s.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if a := classify(t, s, "hello", fmt.Sprint(i)); a.ModelVersion != "C" || a.Canary {
			t.Fatalf("after promote: %+v", a)
		}
	}
	if st := s.Stats(); st.Canary != nil || st.Deployed != "C" || st.Reloads != 1 {
		t.Fatalf("stats after promote %+v", st)
	}
}

func TestServer_CanaryWithoutSession(t *testing.T) {
	s, _ := newTestServer(t, nil)
	if err := s.StartCanary(t.Context(), "B", 0.5); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for range 2000 {
		a, err := s.Classify(t.Context(), serve.Request{Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		n[string(a.ModelVersion)]++
	}
	if n["B"] < 900 || n["A"] < 900 {
		t.Fatalf("split by query id: %v", n)
	}
}
