package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"moodfood/dataset"
	"moodfood/model"
)

// fakeLLM is the simulated teacher behind the serving fallback: it knows the
// true labels of every text of the corpus and answers them, except that with
// probability noise it answers a wrong label set, chosen uniformly among the
// other label sets of the corpus (for single-label data: the other labels). Both choices are hashes of (seed, text), so the same text always
// gets the same answer (a deterministic teacher at temperature 0) and the
// run is reproducible whatever the call order.
//
// It reports a constant confidence (llmConfidence): a real teacher's wrong
// answers do not announce themselves, so the simulation gives the pipeline
// no confidence signal to filter them with. Every call advances the
// simulated clock by latency, which is how LLM fallbacks show up in the
// serving latency. A fakeLLM is safe for concurrent use.
type fakeLLM struct {
	truth   map[string][]string // dataset.Normalize(text) -> labels
	sets    [][]string          // the corpus's distinct label sets, sorted by key
	index   map[string]int      // setKey -> position in sets
	noise   float64
	seed    uint64
	latency time.Duration
	clock   *simClock

	calls atomic.Int64 // answered calls
	wrong atomic.Int64 // answers that were deliberately wrong
}

// llmConfidence is the confidence the fake LLM reports with every answer:
// above dataset.ExportPolicy's default MinLLMConfidence (0.7), so the
// default export policy keeps its labels, and uninformative about noise.
const llmConfidence = 0.9

// errUnknownText is returned by the fake LLM for a text outside the corpus.
var errUnknownText = errors.New("fake llm: text not in the corpus")

// newFakeLLM returns a teacher for every text of data.
func newFakeLLM(c Corpus, noise float64, seed uint64, latency time.Duration, clock *simClock) *fakeLLM {
	l := &fakeLLM{truth: map[string][]string{}, noise: noise, seed: seed, latency: latency, clock: clock}
	for _, data := range [][]model.Example{c.Train, c.Val, c.Test} {
		for _, e := range data {
			l.truth[dataset.Normalize(e.Text)] = e.Labels
		}
	}
	l.index = map[string]int{}
	for _, e := range c.Train {
		if _, ok := l.index[setKey(e.Labels)]; !ok {
			l.index[setKey(e.Labels)] = 0
			l.sets = append(l.sets, slices.Clone(e.Labels))
		}
	}
	slices.SortFunc(l.sets, func(a, b []string) int { return strings.Compare(setKey(a), setKey(b)) })
	for i, set := range l.sets {
		l.index[setKey(set)] = i
	}
	return l
}

// Label answers text's label (see fakeLLM). It implements serve.LLM.
func (l *fakeLLM) Label(ctx context.Context, text string) ([]string, float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	l.clock.Advance(l.latency)
	truth, ok := l.truth[dataset.Normalize(text)]
	if !ok {
		return nil, 0, fmt.Errorf("%w: %q", errUnknownText, text)
	}
	l.calls.Add(1)
	if n := len(l.sets); n > 1 && hash01(l.seed, "llm-noise", text) < l.noise {
		// A wrong label set: one of the n-1 others, uniformly.
		k := int(hash01(l.seed, "llm-wrong", text) * float64(n-1))
		k = min(k, n-2)
		i := l.index[setKey(truth)]
		l.wrong.Add(1)
		return slices.Clone(l.sets[(i+1+k)%n]), llmConfidence, nil
	}
	return slices.Clone(truth), llmConfidence, nil
}

// simClock is the simulation's clock, shared by the retrainer, the dataset
// store, the query logger, the model store and the server. The simulation
// sets it to each query's arrival time with Start; from there it runs at
// real speed (so Answer.Latency measures the real compute of Classify) plus
// whatever Advance adds (the fake LLM's simulated latency). For the
// month-end runs it is stopped at the month's end with Freeze, so a run
// takes no simulated time and the next one comes exactly 30 days later, as
// the trigger's max-age rule expects of a monthly cron job. It is safe for
// concurrent use.
type simClock struct {
	mu      sync.Mutex
	base    time.Time // simulated time at anchor
	anchor  time.Time // real time when base was set
	running bool
}

// newSimClock returns a clock stopped at t.
func newSimClock(t time.Time) *simClock {
	return &simClock{base: t, anchor: time.Now()}
}

// Now is the simulated time: the last Start or Freeze value, plus the real
// time elapsed since Start while running, plus every Advance since.
func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return c.base
	}
	return c.base.Add(time.Since(c.anchor))
}

// Start makes the clock read t now and run.
func (c *simClock) Start(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.anchor, c.running = t, time.Now(), true
}

// Freeze stops the clock at t.
func (c *simClock) Freeze(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.running = t, false
}

// Advance moves the clock forward by d of simulated time.
func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
}
