package dataset_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"moodfood/dataset"
)

// TestLogStats: per-day counts of queries, fallbacks, agreement and
// feedback (at log time and later, on the query's day and route), read
// incrementally: a second Refresh reads only the new lines, also across a
// rotation, and a partial last line waits for its newline.
func TestLogStats(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, nil)
	day1, day2 := t0, t0.Add(24*time.Hour)
	yes, no := true, false
	ml := func(id string, at time.Time, pos *bool) dataset.Query {
		return dataset.Query{QueryID: id, Timestamp: at, Text: "t " + id, Method: dataset.MethodML,
			PrimaryIntent: "a", Confidence: 0.9, Positive: pos}
	}
	llm := func(id string, at time.Time, agree bool) dataset.Query {
		q := llmQuery(id, "t "+id, "goal_comfort")
		q.Timestamp = at
		if !agree {
			q.LLMLabels = []string{"other"}
		}
		return q
	}
	logAll(t, s, ml("q1", day1, &yes), ml("q2", day1, nil), llm("q3", day1, true), llm("q4", day1, false),
		ml("q5", day2, nil))
	l, err := s.Logger()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []dataset.Feedback{{QueryID: "q2", Timestamp: day2, Positive: false}, {QueryID: "q3", Timestamp: day2, Positive: true},
		{QueryID: "unknown", Timestamp: day2, Positive: true}} {
		if err := l.Feedback(f); err != nil {
			t.Fatal(err)
		}
	}
	l.Flush(ctx)

	st := s.LogStats(nil)
	res, err := st.Refresh(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Days) != 2 || res.Damaged != 0 {
		t.Fatalf("Refresh = %+v, want 2 days, none damaged", res)
	}
	d1 := res.Days[0]
	want := dataset.DayStats{Day: day1.Truncate(24 * time.Hour), Queries: 4, LLM: 2, Compared: 2, Agreed: 1,
		Feedback: 3, Positive: 2, MLFeedback: 2, MLPositive: 1}
	if d1 != want {
		t.Errorf("day 1 = %+v, want %+v", d1, want)
	}
	if d1.FallbackRate() != 0.5 || d1.MLPrecision() != 0.5 {
		t.Errorf("day 1 rates: fallback %v, ML precision %v", d1.FallbackRate(), d1.MLPrecision())
	}
	if res.Days[1].Queries != 1 || res.Days[1].Feedback != 0 {
		t.Errorf("day 2 = %+v", res.Days[1])
	}
	lines := res.Lines

	// Incremental: only the new query is read; then a rotation.
	logAll(t, s, ml("q6", day2, &no))
	res, _ = st.Refresh(ctx, day2)
	if res.Lines != lines+1 || len(res.Days) != 1 || res.Days[0].Queries != 2 || res.Days[0].MLFeedback != 1 {
		t.Fatalf("after one more query: lines %d (was %d), days %+v", res.Lines, lines, res.Days)
	}
	if ok, err := l.Rotate(time.Now(), true); !ok || err != nil {
		t.Fatalf("rotate: %v %v", ok, err)
	}
	logAll(t, s, ml("q7", day2, nil))
	res, _ = st.Refresh(ctx, day2)
	if res.Days[0].Queries != 3 {
		t.Fatalf("after a rotation: day 2 = %+v, want 3 queries", res.Days[0])
	}
	// A partial line is not counted until it is complete.
	f, err := os.OpenFile(l.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf(`{"schema":1,"type":"query","query_id":"q8","timestamp":"%s","classification_method":"ml","text_input":"x","confidence":0.5}`,
		day2.Format(dataset.TimeFormat))
	f.WriteString(line[:20])
	res, _ = st.Refresh(ctx, day2)
	if res.Days[0].Queries != 3 || res.Damaged != 0 {
		t.Fatalf("a partial line was counted: %+v", res)
	}
	f.WriteString(line[20:] + "\n{torn\n")
	f.Close()
	res, _ = st.Refresh(ctx, day2)
	if res.Days[0].Queries != 4 || res.Damaged != 1 {
		t.Fatalf("after completing the line and a damaged one: %+v, want 4 queries and 1 damaged", res)
	}
}
