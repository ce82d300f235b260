package retrain_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain"
	"moodfood/trigger"
)

// Compile-time checks that the leaves' types satisfy the retrain interfaces.
var (
	_ retrain.ModelStore   = (*backup.MemStore)(nil)
	_ retrain.ModelStore   = (*backup.FileStore)(nil)
	_ retrain.DatasetStore = (*memData)(nil)
	_ retrain.Trainer      = (*fakeTrainer)(nil)
)

// memData is a DatasetStore over fixed samples: everything in New is new
// until Commit.
type memData struct {
	mu        sync.Mutex
	base, new []dataset.Sample
	golden    []dataset.Sample
	committed int
	commits   int
}

func (d *memData) Snapshot(ctx context.Context) (dataset.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return dataset.Snapshot{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.committed = min(d.committed, len(d.new))
	return dataset.Snapshot{
		Base:   d.base,
		Old:    d.new[:d.committed],
		New:    d.new[d.committed:],
		Golden: d.golden,
		Mark:   dataset.Mark{Count: len(d.new)},
	}, nil
}

func (d *memData) Commit(ctx context.Context, m dataset.Mark) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.commits++
	if m.Count > d.committed {
		d.committed = m.Count
	}
	return nil
}

func (d *memData) Pending(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return max(0, len(d.new)-d.committed), nil
}

// samples makes n samples per label whose text starts with the label:
// "happy 3 ...". A firstWord classifier gets them all right.
func samples(n int, src dataset.Source, labels ...string) []dataset.Sample {
	var out []dataset.Sample
	for _, l := range labels {
		for i := range n {
			// The hex token spreads the texts over the hash split.
			h := sha256.Sum256(fmt.Appendf(nil, "%s/%s/%d", l, src, i))
			out = append(out, dataset.Sample{Text: fmt.Sprintf("%s %x %s sample %d", l, h[:4], src, i), Labels: []string{l}, Source: src})
		}
	}
	return out
}

// ruleClassifier predicts by a rule named by Mode:
//   - "first": the first word of the text (perfect on samples());
//   - "const:L": always L;
//   - "nan": "first" with a NaN confidence;
//   - "worse:K": "first", except wrong on texts whose sample number is
//     divisible by K;
//   - "surewrong:K" and "unsurewrong:K": "worse:K" with its wrong answers
//     at confidence 0.99 and its right ones at 0.6, or the wrong ones at
//     0.2 and the right ones at 0.9 (same answers, opposite rankings).
//
// Known lists the labels it reports through Labels (retrain.Labeler).
type ruleClassifier struct {
	Mode  string   `json:"mode"`
	Known []string `json:"known,omitempty"`
	// Serial numbers the Train calls, so that every candidate encodes to
	// different bytes (a run never finds its candidate byte-identical to
	// the deployed version, which it would not store; see
	// TestRun_ForcedRunWithNoNewDataStoresNoDuplicate for that case).
	Serial int64 `json:"serial,omitempty"`
	// EncodePanic makes Encode panic after writing a few bytes.
	EncodePanic bool `json:"-"`
}

func (c *ruleClassifier) Predict(text string) model.Prediction {
	first, _, _ := strings.Cut(text, " ")
	label, conf := first, 0.9
	switch {
	case strings.HasPrefix(c.Mode, "const:"):
		label = strings.TrimPrefix(c.Mode, "const:")
	case c.Mode == "nan":
		conf = nanValue()
	case strings.HasPrefix(c.Mode, "worse:"), strings.HasPrefix(c.Mode, "surewrong:"), strings.HasPrefix(c.Mode, "unsurewrong:"):
		var k, n int
		kind, arg, _ := strings.Cut(c.Mode, ":")
		fmt.Sscan(arg, &k)
		f := strings.Fields(text)
		fmt.Sscan(f[len(f)-1], &n)
		wrong := n%k == 0
		if wrong {
			label = "wrong"
		}
		switch {
		case kind == "surewrong" && wrong:
			conf = 0.99
		case kind == "surewrong":
			conf = 0.6
		case kind == "unsurewrong" && wrong:
			conf = 0.2
		}
	}
	return model.Prediction{Label: label, Confidence: conf, Labels: []string{label}}
}

func nanValue() float64 { var z float64; return z / z }

func (c *ruleClassifier) Labels() []string { return c.Known }

func (c *ruleClassifier) Encode(w io.Writer) error {
	if c.EncodePanic {
		io.WriteString(w, `{"mode":`)
		panic("encoder exploded")
	}
	return json.NewEncoder(w).Encode(c)
}

// trainSerial numbers the fake trainings (ruleClassifier.Serial).
var trainSerial atomic.Int64

// fakeTrainer builds a ruleClassifier with Mode, knowing the labels of its
// training data. Block, if set, makes Train wait for it (or ctx). Panic and
// Err make Train fail. DecodeAs overrides the decoded mode (a model that
// does not survive the round trip).
type fakeTrainer struct {
	Mode     string
	Block    chan struct{}
	Started  chan struct{}
	Panic    bool
	Err      error
	DecodeAs string
	Drop     string // a label the candidate does not know
	// EncodePanic gives a candidate whose Encode panics.
	EncodePanic bool
	Sleep       time.Duration
	// WaitFile makes Train wait (polling) until the file exists, or ctx.
	WaitFile string
	calls    int
}

func (t *fakeTrainer) Train(ctx context.Context, data []model.Example, progress func(model.Progress)) (retrain.Classifier, error) {
	t.calls++
	if t.Started != nil {
		close(t.Started)
	}
	if t.Panic {
		panic("trainer exploded")
	}
	if t.Err != nil {
		return nil, t.Err
	}
	for t.WaitFile != "" {
		if _, err := os.Stat(t.WaitFile); err == nil {
			break
		}
		select {
		case <-time.After(2 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if t.Block != nil {
		select {
		case <-t.Block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for e := 1; e <= 3; e++ {
		if t.Sleep > 0 {
			select {
			case <-time.After(t.Sleep / 3):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(model.Progress{Stage: "fit", Epoch: e, Epochs: 3})
		}
	}
	seen := map[string]bool{}
	var known []string
	for _, ex := range data {
		for _, l := range ex.Labels {
			if !seen[l] && l != t.Drop {
				seen[l] = true
				known = append(known, l)
			}
		}
	}
	mode := t.Mode
	if mode == "" {
		mode = "first"
	}
	return &ruleClassifier{Mode: mode, Known: known, EncodePanic: t.EncodePanic, Serial: trainSerial.Add(1)}, nil
}

func (t *fakeTrainer) Decode(r io.Reader) (retrain.Classifier, error) {
	var c ruleClassifier
	if err := json.NewDecoder(r).Decode(&c); err != nil {
		return nil, err
	}
	if t.DecodeAs != "" {
		c.Mode = t.DecodeAs
	}
	return &c, nil
}

// always is a trigger that always (or never) says retrain.
func always(yes bool) retrain.Trigger {
	return trigger.TriggerFunc(func(ctx context.Context, s trigger.State) (trigger.Decision, error) {
		return trigger.Decision{Retrain: yes, Reasons: []trigger.Reason{{Policy: "test", Fired: yes, Text: fmt.Sprintf("test trigger says %v", yes)}}}, nil
	})
}

// deployedSum is the deployed version and the SHA-256 of its body.
func deployedSum(t testing.TB, ms retrain.ModelStore) (backup.Version, string) {
	t.Helper()
	ctx := context.Background()
	v, err := ms.Current(ctx)
	if errors.Is(err, backup.ErrNoCurrent) {
		return "", ""
	}
	if err != nil {
		t.Fatal(err)
	}
	_, rc, err := ms.Open(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	return v, hex.EncodeToString(h.Sum(nil))
}

// env is a Retrainer over fakes with a file history in a temp dir.
type env struct {
	r       *retrain.Retrainer
	data    *memData
	models  *backup.MemStore
	trainer *fakeTrainer
	dir     string
	events  *eventLog
}

type eventLog struct {
	mu     sync.Mutex
	events []retrain.Event
}

func (l *eventLog) Notify(ctx context.Context, e retrain.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
	return nil
}

func (l *eventLog) types() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		out = append(out, e.Type)
	}
	return out
}

func newEnv(t testing.TB, mod func(*retrain.Config)) *env {
	t.Helper()
	e := &env{
		data: &memData{
			base: samples(30, dataset.SourceSeed, "happy", "sad", "hungry"),
			new:  samples(10, dataset.SourceLLM, "happy", "sad", "hungry"),
		},
		models:  backup.NewMemStore(),
		trainer: &fakeTrainer{},
		dir:     t.TempDir(),
		events:  &eventLog{},
	}
	e.r2(t, mod)
	return e
}

// r2 builds the env's Retrainer over its stores, with mod (if any) applied to
// the Config first; calling it again rebuilds the Retrainer over the same
// stores.
func (e *env) r2(t testing.TB, mod func(*retrain.Config)) {
	t.Helper()
	cfg := retrain.Config{
		Trigger:     always(true),
		Data:        e.data,
		Trainer:     e.trainer,
		Models:      e.models,
		Notifier:    e.events,
		HistoryPath: e.dir + "/retrain_history.jsonl",
		LockPath:    e.dir + "/retrain.lock",
		// The fake trainer's candidates are scripted per test; a refit
		// (and the twin it implies next run) would train more of them.
		// The refit tests turn it back on.
		NoRefit: true,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := retrain.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	e.r = r
}

// history reads the history file's records.
func (e *env) history(t testing.TB) []retrain.Record {
	t.Helper()
	return readHistory(t, e.dir+"/retrain_history.jsonl")
}
