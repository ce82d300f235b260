package serve_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"moodfood/retrain/serve"
)

// Texts the query log could not hold, or that hold nothing to classify, are
// refused before anything is predicted, counted or sent to the LLM.
func TestServer_ClassifyRefusesUnusableText(t *testing.T) {
	llmCalls := 0
	llm := serve.LLMFunc(func(ctx context.Context, text string) ([]string, float64, error) {
		llmCalls++
		return []string{"x"}, 1, nil
	})
	log := &recLog{}
	s, _ := newTestServer(t, &serve.Options{LLM: llm, Threshold: 1.1, QueryLog: log})
	tests := []struct {
		name string
		text string
		want error
	}{
		{"Spaces", "   \t\n ", serve.ErrEmptyText},
		{"ZeroWidth", "\u200b\u200c\u200d\ufeff\u2060", serve.ErrEmptyText},
		{"ZeroWidthAndSpaces", " \u200b \u00a0 ", serve.ErrEmptyText},
		{"TooLong", strings.Repeat("rainy day ", serve.MaxTextBytes/10+1), serve.ErrTextTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Classify(t.Context(), serve.Request{Text: tt.text}); !errors.Is(err, tt.want) {
				t.Fatalf("Classify = %v, want %v", err, tt.want)
			}
		})
	}
	if llmCalls != 0 || s.Stats().Queries != 0 {
		t.Fatalf("refused texts reached the LLM %d times, %d queries counted", llmCalls, s.Stats().Queries)
	}
	// The longest accepted text is logged like any other.
	text := strings.Repeat("a", serve.MaxTextBytes)
	if _, err := s.Classify(t.Context(), serve.Request{Text: text}); err != nil {
		t.Fatalf("text of MaxTextBytes: %v", err)
	}
	if got := log.last().Text; got != text {
		t.Fatalf("logged text of %d bytes, want %d", len(got), len(text))
	}
}
