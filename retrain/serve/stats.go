package serve

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"moodfood/backup"
)

// Counts are the outcome counters of one model version or one canary arm.
type Counts struct {
	// Queries answered, by route.
	Queries  int64 `json:"queries"`
	ML       int64 `json:"ml"`
	LLM      int64 `json:"llm"`
	Degraded int64 `json:"ml_degraded"`
	// Compared is the number of fallbacks the LLM answered with labels;
	// Agreed those whose model top label was among them (the live accuracy
	// proxy of dataset's signals and trigger.Signals.Agreement).
	Compared int64 `json:"compared"`
	Agreed   int64 `json:"agreed"`
	// Feedback received.
	Positive int64 `json:"positive"`
	Negative int64 `json:"negative"`
	// FallbackRate is (LLM+Degraded)/Queries, the share the model was
	// unsure of whether or not the LLM then answered (dataset's signals
	// count only LLM answers), and Agreement is Agreed/Compared (0 when
	// there is nothing to divide).
	FallbackRate float64 `json:"fallback_rate"`
	Agreement    float64 `json:"agreement"`
}

// VersionStats are the counts of one model version, over every time this
// Server served it (deployed or as a canary).
type VersionStats struct {
	Version backup.Version `json:"version"`
	Counts
}

// Refusal is a model version the Server refused to load.
type Refusal struct {
	Version backup.Version `json:"version"`
	Error   string         `json:"error"`
	// Permanent is false for failures that are retried (I/O errors).
	Permanent bool `json:"permanent"`
}

// Stats is a snapshot of what a Server did since it opened.
type Stats struct {
	// Deployed is the version serving (empty before the first load) and
	// DeployedSince when it started serving here.
	Deployed      backup.Version `json:"deployed"`
	DeployedSince time.Time      `json:"deployed_since,omitzero"`
	// Threshold is the routing threshold the deployed version answers
	// with (Options.Threshold, else the one its manifest carries, else
	// DefaultThreshold); 0 before the first load.
	Threshold float64 `json:"threshold,omitempty"`
	// Degraded is set when the version serving is not the store's deployed
	// one, because that one could not be loaded at Open (see Open); it says
	// why. It clears when a deployed version loads.
	Degraded string `json:"degraded,omitempty"`
	// Queries answered, all versions together.
	Queries int64 `json:"queries"`
	// Reloads counts swaps from one serving model to another (hot reloads,
	// promotions and rollbacks); Refused counts versions refused (each once).
	Reloads int64 `json:"reloads"`
	Refused int64 `json:"refused"`
	// RefusedVersions are the last refused versions (at most 100).
	RefusedVersions []Refusal `json:"refused_versions,omitempty"`
	// LLMErrors and LLMTimeouts count failed LLM calls (RouteDegraded).
	LLMErrors   int64 `json:"llm_errors"`
	LLMTimeouts int64 `json:"llm_timeouts"`
	// LogErrors counts queries the QueryLogger failed to log.
	LogErrors int64 `json:"log_errors"`
	// Canceled counts Classify calls whose context ended first.
	Canceled int64 `json:"canceled"`
	// UnattributedFeedback counts feedback for query ids not remembered.
	UnattributedFeedback int64 `json:"unattributed_feedback"`
	// Corrections counts rejected ML answers Correct asked the LLM about
	// (LLMErrors and LLMTimeouts include its failed calls).
	Corrections int64 `json:"corrections"`
	// Versions holds per-version counts, in version order.
	Versions []VersionStats `json:"versions"`
	// Latency is the distribution of Answer.Latency by route.
	Latency map[Route]Histogram `json:"latency"`
	// Canary, Shadow and Watchdog are set when one is running (for the
	// watchdog: once it has something to report).
	Canary   *CanaryStats    `json:"canary,omitempty"`
	Shadow   *ShadowStats    `json:"shadow,omitempty"`
	Watchdog *WatchdogReport `json:"watchdog,omitempty"`
}

// Stats returns a snapshot of the Server's counters. Counters updated by
// concurrent queries may be a few queries apart from each other.
func (s *Server) Stats() Stats {
	st := Stats{
		Queries:              s.queries.Load(),
		Reloads:              s.reloads.Load(),
		Refused:              s.nrefused.Load(),
		LLMErrors:            s.llmErrors.Load(),
		LLMTimeouts:          s.llmTimeouts.Load(),
		LogErrors:            s.logErrors.Load(),
		Canceled:             s.canceled.Load(),
		UnattributedFeedback: s.unattrib.Load(),
		Corrections:          s.corrections.Load(),
		Latency:              s.latency.snapshot(),
	}
	if cur := s.cur.Load(); cur != nil {
		st.Deployed, st.DeployedSince = cur.version, cur.since
		st.Threshold = s.threshold(cur)
	}
	if c := s.canary.Load(); c != nil {
		cs := c.snapshot()
		st.Canary = &cs
	}
	if sh := s.shadow.Load(); sh != nil {
		ss := sh.snapshot()
		st.Shadow = &ss
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.Degraded = s.degraded
	for v, c := range s.versions {
		st.Versions = append(st.Versions, VersionStats{Version: v, Counts: c.snapshot()})
	}
	slices.SortFunc(st.Versions, func(a, b VersionStats) int {
		switch {
		case a.Version < b.Version:
			return -1
		case a.Version > b.Version:
			return 1
		}
		return 0
	})
	for _, v := range s.order {
		if r, ok := s.refused[v]; ok {
			st.RefusedVersions = append(st.RefusedVersions, Refusal{Version: v, Error: r.err.Error(), Permanent: r.permanent})
		}
	}
	if s.report.State != "" {
		r := s.report
		st.Watchdog = &r
	}
	return st
}

// counters are the live form of Counts.
type counters struct {
	queries, ml, llm, degraded, compared, agreed, positive, negative atomic.Int64
}

func (c *counters) add(r Route, compared, agreed bool) {
	c.queries.Add(1)
	switch r {
	case RouteML:
		c.ml.Add(1)
	case RouteLLM:
		c.llm.Add(1)
	default:
		c.degraded.Add(1)
	}
	if compared {
		c.compared.Add(1)
		if agreed {
			c.agreed.Add(1)
		}
	}
}

func (c *counters) feedback(positive bool) {
	if positive {
		c.positive.Add(1)
	} else {
		c.negative.Add(1)
	}
}

func (c *counters) snapshot() Counts {
	n := Counts{
		Queries:  c.queries.Load(),
		ML:       c.ml.Load(),
		LLM:      c.llm.Load(),
		Degraded: c.degraded.Load(),
		Compared: c.compared.Load(),
		Agreed:   c.agreed.Load(),
		Positive: c.positive.Load(),
		Negative: c.negative.Load(),
	}
	n.FallbackRate = ratio(n.LLM+n.Degraded, n.Queries)
	n.Agreement = ratio(n.Agreed, n.Compared)
	return n
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// WindowStats summarizes a model's most recent queries while deployed: the
// watchdog compares them across a deploy.
type WindowStats struct {
	Queries      int     `json:"queries"`
	Fallbacks    int     `json:"fallbacks"`
	FallbackRate float64 `json:"fallback_rate"`
	// Compared is the number of fallbacks the LLM answered with labels and
	// Disagreements those whose model top label was not among them.
	Compared         int     `json:"compared"`
	Disagreements    int     `json:"disagreements"`
	DisagreementRate float64 `json:"disagreement_rate"`
}

// Outcome bits of a window slot.
const (
	outSet uint32 = 1 << iota
	outFallback
	outCompared
	outAgreed
)

// window is a lock-free ring of the last outcomes of a deployed model.
type window struct {
	n     atomic.Uint64
	slots []atomic.Uint32
}

func newWindow(size int) *window { return &window{slots: make([]atomic.Uint32, size)} }

func (w *window) add(fallback, compared, agreed bool) {
	o := outSet
	if fallback {
		o |= outFallback
	}
	if compared {
		o |= outCompared
		if agreed {
			o |= outAgreed
		}
	}
	i := w.n.Add(1) - 1
	w.slots[i%uint64(len(w.slots))].Store(o)
}

// summary counts the window's slots. Under concurrent adds it is
// approximate by the few queries in flight.
func (w *window) summary() WindowStats {
	var s WindowStats
	if w == nil {
		return s
	}
	for i := range w.slots {
		o := w.slots[i].Load()
		if o&outSet == 0 {
			continue
		}
		s.Queries++
		if o&outFallback != 0 {
			s.Fallbacks++
		}
		if o&outCompared != 0 {
			s.Compared++
			if o&outAgreed == 0 {
				s.Disagreements++
			}
		}
	}
	s.FallbackRate = float64(s.Fallbacks) / float64(max(s.Queries, 1))
	s.DisagreementRate = float64(s.Disagreements) / float64(max(s.Compared, 1))
	return s
}

// attribution is where feedback on a query is counted.
type attribution struct {
	version *counters
	arm     *counters // nil outside a canary
	// ml is set when the model answered (RouteML): only such a query can
	// be corrected (Correct). digest is a keyed hash of its text, label and
	// conf the model's answer, for the correction's log record.
	ml     bool
	digest uint64
	label  string
	conf   float64
	model  backup.Version
}

// recentQueries remembers the attribution of the last n query ids.
type recentQueries struct {
	mu   sync.Mutex
	m    map[string]attribution
	ring []string
	next int
}

func (r *recentQueries) init(n int) {
	r.m = make(map[string]attribution, n)
	r.ring = make([]string, n)
}

func (r *recentQueries) put(id string, a attribution) {
	r.mu.Lock()
	if old := r.ring[r.next]; old != "" {
		delete(r.m, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.m[id] = a
	r.mu.Unlock()
}

func (r *recentQueries) get(id string) (attribution, bool) {
	r.mu.Lock()
	a, ok := r.m[id]
	r.mu.Unlock()
	return a, ok
}
