package dataset_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"moodfood/dataset"
)

// TestCorrection: a rejected ML answer that was asked again (a record with
// Corrects) becomes an LLM-labelled sample, the rejected answer does not,
// and neither the live signals nor the per-day statistics count the second
// answer as a second query.
func TestCorrection(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, nil)
	orig := dataset.Query{QueryID: "q1", Timestamp: t0, Text: "cold soup for a hot day", Method: dataset.MethodML,
		PrimaryIntent: "goal_comfort", Confidence: 0.97}
	fix := llmQuery("q2", "cold soup for a hot day", "weather_hot")
	fix.Timestamp, fix.PrimaryIntent, fix.Confidence, fix.Corrects = t0.Add(time.Second), "", 0, "q1"
	logAll(t, s, orig, fix)
	l, _ := s.Logger()
	if err := l.Feedback(dataset.Feedback{QueryID: "q1", Timestamp: t0.Add(time.Second), Positive: false}); err != nil {
		t.Fatal(err)
	}
	l.Flush(ctx)

	st, err := s.Export(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Exported != 1 || st.Rejected[dataset.ReasonNegative] != 1 {
		t.Fatalf("export: %d exported, rejected %v; want the correction exported and the rejected answer refused", st.Exported, st.Rejected)
	}
	snap, err := s.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.New) != 1 || !slices.Equal(snap.New[0].Labels, []string{"weather_hot"}) || snap.New[0].Source != dataset.SourceLLM {
		t.Fatalf("new samples %+v, want one llm sample labelled weather_hot", snap.New)
	}

	w, err := s.Signals(ctx, t0.Add(time.Hour), time.Hour, 1, func(text string) (int, int) { return 0, len(strings.Fields(text)) })
	if err != nil {
		t.Fatal(err)
	}
	if w[0].Queries != 1 || w[0].FallbackRate != 0 || w[0].Fallbacks != 0 {
		t.Errorf("signals %+v, want 1 query, no fallback", w[0])
	}
	res, err := s.LogStats(nil).Refresh(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Days) != 1 || res.Days[0].Queries != 1 || res.Days[0].LLM != 0 {
		t.Errorf("log stats %+v, want 1 query, no LLM answer", res.Days)
	}
}
