package serve

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"moodfood/backup"
	"moodfood/model"
	"moodfood/retrain"
)

// Server serves the deployed model of a Source: it classifies queries,
// routes unsure ones to an LLM, logs every query, hot-reloads new deploys,
// runs canaries and shadow models and watches new deploys.
//
// A Server is safe for concurrent use by multiple goroutines. Classify and
// Feedback never block on a reload: the model is held behind an atomic
// pointer and swapped whole, so each query is answered by exactly one fully
// loaded model. Reload, the canary and shadow methods and CheckWatchdog are
// serialized with each other.
type Server struct {
	src Source
	o   Options
	log *slog.Logger
	win int // outcome window size

	cur    atomic.Pointer[loaded]
	canary atomic.Pointer[canary]
	shadow atomic.Pointer[shadow]

	mu       sync.Mutex // serializes reloads, canary, shadow and watchdog changes
	versions map[backup.Version]*counters
	refused  map[backup.Version]*refusal
	order    []backup.Version // refused versions, in order
	stamp    string           // last Stamp that was fully handled
	haveSt   bool
	retry    bool // the last reload failed transiently: retry at next poll
	report   WatchdogReport
	lastWarn time.Time // last transient-failure warning
	degraded string    // why the serving version is not the deployed one; "" when it is

	reloads     atomic.Int64
	nrefused    atomic.Int64
	queries     atomic.Int64
	llmErrors   atomic.Int64
	llmTimeouts atomic.Int64
	logErrors   atomic.Int64
	canceled    atomic.Int64
	unattrib    atomic.Int64
	corrections atomic.Int64
	logWarnAt   atomic.Int64 // Options.Now in unix nanos at the last query-log warning; 0 = none yet

	recent  recentQueries
	seen    seenIDs
	textKey maphash.Seed // keys attribution.digest
	latency routeLatency

	closed    atomic.Bool
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// loaded is one model as it serves: deployed, canary or shadow.
type loaded struct {
	version  backup.Version
	manifest backup.Manifest
	pred     model.Predictor
	// threshold is the routing threshold the version earned (its
	// manifest's retrain.MetricRoutingThreshold), 0 when it has none.
	threshold float64
	since     time.Time
	stats     *counters // per version, shared by every load of the version
	win       *window   // outcomes while deployed (this load only)

	// Watchdog state, guarded by Server.mu.
	prev     *loaded     // the model this one replaced (without its own prev)
	baseline WindowStats // prev's last window when this one was installed
	watch    bool        // the watchdog has yet to judge this deploy
}

// refusal is a version that could not be loaded.
type refusal struct {
	err       error
	permanent bool
}

// Open returns a Server for src, loading the deployed version first. When
// nothing is deployed yet (backup.ErrNoCurrent) the Server starts without a
// model: Classify returns ErrNoModel until a deploy is picked up. When the
// deployed version cannot be loaded (corrupt, missing, not decodable) and
// src is a RollbackTargeter (backup.FileStore is), the Server starts
// serving the version src names as the rollback target (the newest older
// version that verifies), and reports itself degraded (Stats.Degraded)
// until a loadable version is deployed; the store's pointer is not changed.
// Any other failure to load the deployed version is returned (wrapping
// ErrRefused for a version that cannot be loaded). ctx bounds that first load only. Unless
// Options.PollInterval is negative, Open starts one goroutine that polls
// src.Stamp and runs the watchdog; Close stops it.
func Open(ctx context.Context, src Source, opts *Options) (*Server, error) {
	if src == nil {
		return nil, errors.New("serve: open: nil Source")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	o.setDefaults()
	s := &Server{
		src:      src,
		o:        o,
		log:      o.Logger,
		win:      1000,
		versions: make(map[backup.Version]*counters),
		refused:  make(map[backup.Version]*refusal),
	}
	if o.Watchdog != nil {
		s.win = o.Watchdog.Window
	}
	s.recent.init(o.FeedbackWindow)
	s.seen.init(10 * o.FeedbackWindow)
	s.textKey = maphash.MakeSeed()
	if err := s.Reload(ctx); err != nil && !errors.Is(err, backup.ErrNoCurrent) {
		if !errors.Is(err, ErrRefused) || !s.fallBack(ctx, err) {
			return nil, err
		}
	}
	if o.PollInterval > 0 {
		lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.cancel = cancel
		s.done = make(chan struct{})
		go s.loop(lctx)
	}
	return s, nil
}

// RollbackTargeter is an optional interface of a Source: the version to
// serve when the deployed one cannot be loaded. *backup.FileStore
// implements it (the newest version older than the deployed one that passes
// Verify).
type RollbackTargeter interface {
	RollbackTarget(ctx context.Context) (backup.Version, error)
}

// fallBack loads and serves the source's rollback target after the
// deployed version was refused at Open (refusal), and reports whether it
// could.
func (s *Server) fallBack(ctx context.Context, refusal error) bool {
	rt, ok := s.src.(RollbackTargeter)
	if !ok {
		return false
	}
	v, err := rt.RollbackTarget(ctx)
	if err != nil {
		s.log.Warn("serve: no intact older version to serve instead", "err", err.Error())
		return false
	}
	l, err := s.load(ctx, v)
	if err != nil {
		s.log.Warn("serve: the older version cannot be loaded either", "version", string(v), "err", err.Error())
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.install(l, false)
	s.degraded = fmt.Sprintf("the deployed version cannot be loaded (%v); serving %s, the newest intact older version", refusal, v)
	s.log.Error("serve: degraded: serving an older version", "serving", string(v), "err", refusal.Error())
	return true
}

// Close stops the poll loop and waits for it to return. It does not wait
// for Classify calls in flight and does not close the QueryLogger, which the
// caller owns: stop the traffic first (http.Server.Shutdown), then Close the
// Server, then close the logger. After Close, Classify, Feedback, Reload,
// CheckWatchdog, StartCanary, SetCanaryFraction, PromoteCanary and
// StartShadow return ErrClosed; Stats, AbortCanary and StopShadow keep
// working so that final numbers can be read. Close is idempotent and
// always returns nil.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		if s.cancel != nil {
			s.cancel()
			<-s.done
		}
	})
	return nil
}

// loop polls the source until ctx is canceled.
func (s *Server) loop(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.o.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.mu.Lock()
		s.reloadLocked(ctx, false) // failures are logged and counted there
		s.mu.Unlock()
		if s.o.Watchdog != nil {
			if _, err := s.CheckWatchdog(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("serve: watchdog failed", "err", err.Error())
			}
		}
	}
}

// Reload checks the source now and loads the deployed version if it is not
// the one serving. It returns nil when the serving model is the deployed one
// (already, or after a successful load); an error matching
// backup.ErrNoCurrent when nothing is deployed (the serving model, if any,
// keeps serving); and an error matching ErrRefused when the deployed version
// cannot be loaded (then the old model keeps serving). A refused version is
// counted and logged once, and not loaded again unless the failure looked
// transient (neither corruption nor a missing version nor a decode error).
func (s *Server) Reload(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked(ctx, true)
}

// reloadLocked does Reload with s.mu held. Unless force is set it returns
// at once when the stamp did not change since the last complete check.
func (s *Server) reloadLocked(ctx context.Context, force bool) error {
	stamp, serr := s.src.Stamp()
	if !force && serr == nil && s.haveSt && stamp == s.stamp && !s.retry {
		return nil
	}
	done := func() { // this stamp is fully handled
		s.stamp, s.haveSt, s.retry = stamp, serr == nil, false
	}
	v, err := s.src.Current(ctx)
	if err != nil {
		if errors.Is(err, backup.ErrNoCurrent) {
			done()
		} else {
			s.retry = true
			s.warnTransient("serve: reading the deployed version failed", err)
		}
		return fmt.Errorf("serve: reload: %w", err)
	}
	if cur := s.cur.Load(); cur != nil && cur.version == v {
		done()
		return nil
	}
	if r, ok := s.refused[v]; ok && (r.permanent || !force && !s.retry) {
		done()
		return fmt.Errorf("%w: %s: %w", ErrRefused, v, r.err)
	}
	l, err := s.load(ctx, v)
	if err != nil {
		if ctx.Err() != nil {
			s.retry = true
			return fmt.Errorf("serve: reload: %w", ctx.Err())
		}
		s.refuse(v, err)
		if s.refused[v].permanent {
			done()
		} else {
			s.retry = true
		}
		return fmt.Errorf("%w: %s: %w", ErrRefused, v, err)
	}
	delete(s.refused, v)
	s.install(l, true)
	done()
	return nil
}

// refuse records that v could not be loaded, counting and logging it the
// first time only.
func (s *Server) refuse(v backup.Version, err error) {
	permanent := isPermanent(err)
	if r, ok := s.refused[v]; ok {
		r.err, r.permanent = err, permanent
		return
	}
	s.refused[v] = &refusal{err: err, permanent: permanent}
	s.order = append(s.order, v)
	if len(s.order) > 100 { // keep the list short; the count stays exact
		delete(s.refused, s.order[0])
		s.order = s.order[1:]
	}
	s.nrefused.Add(1)
	serving := backup.Version("")
	if cur := s.cur.Load(); cur != nil {
		serving = cur.version
	}
	s.log.Warn("serve: refused model version; the old one keeps serving",
		"version", string(v), "serving", string(serving), "err", err.Error())
}

// isPermanent reports whether a load failure will recur on retry: the
// version is corrupt, missing, badly named or does not decode.
func isPermanent(err error) bool {
	var de *decodeError
	return errors.As(err, &de) || errors.Is(err, backup.ErrCorrupt) ||
		errors.Is(err, backup.ErrNotFound) || errors.Is(err, backup.ErrInvalidName)
}

// decodeError marks a failure of the Decoder.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return "decode: " + e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

// warnTransient logs a transient failure at most once a minute of
// Options.Now. The caller holds s.mu.
func (s *Server) warnTransient(msg string, err error) {
	now := s.o.Now()
	if now.Sub(s.lastWarn) < time.Minute {
		return
	}
	s.lastWarn = now
	s.log.Warn(msg, "err", err.Error())
}

// load opens and decodes version v. The whole body is read, so that a
// checksum verified at EOF is verified even when the decoder stops early.
func (s *Server) load(ctx context.Context, v backup.Version) (*loaded, error) {
	m, rc, err := s.src.Open(ctx, v)
	if err != nil {
		return nil, err
	}
	pred, derr := s.decode(rc)
	_, cerr := io.Copy(io.Discard, rc)
	clerr := rc.Close()
	if cerr != nil || clerr != nil { // the store's verdict comes first
		return nil, errors.Join(cerr, clerr, derr)
	}
	if derr != nil {
		return nil, &decodeError{derr}
	}
	return &loaded{version: v, manifest: m, pred: pred, threshold: earnedThreshold(m)}, nil
}

// earnedThreshold is the routing threshold a manifest carries, or 0 when it
// carries none that makes sense.
func earnedThreshold(m backup.Manifest) float64 {
	t, ok := m.Metrics[retrain.MetricRoutingThreshold]
	if !ok || !(t > 0 && t <= 1) {
		return 0
	}
	return t
}

// threshold is the routing threshold l answers with: Options.Threshold
// when set, else the one l earned, else DefaultThreshold.
func (s *Server) threshold(l *loaded) float64 {
	switch {
	case s.o.Threshold != 0:
		return s.o.Threshold
	case l.threshold > 0:
		return l.threshold
	}
	return DefaultThreshold
}

// decode runs the Decoder, turning a panic or a nil predictor into an error.
func (s *Server) decode(r io.Reader) (p model.Predictor, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("decoder panicked: %v", v)
		}
	}()
	p, err = s.o.Decode(r)
	if err == nil && p == nil {
		err = errors.New("decoder returned no model")
	}
	return p, err
}

// install makes l the deployed model. watch says whether the watchdog
// should judge it. s.mu must be held.
func (s *Server) install(l *loaded, watch bool) {
	old := s.cur.Load()
	l.since = s.o.Now()
	l.stats = s.countersFor(l.version)
	l.win = newWindow(s.win)
	if old != nil {
		l.prev = &loaded{version: old.version, manifest: old.manifest, pred: old.pred, stats: old.stats}
		l.baseline = old.win.summary()
		l.watch = watch && s.o.Watchdog != nil
		s.reloads.Add(1)
	}
	s.cur.Store(l)
	s.degraded = "" // fallBack sets it again after installing its version
	if c := s.canary.Load(); c != nil && c.model.version == l.version {
		s.canary.Store(nil) // deployed by someone else: the canary is over
		s.log.Info("serve: canary version deployed; canary ended", "version", string(l.version))
	}
	if sh := s.shadow.Load(); sh != nil && sh.model.version == l.version {
		s.shadow.Store(nil)
		s.log.Info("serve: shadow version deployed; shadow ended", "version", string(l.version))
	}
	from := backup.Version("")
	if old != nil {
		from = old.version
	}
	s.log.Info("serve: model loaded", "version", string(l.version), "previous", string(from))
}

// countersFor returns the per-version counters of v. s.mu must be held.
func (s *Server) countersFor(v backup.Version) *counters {
	c, ok := s.versions[v]
	if !ok {
		c = new(counters)
		s.versions[v] = c
	}
	return c
}

// loadCandidate loads v as a canary or shadow model. s.mu must be held.
func (s *Server) loadCandidate(ctx context.Context, v backup.Version) (*loaded, error) {
	if cur := s.cur.Load(); cur != nil && cur.version == v {
		return nil, fmt.Errorf("%w: %s", ErrSameVersion, v)
	}
	l, err := s.load(ctx, v)
	if err != nil {
		if ctx.Err() == nil {
			err = fmt.Errorf("%w: %s: %w", ErrRefused, v, err)
		}
		return nil, err
	}
	l.since = s.o.Now()
	l.stats = s.countersFor(v)
	return l, nil
}
