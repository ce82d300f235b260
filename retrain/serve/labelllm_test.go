package serve_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"moodfood/dataset"
	"moodfood/retrain/serve"
)

func TestLabelLLM(t *testing.T) {
	var samples []dataset.Sample
	for i := range 2000 {
		samples = append(samples, dataset.Sample{Text: fmt.Sprintf("text %d", i), Labels: []string{fmt.Sprintf("l%d", i%5)}})
	}
	t.Run("Lookup", func(t *testing.T) {
		llm := serve.NewLabelLLM(append(samples, dataset.Sample{Text: "TEXT 3  ", Labels: []string{"override"}}), nil)
		if got, conf, err := llm.Label(t.Context(), "  text 3!"); err != nil || !slices.Equal(got, []string{"override"}) || conf != 0.9 {
			t.Fatalf("got %v %v %v", got, conf, err)
		}
		if got, conf, _ := llm.Label(t.Context(), "unknown"); len(got) != 0 || got == nil || conf != 0.5 {
			t.Fatalf("default: %v %v", got, conf)
		}
		if llm.Len() != 2000 {
			t.Fatalf("Len %d", llm.Len())
		}
	})
	t.Run("NoiseRateAndDeterminism", func(t *testing.T) {
		opts := &serve.LabelLLMOptions{NoiseRate: 0.2, Seed: 42}
		a, b := serve.NewLabelLLM(samples, opts), serve.NewLabelLLM(samples, opts)
		other := serve.NewLabelLLM(samples, &serve.LabelLLMOptions{NoiseRate: 0.2, Seed: 43})
		wrong, differ := 0, 0
		for i := len(samples) - 1; i >= 0; i-- { // any call order gives the same answers
			s := samples[i]
			x, _, _ := a.Label(t.Context(), s.Text)
			y, _, _ := b.Label(t.Context(), s.Text)
			z, _, _ := other.Label(t.Context(), s.Text)
			if !slices.Equal(x, y) {
				t.Fatalf("%q: %v then %v", s.Text, x, y)
			}
			if !slices.Equal(x, s.Labels) {
				wrong++
				if len(x) != 1 || x[0] == s.Labels[0] || !strings.HasPrefix(x[0], "l") {
					t.Fatalf("noisy answer %v for %v", x, s.Labels)
				}
			}
			if !slices.Equal(x, z) {
				differ++
			}
		}
		if rate := float64(wrong) / float64(len(samples)); rate < 0.17 || rate > 0.23 {
			t.Errorf("noise rate %v, want about 0.2", rate)
		}
		if differ == 0 {
			t.Error("the seed does not change the noise")
		}
	})
	t.Run("CanceledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := serve.NewLabelLLM(samples, nil).Label(ctx, "text 1"); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("Read", func(t *testing.T) {
		in := `{"text": "Hungry!", "labels": ["emotion_hungry"]}
garbage
{"text": "", "labels": ["x"]}

{"text": "nothing", "labels": []}
`
		llm, skipped, err := serve.ReadLabelLLM(strings.NewReader(in), nil)
		if err != nil || skipped != 2 || llm.Len() != 2 {
			t.Fatalf("skipped %d, len %d, err %v", skipped, llm.Len(), err)
		}
		if got, _, _ := llm.Label(t.Context(), "hungry"); !slices.Equal(got, []string{"emotion_hungry"}) {
			t.Fatalf("got %v", got)
		}
	})
}
