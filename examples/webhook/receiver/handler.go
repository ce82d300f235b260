package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"moodfood/examples/webhook"
)

// maxBody caps a delivery's body.
const maxBody = 1 << 20

// seenCap bounds the remembered idempotency keys.
const seenCap = 4096

// handler checks and prints deliveries. It is safe for concurrent use.
type handler struct {
	secret  []byte // empty: deliveries are not checked
	maxSkew time.Duration
	out     io.Writer
	now     func() time.Time

	mu    sync.Mutex
	seen  map[string]bool
	order []string // keys in arrival order, to forget the oldest
}

// ServeHTTP handles one delivery.
func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	if len(h.secret) > 0 {
		if err := h.verify(req.Header, body); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Event == "" {
		http.Error(w, "not a delivery", http.StatusBadRequest)
		return
	}
	if key := req.Header.Get(webhook.HeaderIdempotency); key != "" && h.remember(key) {
		w.WriteHeader(http.StatusNoContent) // a retry of a delivery already printed
		return
	}
	h.mu.Lock()
	fmt.Fprintf(h.out, "%s %s %s\n", h.now().UTC().Format(time.RFC3339), p.Event, p.Text)
	h.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// verify checks every signature scheme the delivery carries: the
// X-Moodfood signature and the Standard Webhooks one. At least one must be
// there, and each one there must be right.
func (h *handler) verify(header http.Header, body []byte) error {
	own, std := header.Get(webhook.HeaderSignature) != "", header.Get(webhook.HeaderStdSignature) != ""
	if !own && !std {
		return webhook.ErrBadSignature
	}
	if own {
		if err := webhook.Verify(h.secret, header, body, h.now(), h.maxSkew); err != nil {
			return err
		}
	}
	if std {
		if err := webhook.VerifyStandard(h.secret, header, body, h.now(), h.maxSkew); err != nil {
			return fmt.Errorf("standard webhooks: %w", err)
		}
	}
	return nil
}

// remember records key and reports whether it was already seen.
func (h *handler) remember(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen[key] {
		return true
	}
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	h.seen[key] = true
	h.order = append(h.order, key)
	if len(h.order) > seenCap {
		delete(h.seen, h.order[0])
		h.order = h.order[1:]
	}
	return false
}
