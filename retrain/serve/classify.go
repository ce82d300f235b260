package serve

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
)

// Route says who answered a query.
type Route string

// The routes. They are also the classification_method logged for the query.
const (
	// RouteML: the model was sure enough and answered.
	RouteML Route = "ml"
	// RouteLLM: the model was unsure and the LLM answered.
	RouteLLM Route = "llm"
	// RouteDegraded: the model was unsure but the LLM failed, timed out or
	// is not configured, so the model answered anyway.
	RouteDegraded Route = "ml_degraded"
)

// Reasons a query left the ML route (Answer.Reason).
const (
	ReasonLowConfidence = "low_confidence"
	ReasonAmbiguous     = "ambiguous"
	// ReasonRejected: the user rejected the model's answer and Correct
	// asked the LLM instead.
	ReasonRejected = "rejected"
)

// Request is one query to classify.
type Request struct {
	// Text is the user's input.
	Text string
	// SessionID is the sticky key of the canary split (a session or a user
	// id), at most MaxSessionIDBytes. Without it the query id is used, so
	// the query lands in the canary with the canary's probability but not
	// stickily.
	SessionID string
}

// Answer is the result of Classify.
type Answer struct {
	// QueryID identifies the query in the log and in Feedback. The Server
	// issues it (signed with Options.QueryIDKey); clients cannot choose it.
	QueryID string `json:"query_id"`
	// Label is the answer's primary intent and Labels all its intents: the
	// model's prediction on RouteML and RouteDegraded, the LLM's labels on
	// RouteLLM (empty Label and Labels mean "no intent").
	Label  string   `json:"primary_intent"`
	Labels []string `json:"intents"`
	// Confidence is the model's confidence, or the LLM's on RouteLLM.
	Confidence float64 `json:"confidence"`
	Route      Route   `json:"route"`
	// Reason is why the query left the ML route (ReasonLowConfidence or
	// ReasonAmbiguous); empty on RouteML.
	Reason string `json:"reason,omitempty"`
	// LLMError says why the LLM did not answer on RouteDegraded.
	LLMError string `json:"llm_error,omitempty"`
	// ModelVersion is the version of the model that actually answered
	// (the canary's when Canary is set).
	ModelVersion backup.Version `json:"model_version"`
	// Canary is set when the query was in the canary arm.
	Canary bool `json:"canary,omitempty"`
	// ML is the model's prediction and Margin the gap between its top label
	// and the best label outside its predicted set (the runner-up for a
	// single-label model; Confidence when there is none).
	ML     model.Prediction `json:"ml"`
	Margin float64          `json:"margin"`
	// LLMLabels and LLMConfidence are the LLM's answer when it gave one.
	LLMLabels     []string `json:"llm_labels,omitempty"`
	LLMConfidence float64  `json:"llm_confidence,omitempty"`
	// Latency is the time Classify took (Options.Now based).
	Latency time.Duration `json:"latency_ns"`
}

// Margin returns the gap between p's top label and the best ranked label
// outside p's predicted set, or p.Confidence when there is none (see
// retrain.Margin). For a single-label prediction that is the margin to the
// runner-up, the quantity Rasa's ambiguity threshold tests.
func Margin(p model.Prediction) float64 { return retrain.Margin(p) }

// epsilon absorbs rounding in the routing comparisons, so that a margin of
// exactly 0.1 (0.5 against 0.4) passes an Ambiguity of 0.1.
const epsilon = 1e-9

// FallbackReason applies the routing rule to p: it returns "" when the
// model answers, ReasonLowConfidence when retrain.RoutingScore(p) (for a
// single-label prediction, p.Confidence) is below threshold
// and ReasonAmbiguous when Margin(p) is below ambiguity. Both comparisons
// allow a rounding epsilon of 1e-9, so a margin of exactly 0.1 (0.5 against
// 0.4) passes an ambiguity of 0.1; a negative threshold or ambiguity
// disables its check. Classify uses it with the answering version's
// threshold (see Options.Threshold) and Options.Ambiguity.
func FallbackReason(p model.Prediction, threshold, ambiguity float64) string {
	return fallbackReason(retrain.RoutingScore(p), Margin(p), threshold, ambiguity)
}

// fallbackReason is FallbackReason over an already computed margin, so that
// Classify computes Margin once per query.
func fallbackReason(confidence, margin, threshold, ambiguity float64) string {
	switch {
	case confidence < threshold-epsilon || math.IsNaN(confidence):
		return ReasonLowConfidence
	case margin < ambiguity-epsilon:
		return ReasonAmbiguous
	}
	return ""
}

// MaxTextBytes is the longest query text Classify accepts, in bytes. Intent
// queries are a sentence or two; the bound keeps every answered query small
// enough for the query log (a record of at most 64 KiB, even when every
// byte of the text needs a 6-byte JSON escape), so that no query is answered
// and then silently not logged.
const MaxTextBytes = 8 << 10

// checkText refuses a text the query log could not hold or that holds
// nothing to classify: no letter, digit, punctuation or symbol, only
// spaces and invisible format characters such as U+200B.
func checkText(text string) error {
	if len(text) > MaxTextBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTextTooLong, len(text), MaxTextBytes)
	}
	if !strings.ContainsFunc(text, func(r rune) bool {
		return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
	}) {
		return ErrEmptyText
	}
	return nil
}

// Classify answers one query. The deployed model (or, for a query in the
// canary arm, the canary) predicts; when its routing score is below the
// version's threshold (see Options.Threshold) or its margin below
// Options.Ambiguity the LLM is asked
// with Options.LLMTimeout. An LLM error or timeout does not fail the query:
// the model's prediction is returned with RouteDegraded and the error in
// Answer.LLMError, and counted in Stats. A shadow model, if any, predicts
// too. Every answered query is counted and logged through the QueryLogger;
// a logging failure is counted and logged (rate-limited), never returned.
//
// Classify returns ErrClosed after Close, ErrEmptyText for a Request.Text
// with nothing visible in it, ErrTextTooLong for one over MaxTextBytes
// (both refused before the model or the LLM sees them, neither counted nor
// logged), ErrNoModel while no model is
// loaded, and ctx's error when ctx is done before the query is answered
// (the query is then neither counted nor logged).
func (s *Server) Classify(ctx context.Context, req Request) (Answer, error) {
	if s.closed.Load() {
		return Answer{}, ErrClosed
	}
	if err := checkText(req.Text); err != nil {
		return Answer{}, err
	}
	if len(req.SessionID) > MaxSessionIDBytes {
		return Answer{}, fmt.Errorf("%w: session id of %d bytes (at most %d)", ErrTooLong, len(req.SessionID), MaxSessionIDBytes)
	}
	if err := ctx.Err(); err != nil {
		s.canceled.Add(1)
		return Answer{}, fmt.Errorf("serve: classify: %w", err)
	}
	start := s.o.Now()
	cur := s.cur.Load()
	if cur == nil {
		return Answer{}, ErrNoModel
	}
	qid := s.issueID(start)
	m, arm := cur, (*counters)(nil)
	can := s.canary.Load()
	if can != nil {
		key := req.SessionID
		if key == "" {
			key = qid
		}
		if inBP(key, can.bp.Load()) {
			m, arm = can.model, &can.canaryArm
		} else {
			arm = &can.controlArm
		}
	}

	p := m.pred.Predict(req.Text)
	a := Answer{
		QueryID:      qid,
		Label:        p.Label,
		Labels:       p.Labels,
		Confidence:   p.Confidence,
		Route:        RouteML,
		ModelVersion: m.version,
		Canary:       m != cur,
		ML:           p,
	}
	a.Margin = Margin(p)
	a.Reason = fallbackReason(retrain.RoutingScore(p), a.Margin, s.threshold(m), s.o.Ambiguity)
	compared, agreed := false, false
	if a.Reason != "" {
		labels, conf, err := s.askLLM(ctx, req.Text)
		switch {
		case ctx.Err() != nil:
			s.canceled.Add(1)
			return Answer{}, fmt.Errorf("serve: classify: %w", ctx.Err())
		case err != nil:
			a.Route, a.LLMError = RouteDegraded, err.Error()
		default:
			a.Route = RouteLLM
			a.Label, a.Labels, a.Confidence = "", labels, conf
			if len(labels) > 0 {
				a.Label = labels[0]
			}
			a.LLMLabels, a.LLMConfidence = labels, conf
			// As in dataset's signals: agreement is measured on fallbacks
			// with LLM labels; a "no intent" answer is not compared.
			compared = len(labels) > 0
			agreed = compared && slices.Contains(labels, p.Label)
		}
	}

	if sh := s.shadow.Load(); sh != nil {
		s.runShadow(sh, req, &a, compared)
	}

	// Count.
	s.queries.Add(1)
	m.stats.add(a.Route, compared, agreed)
	if arm != nil {
		arm.add(a.Route, compared, agreed)
	}
	if m == cur {
		m.win.add(a.Route != RouteML, compared, agreed)
	}
	at := attribution{version: m.stats, arm: arm}
	if a.Route == RouteML {
		at.ml, at.digest, at.label, at.conf, at.model = true, maphash.String(s.textKey, req.Text), p.Label, p.Confidence, m.version
	}
	s.recent.put(qid, at)

	// Log.
	end := s.o.Now()
	a.Latency = end.Sub(start)
	s.latency.observe(a.Route, a.Latency)
	if _, discard := s.o.QueryLog.(discardLog); discard {
		return a, nil // no QueryLog: skip building the record
	}
	q := dataset.Query{
		QueryID:       qid,
		Timestamp:     start,
		SessionID:     req.SessionID,
		Text:          s.redact(req.Text),
		Method:        dataset.Method(a.Route),
		PrimaryIntent: p.Label,
		Confidence:    p.Confidence,
		AllIntents:    intentScores(p.Ranked),
		ModelVersion:  string(m.version),
		LLMLabels:     a.LLMLabels,
		LLMConfidence: a.LLMConfidence,
		LatencyMS:     float64(a.Latency) / float64(time.Millisecond),
	}
	if err := s.o.QueryLog.Log(q); err != nil {
		s.logErrors.Add(1)
		s.warnLog("serve: query log failed", err)
	}
	return a, nil
}

// askLLM asks the LLM with the configured timeout. A result that arrives
// after the deadline counts as a timeout: after ctx's own deadline once ctx
// reports it, and after LLMTimeout as measured by Options.Now, so that a
// Server on a simulated clock times calls out on that clock too (the
// context's timer, on the real clock, only stops an LLM that listens).
func (s *Server) askLLM(ctx context.Context, text string) (labels []string, conf float64, err error) {
	if s.o.LLM == nil {
		return nil, 0, errors.New("no LLM configured")
	}
	start := s.o.Now()
	lctx, cancel := context.WithTimeout(ctx, s.o.LLMTimeout)
	defer cancel()
	func() {
		defer func() {
			if v := recover(); v != nil {
				labels, conf, err = nil, 0, fmt.Errorf("LLM panicked: %v", v)
			}
		}()
		labels, conf, err = s.o.LLM.Label(lctx, text)
	}()
	// An answer after the deadline is a timeout, even when the deadline's
	// timer has not fired yet (under load lctx.Err() lags behind it).
	if err == nil {
		if err = lctx.Err(); err == nil && s.o.Now().Sub(start) >= s.o.LLMTimeout {
			err = context.DeadlineExceeded
		}
	}
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			s.llmTimeouts.Add(1)
			return nil, 0, fmt.Errorf("LLM timed out after %s", s.o.LLMTimeout)
		}
		s.llmErrors.Add(1)
		return nil, 0, err
	}
	if math.IsNaN(conf) || conf < 0 {
		conf = 0
	} else if conf > 1 {
		conf = 1
	}
	if labels == nil {
		labels = []string{}
	}
	return slices.Clone(labels), conf, nil
}

// intentScores converts ranked scores to the query log's form.
func intentScores(r []model.Score) []dataset.IntentScore {
	if len(r) == 0 {
		return nil
	}
	out := make([]dataset.IntentScore, len(r))
	for i, sc := range r {
		out[i] = dataset.IntentScore{Intent: sc.Label, Score: sc.Prob}
	}
	return out
}

// warnLog logs a query-log failure at most once a minute of Options.Now.
func (s *Server) warnLog(msg string, err error) {
	now := s.o.Now().UnixNano()
	last := s.logWarnAt.Load()
	if last != 0 && now-last < int64(time.Minute) || !s.logWarnAt.CompareAndSwap(last, now) {
		return
	}
	s.log.Warn(msg, "err", err.Error(), "failures", s.logErrors.Load())
}

// Feedback records a user's verdict on a served query: it is logged through
// the QueryLogger (a dataset.Feedback record, joined to its query by the
// export) and counted for the version and canary arm that answered, when
// queryID is among the last Options.FeedbackWindow queries of this Server.
//
// Only the asker can give feedback, once: queryID must be an id a Server
// with this Options.QueryIDKey issued (ErrUnknownQuery otherwise: a made-up
// id is neither logged nor counted), at most Options.FeedbackTTL ago
// (ErrFeedbackExpired), that got no feedback yet (ErrDuplicateFeedback;
// the last 10×FeedbackWindow ids with feedback are remembered). Feedback on
// a valid id this Server does not remember (another replica served it, or
// it is older than FeedbackWindow queries) is logged and counted in
// Stats.UnattributedFeedback.
//
// Feedback returns ErrNoQueryID for an empty id, ErrTooLong for one over
// MaxQueryIDBytes, ErrClosed after Close, and the QueryLogger's error,
// wrapped.
func (s *Server) Feedback(ctx context.Context, queryID string, positive bool) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if queryID == "" {
		return ErrNoQueryID
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("serve: feedback: %w", err)
	}
	now := s.o.Now()
	if err := s.checkID(queryID, now); err != nil {
		return fmt.Errorf("serve: feedback: %w", err)
	}
	if !s.seen.add(queryID) {
		return fmt.Errorf("serve: feedback: %w", ErrDuplicateFeedback)
	}
	if at, ok := s.recent.get(queryID); ok {
		at.version.feedback(positive)
		if at.arm != nil {
			at.arm.feedback(positive)
		}
	} else {
		s.unattrib.Add(1)
	}
	err := s.o.QueryLog.Feedback(dataset.Feedback{QueryID: queryID, Timestamp: now, Positive: positive})
	if err != nil {
		s.seen.remove(queryID)
		return fmt.Errorf("serve: feedback: %w", err)
	}
	return nil
}
