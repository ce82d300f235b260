// Command server is a small HTTP service around moodfood's serving helper
// (package retrain/serve): it answers intent queries with the model deployed
// under a root directory (docs/ARCHITECTURE.md §2), falls back to an LLM when the model
// is unsure, logs every query to ROOT/data/logs/query_logs.jsonl for the
// retraining loop, and picks up new deploys without a restart.
//
// Usage:
//
//	server -root DIR | -database-url URL [-cache-dir DIR] [-addr 127.0.0.1:8080] [-llm-labels FILE.jsonl]
//	       [-llm-noise 0] [-llm-seed 1] [-llm-timeout 2s]
//	       [-threshold T] [-ambiguity 0.1] [-poll 50ms]
//	       [-watchdog] [-watchdog-min-queries 200] [-watchdog-margin 0.1]
//	       [-operator-token-file FILE] [-query-id-key FILE] [-retention 720h] [-redact]
//
// Many replicas: with -database-url URL (or MOODFOOD_DATABASE_URL) the
// server serves from a PostgreSQL database (package retrain/pgstore)
// instead of a root: it logs every query there through a bounded buffer,
// learns of deploys by LISTEN/NOTIFY (polling every second as the
// fallback), and caches the models it serves in -cache-dir so that it
// starts and keeps serving while the database is down. Any number of
// servers can share one database; cronjob run --database-url retrains
// from all their traffic.
//
// The LLM is an offline fake (serve.LabelLLM): it answers from a labelled
// JSONL file ({"text": ..., "labels": [...]} per line) by exact lookup of the
// normalized text, and with "no intent" otherwise. Without -llm-labels there
// is no fallback and unsure queries are answered by the model (route
// "ml_degraded"). The demo's base set makes a reasonable teacher:
//
//	go run ./examples/server -root run/demo -llm-labels examples/demo/data/intent_dataset.jsonl
//	curl -s localhost:8080/classify -d '{"text": "rainy day, feeling low", "session_id": "u1"}'
//
// Endpoints (JSON in and out):
//
//	POST /classify        {"text": "...", "session_id": "..."} -> serve.Answer
//	POST /feedback        {"query_id": "...", "positive": true} -> 204
//	POST /correct         {"query_id": "...", "text": "..."} -> serve.Answer: the user
//	                      rejects the model's answer; the LLM answers instead
//	GET  /healthz         200 {"status":"ok","model_version":...}, 503 without a model
//	GET  /status          serving stats and the deployed version (serve.Stats)
//
// Query ids are issued by the server (serve.Answer.query_id), signed with
// the key in -query-id-key (default ROOT/data/query_id.key, created on first
// start; replicas share it). /feedback accepts an id this server issued,
// within 24 h, once: 404 for an id it did not issue, 410 after the window,
// 409 for a second verdict, 400 for a session id over 256 bytes or a query
// id over 128. /correct counts as the query's verdict (negative) and asks
// the LLM at most once per query, only for a query the model answered
// (route "ml") among this server's recent ones and with the query's own
// text; 409 otherwise.
//
// Control endpoints (operators only):
//
//	POST /canary          {"version": "...", "fraction": 0.1} starts a canary, or
//	                      {"fraction": 0.5} changes the running one's fraction
//	POST /canary/promote  deploys the canary;  POST /canary/abort drops it
//	POST /shadow          {"version": "..."} starts a shadow model
//	POST /shadow/stop     stops it
//	POST /rollback        {"version": "..."} deploys that version, {} the previous good one
//
// They need "Authorization: Bearer TOKEN" with the operator token read from
// -operator-token-file or $MOODFOOD_OPERATOR_TOKEN (at least 16 bytes,
// compared in constant time); without a token configured they answer 403,
// with a wrong one 401. Every change is written to
// ROOT/data/logs/retrain_history.jsonl with who (the X-Operator header and
// the client address), what and when, and logged as an event like a deploy.
//
// Read-only endpoints:
//
//	GET  /metrics         Prometheus metrics: serving (requests, latency, LLM calls,
//	                      feedback, reloads, query-log drops, canary and shadow arms)
//	                      and retraining (runs, last run and deploy, scores, samples)
//	GET  /dashboard       the report page: charts of every run, the data, the live
//	                      fallback rate, per-intent F1, calibration, versions, canary
//
// /metrics and /dashboard are read-only and unauthenticated, like /status:
// bind the server to a private address or put it behind your proxy's auth.
// Both are cheap on big roots: the parsed history is cached until a new run
// is recorded and only what the query log gained is read per request (the
// first read of a large log happens in the background at start).
//
// Shadow disagreements are appended to ROOT/data/logs/shadow_disagreements.jsonl
// and kept for -retention (30 days; older lines are deleted at start and
// daily); the query log keeps rotated segments 30 days. -redact masks e-mail
// addresses and phone numbers in the text written to either.
// The watchdog (on by default) rolls a bad deploy back and logs a
// model.rolled_back event on stderr.
//
// SIGINT or SIGTERM shuts the service down gracefully: it stops accepting
// connections, waits up to 10 s for requests in flight, stops the reload
// loop and flushes the query log. The exit code is 0 after a clean
// shutdown, 1 on a failure and 2 on a usage error. Local filesystems only;
// NFS is unsupported.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/serve"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// config is what the flags say.
type config struct {
	root, addr, llmLabels string
	databaseURL, cacheDir string
	llmNoise              float64
	llmSeed               uint64
	llmTimeout, poll      time.Duration
	threshold, ambiguity  float64
	watchdog              bool
	watchMinQueries       int
	watchMargin           float64
	shutdownTimeout       time.Duration
	tokenFile, keyFile    string
	retention             time.Duration
	redact                func(string) string
	maxBody               int64
	announce              func(addr string) // called once listening
}

// run parses args, serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg.announce = func(addr string) { fmt.Fprintf(stderr, "listening on http://%s\n", addr) }
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	serveFn := serveRoot
	if cfg.databaseURL != "" {
		serveFn = serveDatabase
	}
	if err := serveFn(ctx, cfg, log); err != nil {
		log.Error("server failed", "err", err.Error())
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.root, "root", "", "root directory (ROOT/models, ROOT/data); required unless -database-url")
	fs.StringVar(&c.databaseURL, "database-url", "", "PostgreSQL URL: serve from this database instead of a root\n(default $MOODFOOD_DATABASE_URL; prefer the variable, since a process's arguments are public)")
	fs.StringVar(&c.cacheDir, "cache-dir", "", "with -database-url: where to cache the models served, to start and serve while\nthe database is down (default the user cache directory's moodfood-models)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.StringVar(&c.llmLabels, "llm-labels", "", "JSONL file of labelled texts the fake LLM answers from")
	fs.Float64Var(&c.llmNoise, "llm-noise", 0, "share of fake-LLM answers made wrong on purpose")
	fs.Uint64Var(&c.llmSeed, "llm-seed", 1, "seed of the fake LLM's noise")
	fs.DurationVar(&c.llmTimeout, "llm-timeout", serve.DefaultLLMTimeout, "LLM call timeout")
	fs.Float64Var(&c.threshold, "threshold", 0, "confidence below which the LLM is asked, for every version (0: never; above 1: always);\nunset, each version routes with the threshold it earned when it was trained")
	fs.Float64Var(&c.ambiguity, "ambiguity", serve.DefaultAmbiguity, "top-2 margin below which the LLM is asked (0: never)")
	fs.DurationVar(&c.poll, "poll", serve.DefaultPollInterval, "how often to check for a new deploy")
	fs.BoolVar(&c.watchdog, "watchdog", true, "roll back a deploy whose fallback or disagreement rate is worse")
	fs.IntVar(&c.watchMinQueries, "watchdog-min-queries", 200, "queries before the watchdog judges a deploy")
	fs.Float64Var(&c.watchMargin, "watchdog-margin", 0.10, "how much worse a rate may get before a rollback")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 10*time.Second, "grace period for requests in flight")
	fs.StringVar(&c.tokenFile, "operator-token-file", "", "file holding the operator token of the control endpoints (default $"+tokenEnv+"; none: control is off)")
	fs.DurationVar(&c.retention, "retention", 30*24*time.Hour, "how long shadow disagreements (user text) are kept (0: forever)")
	redact := fs.Bool("redact", false, "mask e-mail addresses and phone numbers in logged query text")
	fs.StringVar(&c.keyFile, "query-id-key", "", "file holding the key query ids are signed with (default ROOT/data/query_id.key, created if missing)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *redact {
		c.redact = redactContacts
	}
	if c.databaseURL == "" {
		c.databaseURL = os.Getenv("MOODFOOD_DATABASE_URL")
	}
	if (c.root == "") == (c.databaseURL == "") || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: server -root DIR | -database-url URL [-addr 127.0.0.1:8080] [-llm-labels FILE.jsonl] (see -h)")
		return c, errors.New("usage")
	}
	thresholdSet := false
	fs.Visit(func(f *flag.Flag) { thresholdSet = thresholdSet || f.Name == "threshold" })
	if thresholdSet && c.threshold == 0 { // an explicit 0 means "no threshold"; unset means each version's own
		c.threshold = -1
	}
	if c.ambiguity == 0 {
		c.ambiguity = -1
	}
	c.maxBody = 1 << 20
	return c, nil
}

// serveRoot opens everything under cfg.root, serves HTTP until ctx is done
// and shuts down in order: HTTP, serving loop, logs, stores.
func serveRoot(ctx context.Context, cfg config, log *slog.Logger) (err error) {
	root, err := filepath.Abs(cfg.root)
	if err != nil {
		return err
	}
	models, err := backup.OpenFileStore(filepath.Join(root, "models"), &backup.FileStoreOptions{Logger: log})
	if err != nil {
		return err
	}
	defer models.Close()
	data, err := dataset.OpenFileStore(root, nil)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := data.Close(); cerr != nil && err == nil { // flushes the query log
			err = cerr
		}
	}()
	qlog, err := data.Logger()
	if err != nil {
		return err
	}
	shadowPath := filepath.Join(root, "data", "logs", "shadow_disagreements.jsonl")
	return serveWith(ctx, cfg, log, root, models, qlog, shadowPath, rootObserveSource(root, models, data, qlog))
}

// serveWith serves HTTP with the model source and query log until ctx is
// done, then shuts down in order: HTTP, serving loop, shadow log.
//
// root is the root directory, or "" when serving from a database: then the
// query-id key comes from -query-id-key only (a random one per process
// without it) and the control endpoints are off.
func serveWith(ctx context.Context, cfg config, log *slog.Logger, root string, models serve.Source, qlog serve.QueryLogger, shadowPath string, obsSrc observeSource) error {
	shadow, pruned, err := openShadowLog(shadowPath, cfg.retention, time.Now())
	if err != nil {
		return err
	}
	defer shadow.close()
	if pruned > 0 {
		log.Info("retention deleted old shadow disagreements", "lines", pruned)
	}
	go func() { // daily retention while serving
		t := time.NewTicker(24 * time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if n, err := shadow.prune(now); err != nil {
					log.Warn("shadow log retention failed", "err", err.Error())
				} else if n > 0 {
					log.Info("retention deleted old shadow disagreements", "lines", n)
				}
			}
		}
	}()

	key, err := queryIDKey(root, cfg.keyFile)
	if err != nil {
		return err
	}
	token, err := readToken(cfg.tokenFile)
	if err != nil {
		return err
	}
	notifier := retrain.NotifierFunc(func(_ context.Context, e retrain.Event) error {
		log.Warn("event", "type", e.Type, "summary", e.Record.Summary(), "reason", e.Record.Reason)
		return nil
	})
	var ops *operators
	switch {
	case token != "" && root == "":
		log.Warn("control endpoints are off with -database-url: use cronjob rollback against the database")
	case token != "":
		rt, err := retrain.Open(root, &retrain.Options{Notifier: notifier, Logger: log})
		if err != nil {
			return err
		}
		defer rt.Close()
		ops = &operators{sum: sha256.Sum256([]byte(token)), r: rt}
	default:
		log.Info("control endpoints are off: no operator token (-operator-token-file or " + tokenEnv + ")")
	}
	opts := &serve.Options{
		QueryIDKey:   key,
		QueryLog:     qlog,
		LLMTimeout:   cfg.llmTimeout,
		Threshold:    cfg.threshold,
		Ambiguity:    cfg.ambiguity,
		PollInterval: cfg.poll,
		Logger:       log,
		Notifier:     notifier,
		Redact:       cfg.redact,
		OnDisagreement: func(d serve.Disagreement) {
			b, err := json.Marshal(d)
			if err == nil {
				err = shadow.append(b)
			}
			if err != nil {
				log.Warn("shadow log failed", "err", err.Error())
			}
		},
	}
	if cfg.llmLabels != "" {
		llm, skipped, err := readLabels(cfg.llmLabels, cfg.llmNoise, cfg.llmSeed)
		if err != nil {
			return err
		}
		log.Info("fake LLM loaded", "file", cfg.llmLabels, "texts", llm.Len(), "skipped_lines", skipped)
		opts.LLM = llm
	}
	if cfg.watchdog {
		opts.Watchdog = &serve.WatchdogOptions{MinQueries: cfg.watchMinQueries,
			FallbackMargin: cfg.watchMargin, DisagreementMargin: cfg.watchMargin}
	}
	srv, err := serve.Open(ctx, models, opts)
	if err != nil {
		return err
	}
	defer srv.Close()
	if v := srv.Stats().Deployed; v != "" {
		log.Info("serving", "version", string(v))
	} else {
		log.Warn("no model deployed yet; /classify answers 503 until one is")
	}

	obs, err := newObserver(obsSrc, srv, log)
	if err != nil {
		return err
	}
	defer obs.close()
	obs.warm(ctx)

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           newHandler(srv, ops, cfg.maxBody, obs),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.announce != nil {
		cfg.announce(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func readLabels(path string, noise float64, seed uint64) (*serve.LabelLLM, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	return serve.ReadLabelLLM(f, &serve.LabelLLMOptions{NoiseRate: noise, Seed: seed})
}
