package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/metrics"
	"moodfood/retrain/report"
	"moodfood/retrain/serve"
)

// observer serves GET /metrics (serving and retraining metrics, for
// Prometheus) and GET /dashboard (the report page). Both read one
// report.Loader, which caches the parsed history and reads only what the
// query log gained since the last request.
type observer struct {
	loader  *report.Loader
	metrics http.Handler
	log     *slog.Logger
	wg      sync.WaitGroup
}

// observeSource is where /metrics and /dashboard read, besides the
// serving stats: the root's files or the database.
type observeSource struct {
	history retrain.History
	models  report.ModelLister
	pending func(ctx context.Context) (int, error)
	// days is nil when the store keeps no per-day query counts.
	days func(ctx context.Context, since time.Time) ([]dataset.DayStats, error)
	// logStats is nil when the query log has no dataset.Logger counters.
	logStats func() dataset.LoggerStats
	title    string
}

// rootObserveSource reads the root's history, versions, pending count and
// query log (incrementally, with dataset.LogStats).
func rootObserveSource(root string, models *backup.FileStore, data *dataset.FileStore, qlog *dataset.Logger) observeSource {
	ls := data.LogStats(nil)
	return observeSource{
		history:  retrain.NewFileHistory(filepath.Join(root, "data", "logs", "retrain_history.jsonl")),
		models:   models,
		pending:  data.Pending,
		days:     ls.Days,
		logStats: qlog.Stats,
		title:    "moodfood " + root,
	}
}

// newObserver wires the loader and the registry.
func newObserver(src observeSource, srv *serve.Server, log *slog.Logger) (*observer, error) {
	l, err := report.NewLoader(report.LoaderConfig{
		History: src.history,
		Models:  src.models,
		Pending: src.pending,
		Days:    src.days,
		Serving: srv.Stats,
		Title:   src.title,
	})
	if err != nil {
		return nil, err
	}
	reg := metrics.NewRegistry()
	if err := metrics.RegisterServing(reg, metrics.ServingSource{Stats: srv.Stats, QueryLog: src.logStats}); err != nil {
		return nil, err
	}
	if err := metrics.RegisterRetrain(reg, l.Load); err != nil {
		return nil, err
	}
	return &observer{loader: l, metrics: metrics.Handler(reg), log: log}, nil
}

// warm reads everything once in the background, so that the first request
// does not pay for reading a large query log.
func (o *observer) warm(ctx context.Context) {
	o.wg.Go(func() {
		start := time.Now()
		if _, err := o.loader.Load(ctx); err != nil {
			o.log.Warn("dashboard warm-up failed", "err", err.Error())
			return
		}
		o.log.Info("dashboard data loaded", "seconds", time.Since(start).Seconds())
	})
}

// close waits for the warm-up and the loader's background work.
func (o *observer) close() {
	o.wg.Wait()
	o.loader.Close()
}

// dashboard answers GET /dashboard with the self-contained report page.
func (o *observer) dashboard(w http.ResponseWriter, r *http.Request) {
	d, err := o.loader.Load(r.Context())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	var buf bytes.Buffer
	if err := report.Page(&buf, d); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The page has no script and loads nothing: say so to the browser.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
	w.Write(buf.Bytes())
}
