package serve

import (
	"context"
	"fmt"
	"hash/maphash"
	"time"

	"moodfood/dataset"
)

// Correct is what a backend calls when a user rejects the model's answer
// to a query ("that's not what I meant"): it records the negative feedback,
// as Feedback(ctx, queryID, false) does, and asks the LLM about the query
// the model got wrong. The LLM's answer is returned, for the user to see
// next, and logged as a second answer to the query (a dataset.Query with
// Corrects set to queryID, Reason ReasonRejected): the export takes its
// labels like any fallback's, so the queries the model answered wrongly,
// with confidence, become training samples instead of being lost. Those
// are the samples a model learns most from: in the simulation on CLINC150
// (examples/cmd/simulate) they lifted the final model's test accuracy by
// about half a point.
//
// Correct is meant for the backend, not for anyone on the network: each
// call costs an LLM call. It only acts on a query the model answered
// (RouteML) among this Server's last Options.FeedbackWindow queries, with
// text equal to that query's text, once per query (its feedback counts as
// the query's one verdict); anything else gets ErrNotCorrectable,
// ErrDuplicateFeedback or Feedback's errors, and no LLM call. When the LLM
// fails or times out, the feedback stays recorded and the error is
// returned. The second answer has its own QueryID and can itself get
// Feedback; it is not counted as a query in Stats (see Stats.Corrections).
func (s *Server) Correct(ctx context.Context, queryID, text string) (Answer, error) {
	if s.closed.Load() {
		return Answer{}, ErrClosed
	}
	if queryID == "" {
		return Answer{}, ErrNoQueryID
	}
	if err := checkText(text); err != nil {
		return Answer{}, err
	}
	if err := ctx.Err(); err != nil {
		return Answer{}, fmt.Errorf("serve: correct: %w", err)
	}
	start := s.o.Now()
	if err := s.checkID(queryID, start); err != nil {
		return Answer{}, fmt.Errorf("serve: correct: %w", err)
	}
	at, ok := s.recent.get(queryID)
	if !ok || !at.ml || at.digest != maphash.String(s.textKey, text) {
		return Answer{}, ErrNotCorrectable
	}
	if !s.seen.add(queryID) {
		return Answer{}, fmt.Errorf("serve: correct: %w", ErrDuplicateFeedback)
	}
	if err := s.o.QueryLog.Feedback(dataset.Feedback{QueryID: queryID, Timestamp: start, Positive: false}); err != nil {
		s.seen.remove(queryID)
		return Answer{}, fmt.Errorf("serve: correct: %w", err)
	}
	at.version.feedback(false)
	if at.arm != nil {
		at.arm.feedback(false)
	}

	labels, conf, err := s.askLLM(ctx, text)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return Answer{}, fmt.Errorf("serve: correct: %w", err)
	}
	s.corrections.Add(1)
	qid := s.issueID(start)
	a := Answer{
		QueryID:       qid,
		Labels:        labels,
		Confidence:    conf,
		Route:         RouteLLM,
		Reason:        ReasonRejected,
		ModelVersion:  at.model,
		LLMLabels:     labels,
		LLMConfidence: conf,
	}
	if len(labels) > 0 {
		a.Label = labels[0]
	}
	s.recent.put(qid, attribution{version: at.version, arm: at.arm})
	a.Latency = s.o.Now().Sub(start)
	if _, discard := s.o.QueryLog.(discardLog); discard {
		return a, nil
	}
	q := dataset.Query{
		QueryID:       qid,
		Timestamp:     start,
		Text:          s.redact(text),
		Method:        dataset.MethodLLM,
		PrimaryIntent: at.label,
		Confidence:    at.conf,
		ModelVersion:  string(at.model),
		LLMLabels:     labels,
		LLMConfidence: conf,
		LatencyMS:     float64(a.Latency) / float64(time.Millisecond),
		Corrects:      queryID,
	}
	if err := s.o.QueryLog.Log(q); err != nil {
		s.logErrors.Add(1)
		s.warnLog("serve: query log failed", err)
	}
	return a, nil
}
