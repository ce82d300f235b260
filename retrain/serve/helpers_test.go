package serve_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain/serve"
)

// memSource is an in-memory serve.Source.
type memSource struct {
	mu         sync.Mutex
	bodies     map[backup.Version][]byte
	metrics    map[backup.Version]map[string]float64 // manifest metrics
	cur        backup.Version
	gen        int
	deploys    []backup.Version
	deployErr  error
	currentErr error
}

func newMemSource() *memSource {
	return &memSource{bodies: map[backup.Version][]byte{}, metrics: map[backup.Version]map[string]float64{}}
}

func (m *memSource) put(v backup.Version, body string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.bodies[v] = []byte(body)
}

// deploy switches the current version as another process would.
func (m *memSource) deploy(v backup.Version) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cur = v
	m.gen++
}

func (m *memSource) Current(ctx context.Context) (backup.Version, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.currentErr != nil {
		return "", m.currentErr
	}
	if m.cur == "" {
		return "", backup.ErrNoCurrent
	}
	return m.cur, nil
}

func (m *memSource) Open(ctx context.Context, v backup.Version) (backup.Manifest, io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.bodies[v]
	if !ok {
		return backup.Manifest{}, nil, fmt.Errorf("%w: %s", backup.ErrNotFound, v)
	}
	return backup.Manifest{Version: v, RunID: "run_" + string(v), Metrics: m.metrics[v]}, io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memSource) Deploy(ctx context.Context, v backup.Version) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deployErr != nil {
		return m.deployErr
	}
	if _, ok := m.bodies[v]; !ok {
		return backup.ErrNotFound
	}
	m.cur = v
	m.gen++
	m.deploys = append(m.deploys, v)
	return nil
}

func (m *memSource) Stamp() (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur == "" {
		return "", backup.ErrNoCurrent
	}
	return strconv.Itoa(m.gen), nil
}

func (m *memSource) deployed() []backup.Version {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]backup.Version(nil), m.deploys...)
}

// fakeModel predicts from directives in the text: "c=0.4" sets the
// confidence, "r=0.3" the runner-up's probability, "l=x" the label, and
// "cB=0.1" the confidence of the model named B only; otherwise the label is
// the model's name, with confidence 0.9 and a runner-up at 0.05.
type fakeModel struct{ name string }

func (f fakeModel) Predict(text string) model.Prediction {
	c, r, label := 0.9, 0.05, f.name
	for _, w := range strings.Fields(text) {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "c":
			c, _ = strconv.ParseFloat(v, 64)
		case "r":
			r, _ = strconv.ParseFloat(v, 64)
		case "l":
			label = v
		case "c" + f.name:
			c, _ = strconv.ParseFloat(v, 64)
		}
	}
	return model.Prediction{
		Label:      label,
		Confidence: c,
		Ranked:     []model.Score{{Label: label, Prob: c}, {Label: "runner_up", Prob: r}},
		Labels:     []string{label},
	}
}

// fakeDecode reads "FAKE <name>" bodies.
func fakeDecode(r io.Reader) (model.Predictor, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	name, ok := strings.CutPrefix(string(b), "FAKE ")
	if !ok || name == "" {
		return nil, errors.New("not a fake model")
	}
	return fakeModel{name: name}, nil
}

// recLog records what the Server logs.
type recLog struct {
	mu       sync.Mutex
	queries  []dataset.Query
	feedback []dataset.Feedback
	err      error
}

func (l *recLog) Log(q dataset.Query) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries = append(l.queries, q)
	return l.err
}

func (l *recLog) Feedback(f dataset.Feedback) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.feedback = append(l.feedback, f)
	return l.err
}

func (l *recLog) last() dataset.Query {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queries[len(l.queries)-1]
}

// newTestServer returns a server over a memSource with versions "A" and
// "B" (models named alike) and "A" deployed, without a poll loop.
func newTestServer(t *testing.T, opts *serve.Options) (*serve.Server, *memSource) {
	t.Helper()
	src := newMemSource()
	src.put("A", "FAKE A")
	src.put("B", "FAKE B")
	src.put("C", "FAKE C")
	src.put("BAD", "garbage")
	src.deploy("A")
	var o serve.Options
	if opts != nil {
		o = *opts
	}
	if o.Decode == nil {
		o.Decode = fakeDecode
	}
	if o.PollInterval == 0 {
		o.PollInterval = -1
	}
	s, err := serve.Open(t.Context(), src, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, src
}

func classify(t *testing.T, s *serve.Server, text, session string) serve.Answer {
	t.Helper()
	a, err := s.Classify(t.Context(), serve.Request{Text: text, SessionID: session})
	if err != nil {
		t.Fatalf("Classify(%q): %v", text, err)
	}
	return a
}

// tinyData is a small two-label training set; labels are prefixed.
func tinyData(prefix string) []model.Example {
	var ex []model.Example
	for i, t := range []string{"i am so sad today", "feeling down and blue", "this is a gloomy rainy day",
		"really unhappy right now", "sad and lonely tonight", "heartbroken and tired"} {
		ex = append(ex, model.Example{Text: t + " " + strconv.Itoa(i), Labels: []string{prefix + "sad"}})
	}
	for i, t := range []string{"i am so happy today", "feeling great and sunny", "what a wonderful day",
		"really excited right now", "cheerful and bright tonight", "celebrating with friends"} {
		ex = append(ex, model.Example{Text: t + " " + strconv.Itoa(i), Labels: []string{prefix + "happy"}})
	}
	return ex
}

// trainTiny trains a small real model and returns its encoding.
func trainTiny(tb testing.TB, data []model.Example) []byte {
	tb.Helper()
	c, err := model.NewTrainer(&model.TrainerOptions{Seed: 1, Workers: 1}).Train(context.Background(), data, nil)
	if err != nil {
		tb.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.Encode(&b); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// The leaf types the Server is meant to run on satisfy its interfaces.
var (
	_ serve.Source      = (*backup.FileStore)(nil)
	_ serve.QueryLogger = (*dataset.Logger)(nil)
	_ serve.LLM         = (*serve.LabelLLM)(nil)
	_ serve.LLM         = serve.LLMFunc(nil)
)
