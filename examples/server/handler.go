package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"moodfood/backup"
	"moodfood/retrain/serve"
)

// classifyRequest is the body of POST /classify.
type classifyRequest struct {
	Text      string `json:"text"`
	SessionID string `json:"session_id"`
	QueryID   string `json:"query_id"`
}

// feedbackRequest is the body of POST /feedback.
type feedbackRequest struct {
	QueryID  string `json:"query_id"`
	Positive *bool  `json:"positive"`
}

// canaryRequest is the body of POST /canary.
type canaryRequest struct {
	Version  backup.Version `json:"version"`
	Fraction *float64       `json:"fraction"`
}

// newHandler routes the service's endpoints to s, and GET /metrics and GET
// /dashboard to obs when it is not nil.
func newHandler(s *serve.Server, maxBody int64, obs *observer) http.Handler {
	h := &handler{s: s, maxBody: maxBody}
	mux := http.NewServeMux()
	if obs != nil {
		mux.Handle("GET /metrics", obs.metrics)
		mux.HandleFunc("GET /dashboard", obs.dashboard)
	}
	mux.HandleFunc("POST /classify", h.classify)
	mux.HandleFunc("POST /feedback", h.feedback)
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /status", h.status)
	mux.HandleFunc("POST /canary", h.canary)
	mux.HandleFunc("POST /canary/promote", h.promote)
	mux.HandleFunc("POST /canary/abort", h.abort)
	mux.HandleFunc("POST /shadow", h.startShadow)
	mux.HandleFunc("POST /shadow/stop", h.stopShadow)
	return mux
}

type handler struct {
	s       *serve.Server
	maxBody int64
}

func (h *handler) classify(w http.ResponseWriter, r *http.Request) {
	var req classifyRequest
	if !h.decode(w, r, &req) {
		return
	}
	a, err := h.s.Classify(r.Context(), serve.Request{Text: req.Text, SessionID: req.SessionID, QueryID: req.QueryID})
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
	var err error
	if req.Version == "" {
		err = h.s.SetCanaryFraction(*req.Fraction)
	} else {
		err = h.s.StartCanary(r.Context(), req.Version, *req.Fraction)
	}
	if err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.s.Stats().Canary)
}

func (h *handler) promote(w http.ResponseWriter, r *http.Request) {
	st, err := h.s.PromoteCanary(r.Context())
	if err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *handler) abort(w http.ResponseWriter, r *http.Request) {
	st, err := h.s.AbortCanary()
	if err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
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
	if err := h.s.StartShadow(r.Context(), req.Version); err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, h.s.Stats().Shadow)
}

func (h *handler) stopShadow(w http.ResponseWriter, r *http.Request) {
	st, err := h.s.StopShadow()
	if err != nil {
		writeServeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
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
		errors.Is(err, backup.ErrInvalidName):
		code = http.StatusBadRequest
	case errors.Is(err, serve.ErrNoCanary), errors.Is(err, serve.ErrNoShadow), errors.Is(err, backup.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, serve.ErrCanaryRunning), errors.Is(err, serve.ErrSameVersion):
		code = http.StatusConflict
	case errors.Is(err, serve.ErrTextTooLong):
		code = http.StatusRequestEntityTooLarge
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
