package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"moodfood/backup"
	"moodfood/retrain"
	"moodfood/retrain/serve"
)

// classifyRequest is the body of POST /classify. There is no query id: the
// server issues it (serve.Answer.QueryID).
type classifyRequest struct {
	Text      string `json:"text"`
	SessionID string `json:"session_id"`
}

// feedbackRequest is the body of POST /feedback.
type feedbackRequest struct {
	QueryID  string `json:"query_id"`
	Positive *bool  `json:"positive"`
}

// correctRequest is the body of POST /correct.
type correctRequest struct {
	QueryID string `json:"query_id"`
	Text    string `json:"text"`
}

// canaryRequest is the body of POST /canary.
type canaryRequest struct {
	Version  backup.Version `json:"version"`
	Fraction *float64       `json:"fraction"`
}

// rollbackRequest is the body of POST /rollback.
type rollbackRequest struct {
	Version backup.Version `json:"version"`
}

// newHandler routes the service's endpoints to s, and GET /metrics and GET
// /dashboard to obs when it is not nil. The control endpoints (canary,
// shadow, rollback) go through ops, which checks the operator's token and
// records every change; with a nil ops they answer 403.
func newHandler(s *serve.Server, ops *operators, maxBody int64, obs *observer) http.Handler {
	h := &handler{s: s, ops: ops, maxBody: maxBody}
	mux := http.NewServeMux()
	if obs != nil {
		mux.Handle("GET /metrics", obs.metrics)
		mux.HandleFunc("GET /dashboard", obs.dashboard)
	}
	mux.HandleFunc("POST /classify", h.classify)
	mux.HandleFunc("POST /feedback", h.feedback)
	mux.HandleFunc("POST /correct", h.correct)
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /status", h.status)
	mux.HandleFunc("POST /canary", ops.guard(h.canary))
	mux.HandleFunc("POST /canary/promote", ops.guard(h.promote))
	mux.HandleFunc("POST /canary/abort", ops.guard(h.abort))
	mux.HandleFunc("POST /shadow", ops.guard(h.startShadow))
	mux.HandleFunc("POST /shadow/stop", ops.guard(h.stopShadow))
	mux.HandleFunc("POST /rollback", ops.guard(h.rollback))
	return mux
}

type handler struct {
	s       *serve.Server
	ops     *operators
	maxBody int64
}

// control applies one operator action through the Retrainer, which records
// it in the history and notifies, and answers with out() or the error.
func (h *handler) control(w http.ResponseWriter, r *http.Request, c retrain.Control, apply func(context.Context) error, out func() any) {
	c.Actor = actor(r)
	if _, err := h.ops.r.Control(r.Context(), c, apply); err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out())
}

func (h *handler) classify(w http.ResponseWriter, r *http.Request) {
	var req classifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	a, err := h.s.Classify(r.Context(), serve.Request{Text: req.Text, SessionID: req.SessionID})
	if err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (h *handler) feedback(w http.ResponseWriter, r *http.Request) {
	var req feedbackRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.QueryID == "" || req.Positive == nil {
		writeError(w, http.StatusBadRequest, "query_id and positive are required")
		return
	}
	if err := h.s.Feedback(r.Context(), req.QueryID, *req.Positive); err != nil {
		writeServeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// correct is a user's "no, that's wrong" on an ML answer: the negative
// feedback and a second answer from the LLM (serve.Server.Correct).
func (h *handler) correct(w http.ResponseWriter, r *http.Request) {
	var req correctRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.QueryID == "" || req.Text == "" {
		writeError(w, http.StatusBadRequest, "query_id and text are required")
		return
	}
	a, err := h.s.Correct(r.Context(), req.QueryID, req.Text)
	if err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// healthz answers 200 {"status": "ok", "model_version": V} while a model
// serves, 200 {"status": "degraded", "model_version": V, "reason": ...} when
// it is an older version because the deployed one could not be loaded at
// start, and 503 {"status": "no_model"} before any model is loaded.
func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	st := h.s.Stats()
	switch {
	case st.Deployed == "":
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no_model"})
	case st.Degraded != "":
		writeJSON(w, http.StatusOK, map[string]string{"status": "degraded", "model_version": string(st.Deployed), "reason": st.Degraded})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "model_version": string(st.Deployed)})
	}
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, h.s.Stats())
}

func (h *handler) canary(w http.ResponseWriter, r *http.Request) {
	var req canaryRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Fraction == nil {
		writeError(w, http.StatusBadRequest, "fraction is required")
		return
	}
	c := retrain.Control{Action: retrain.ActionCanaryStart, Version: req.Version, Detail: fmt.Sprintf("fraction %g", *req.Fraction)}
	apply := func(ctx context.Context) error { return h.s.StartCanary(ctx, req.Version, *req.Fraction) }
	if req.Version == "" {
		c.Action, c.Version = retrain.ActionCanaryFraction, h.canaryVersion()
		apply = func(context.Context) error { return h.s.SetCanaryFraction(*req.Fraction) }
	}
	h.control(w, r, c, apply, func() any { return h.s.Stats().Canary })
}

func (h *handler) promote(w http.ResponseWriter, r *http.Request) {
	var st serve.CanaryStats
	c := retrain.Control{Action: retrain.ActionCanaryPromote, Version: h.canaryVersion()}
	h.control(w, r, c, func(ctx context.Context) (err error) { st, err = h.s.PromoteCanary(ctx); return err }, func() any { return st })
}

func (h *handler) abort(w http.ResponseWriter, r *http.Request) {
	var st serve.CanaryStats
	c := retrain.Control{Action: retrain.ActionCanaryAbort, Version: h.canaryVersion()}
	h.control(w, r, c, func(context.Context) (err error) { st, err = h.s.AbortCanary(); return err }, func() any { return st })
}

func (h *handler) startShadow(w http.ResponseWriter, r *http.Request) {
	var req canaryRequest
	if !h.decode(w, r, &req) {
		return
	}
	if req.Version == "" {
		writeError(w, http.StatusBadRequest, "version is required")
		return
	}
	c := retrain.Control{Action: retrain.ActionShadowStart, Version: req.Version}
	h.control(w, r, c, func(ctx context.Context) error { return h.s.StartShadow(ctx, req.Version) },
		func() any { return h.s.Stats().Shadow })
}

func (h *handler) stopShadow(w http.ResponseWriter, r *http.Request) {
	var st serve.ShadowStats
	c := retrain.Control{Action: retrain.ActionShadowStop, Version: h.shadowVersion()}
	h.control(w, r, c, func(context.Context) (err error) { st, err = h.s.StopShadow(); return err }, func() any { return st })
}

// canaryVersion is the running canary's version, or "".
func (h *handler) canaryVersion() backup.Version {
	if c := h.s.Stats().Canary; c != nil {
		return c.Version
	}
	return ""
}

// shadowVersion is the running shadow model's version, or "".
func (h *handler) shadowVersion() backup.Version {
	if sh := h.s.Stats().Shadow; sh != nil {
		return sh.Version
	}
	return ""
}

// rollback deploys an earlier version (the previous good one without a
// version) through the Retrainer, as `cronjob rollback` does, and serves it
// at once.
func (h *handler) rollback(w http.ResponseWriter, r *http.Request) {
	var req rollbackRequest
	if !h.decode(w, r, &req) {
		return
	}
	res, err := h.ops.r.RollbackAs(r.Context(), req.Version, actor(r))
	if err != nil {
		writeServeError(w, err)
		return
	}
	if err := h.s.Reload(r.Context()); err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// decode reads a body of at most maxBody bytes holding exactly one JSON
// object (nothing but white space after it) into v, answering 400 or 413
// itself when it cannot.
func (h *handler) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, h.maxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the JSON object")
			if _, ok := errors.AsType[*http.MaxBytesError](terr); ok {
				err = terr
			}
		}
	}
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			writeError(w, http.StatusRequestEntityTooLarge, "body too large")
			return false
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("bad JSON body: %v", err))
		return false
	}
	return true
}

// writeServeError maps the serve package's errors to HTTP statuses.
func writeServeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, serve.ErrNoModel), errors.Is(err, serve.ErrClosed):
		code = http.StatusServiceUnavailable
	case errors.Is(err, serve.ErrEmptyText), errors.Is(err, serve.ErrNoQueryID), errors.Is(err, serve.ErrFraction),
		errors.Is(err, backup.ErrInvalidName), errors.Is(err, serve.ErrTooLong):
		code = http.StatusBadRequest
	case errors.Is(err, serve.ErrNoCanary), errors.Is(err, serve.ErrNoShadow), errors.Is(err, backup.ErrNotFound),
		errors.Is(err, serve.ErrUnknownQuery), errors.Is(err, backup.ErrNoPrevious):
		code = http.StatusNotFound
	case errors.Is(err, serve.ErrFeedbackExpired):
		code = http.StatusGone
	case errors.Is(err, serve.ErrCanaryRunning), errors.Is(err, serve.ErrSameVersion), errors.Is(err, serve.ErrDuplicateFeedback),
		errors.Is(err, serve.ErrNotCorrectable),
		errors.Is(err, retrain.ErrBusy):
		code = http.StatusConflict
	case errors.Is(err, serve.ErrTextTooLong):
		code = http.StatusRequestEntityTooLarge
	case errors.Is(err, backup.ErrCorrupt):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, serve.ErrRefused):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	}
	writeError(w, code, err.Error())
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeJSON answers code with v as JSON. v is encoded before anything is
// written, so that a value the encoder refuses (a NaN from a custom model,
// say) is a 500 with a JSON error, never an empty 200.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		buf.Reset()
		code = http.StatusInternalServerError
		json.NewEncoder(&buf).Encode(map[string]string{"error": "encoding the response failed: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
