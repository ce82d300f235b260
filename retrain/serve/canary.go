package serve

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"moodfood/backup"
)

// buckets is the resolution of the canary split: a fraction is applied in
// steps of 1/10000.
const buckets = 10000

// InCanary reports whether key falls in a canary that takes fraction of the
// traffic: the FNV-1a 64-bit hash of key, modulo 10000, is below
// fraction×10000 (rounded). A key in the canary at fraction f stays in it at
// every f' ≥ f, so raising the fraction only adds keys.
func InCanary(key string, fraction float64) bool {
	return inBP(key, basisPoints(fraction))
}

func basisPoints(f float64) uint32 {
	switch {
	case !(f > 0): // also NaN
		return 0
	case f >= 1:
		return buckets
	}
	return uint32(math.Round(f * buckets))
}

func inBP(key string, bp uint32) bool {
	if bp == 0 {
		return false
	}
	// FNV-1a, inlined so that the string is not copied.
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return uint32(h%buckets) < bp
}

// canary is a candidate answering a share of the traffic.
type canary struct {
	model      *loaded
	control    backup.Version // deployed when the canary started
	bp         atomic.Uint32
	started    time.Time
	canaryArm  counters
	controlArm counters
}

// CanaryStats compares the two arms of a canary. Control counts the queries
// outside the canary since it started, whatever version answered them.
type CanaryStats struct {
	Version backup.Version `json:"version"`
	// ControlVersion was deployed when the canary started.
	ControlVersion backup.Version `json:"control_version"`
	Fraction       float64        `json:"fraction"`
	Started        time.Time      `json:"started"`
	Canary         Counts         `json:"canary"`
	Control        Counts         `json:"control"`
}

func (c *canary) snapshot() CanaryStats {
	return CanaryStats{
		Version:        c.model.version,
		ControlVersion: c.control,
		Fraction:       float64(c.bp.Load()) / buckets,
		Started:        c.started,
		Canary:         c.canaryArm.snapshot(),
		Control:        c.controlArm.snapshot(),
	}
}

// StartCanary loads version v and lets it answer fraction of the traffic,
// chosen by the sticky hash of Request.SessionID (see InCanary). Per-arm
// counts start at zero. It returns ErrFraction for a fraction outside
// [0, 1], ErrCanaryRunning while another canary runs, ErrSameVersion for the
// deployed version, and an error matching ErrRefused when v cannot be
// loaded.
func (s *Server) StartCanary(ctx context.Context, v backup.Version, fraction float64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !(fraction >= 0 && fraction <= 1) {
		return fmt.Errorf("%w: %v", ErrFraction, fraction)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.canary.Load() != nil {
		return ErrCanaryRunning
	}
	l, err := s.loadCandidate(ctx, v)
	if err != nil {
		return fmt.Errorf("serve: start canary: %w", err)
	}
	c := &canary{model: l, started: s.o.Now()}
	if cur := s.cur.Load(); cur != nil {
		c.control = cur.version
	}
	c.bp.Store(basisPoints(fraction))
	s.canary.Store(c)
	s.log.Info("serve: canary started", "version", string(v), "fraction", fraction)
	return nil
}

// SetCanaryFraction changes the share of traffic the canary answers. Keys
// already in the canary stay in it when the fraction rises. It returns
// ErrNoCanary when none runs and ErrFraction for a fraction outside [0, 1].
func (s *Server) SetCanaryFraction(fraction float64) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if !(fraction >= 0 && fraction <= 1) {
		return fmt.Errorf("%w: %v", ErrFraction, fraction)
	}
	c := s.canary.Load()
	if c == nil {
		return ErrNoCanary
	}
	c.bp.Store(basisPoints(fraction))
	return nil
}

// PromoteCanary deploys the canary's version through the store and serves
// it to all traffic at once (the watchdog, if enabled, then watches it as
// any other deploy). It returns the canary's final stats; ErrNoCanary when
// none runs; or the store's error, wrapped, in which case the canary keeps
// running.
func (s *Server) PromoteCanary(ctx context.Context) (CanaryStats, error) {
	if s.closed.Load() {
		return CanaryStats{}, ErrClosed
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.canary.Load()
	if c == nil {
		return CanaryStats{}, ErrNoCanary
	}
	if err := s.src.Deploy(ctx, c.model.version); err != nil {
		return c.snapshot(), fmt.Errorf("serve: promote canary: %w", err)
	}
	st := c.snapshot()
	s.install(&loaded{version: c.model.version, manifest: c.model.manifest, pred: c.model.pred}, true)
	s.canary.Store(nil)
	s.log.Info("serve: canary promoted", "version", string(st.Version))
	return st, nil
}

// AbortCanary stops the canary: all traffic goes to the deployed model
// again. It returns the canary's final stats, or ErrNoCanary.
func (s *Server) AbortCanary() (CanaryStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.canary.Swap(nil)
	if c == nil {
		return CanaryStats{}, ErrNoCanary
	}
	s.log.Info("serve: canary aborted", "version", string(c.model.version))
	return c.snapshot(), nil
}
