package serve

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"moodfood/backup"
)

// shadow is a candidate predicting on all traffic without answering.
type shadow struct {
	model   *loaded
	started time.Time

	queries, disagreements, fallbacks      atomic.Int64
	compared, agreed, servingAgreed, hookP atomic.Int64
}

// ShadowStats compares a shadow model with the models that answered.
type ShadowStats struct {
	Version backup.Version `json:"version"`
	Started time.Time      `json:"started"`
	// Queries the shadow predicted on; Disagreements those where its top
	// label differs from the answering model's.
	Queries          int64   `json:"queries"`
	Disagreements    int64   `json:"disagreements"`
	DisagreementRate float64 `json:"disagreement_rate"`
	// Fallbacks is how many queries the shadow itself would have sent to
	// the LLM (same Threshold and Ambiguity).
	Fallbacks int64 `json:"fallbacks"`
	// On the Compared queries the LLM answered with labels, Agreed counts those where
	// the shadow's top label is among the LLM's labels, ServingAgreed those
	// where the answering model's is: the two agreement rates to compare.
	Compared      int64 `json:"compared"`
	Agreed        int64 `json:"agreed"`
	ServingAgreed int64 `json:"serving_agreed"`
	// HookPanics counts panics recovered from Options.OnDisagreement.
	HookPanics int64 `json:"hook_panics,omitempty"`
}

func (sh *shadow) snapshot() ShadowStats {
	st := ShadowStats{
		Version:       sh.model.version,
		Started:       sh.started,
		Queries:       sh.queries.Load(),
		Disagreements: sh.disagreements.Load(),
		Fallbacks:     sh.fallbacks.Load(),
		Compared:      sh.compared.Load(),
		Agreed:        sh.agreed.Load(),
		ServingAgreed: sh.servingAgreed.Load(),
		HookPanics:    sh.hookP.Load(),
	}
	st.DisagreementRate = ratio(st.Disagreements, st.Queries)
	return st
}

// Disagreement is one query on which the shadow model's top label differs
// from the answering model's, as passed to Options.OnDisagreement.
type Disagreement struct {
	QueryID   string    `json:"query_id"`
	Timestamp time.Time `json:"timestamp"`
	SessionID string    `json:"session_id,omitempty"`
	Text      string    `json:"text_input"`
	// Version, Label and Confidence are the answering model's prediction.
	Version    backup.Version `json:"model_version"`
	Label      string         `json:"primary_intent"`
	Confidence float64        `json:"confidence"`
	// Shadow* are the shadow model's prediction.
	ShadowVersion    backup.Version `json:"shadow_version"`
	ShadowLabel      string         `json:"shadow_intent"`
	ShadowConfidence float64        `json:"shadow_confidence"`
	// Route is how the query was answered; LLMLabels are the LLM's labels
	// when it answered.
	Route     Route    `json:"route"`
	LLMLabels []string `json:"llm_labels,omitempty"`
}

// StartShadow loads version v as a shadow model: it predicts on every query
// (synchronously: a query then costs two predictions) while the deployed
// model, or the canary, answers. Disagreements are counted in Stats and
// passed to Options.OnDisagreement. A new StartShadow replaces the running
// shadow. It returns ErrSameVersion for the deployed version and an error
// matching ErrRefused when v cannot be loaded.
func (s *Server) StartShadow(ctx context.Context, v backup.Version) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.loadCandidate(ctx, v)
	if err != nil {
		return fmt.Errorf("serve: start shadow: %w", err)
	}
	s.shadow.Store(&shadow{model: l, started: s.o.Now()})
	s.log.Info("serve: shadow started", "version", string(v))
	return nil
}

// StopShadow stops the shadow model and returns its final stats, or
// ErrNoShadow.
func (s *Server) StopShadow() (ShadowStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sh := s.shadow.Swap(nil)
	if sh == nil {
		return ShadowStats{}, ErrNoShadow
	}
	return sh.snapshot(), nil
}

// runShadow predicts with the shadow model and counts the comparison.
func (s *Server) runShadow(sh *shadow, req Request, a *Answer, compared bool) {
	sp := sh.model.pred.Predict(req.Text)
	sh.queries.Add(1)
	if FallbackReason(sp, s.threshold(sh.model), s.o.Ambiguity) != "" {
		sh.fallbacks.Add(1)
	}
	if compared {
		sh.compared.Add(1)
		if slices.Contains(a.LLMLabels, sp.Label) {
			sh.agreed.Add(1)
		}
		if slices.Contains(a.LLMLabels, a.ML.Label) {
			sh.servingAgreed.Add(1)
		}
	}
	if sp.Label == a.ML.Label {
		return
	}
	sh.disagreements.Add(1)
	hook := s.o.OnDisagreement
	if hook == nil {
		return
	}
	d := Disagreement{
		QueryID:          a.QueryID,
		Timestamp:        s.o.Now(),
		SessionID:        req.SessionID,
		Text:             s.redact(req.Text),
		Version:          a.ModelVersion,
		Label:            a.ML.Label,
		Confidence:       a.ML.Confidence,
		ShadowVersion:    sh.model.version,
		ShadowLabel:      sp.Label,
		ShadowConfidence: sp.Confidence,
		Route:            a.Route,
		LLMLabels:        a.LLMLabels,
	}
	defer func() {
		if recover() != nil {
			sh.hookP.Add(1)
		}
	}()
	hook(d)
}
