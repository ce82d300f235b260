package serve_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/model"
	"moodfood/retrain/serve"
)

// benchData is a synthetic intent set: 6 labels, 50 texts each.
func benchData() []model.Example {
	words := map[string][]string{
		"emotion_sad":     {"sad", "down", "blue", "gloomy", "heartbroken"},
		"emotion_happy":   {"happy", "great", "excited", "cheerful", "celebrating"},
		"weather_rainy":   {"rainy", "drizzly", "wet", "stormy", "pouring"},
		"weather_hot":     {"hot", "sweltering", "sunny", "humid", "scorching"},
		"meal_dinner":     {"dinner", "supper", "tonight", "evening", "late meal"},
		"goal_healthy":    {"healthy", "light", "balanced", "low calorie", "nutritious"},
		"occasion_family": {"kids", "family", "children", "parents", "everyone at home"},
	}
	frames := []string{"i feel %s today", "it is so %s", "something for a %s mood", "%s vibes, what should i eat",
		"what to cook when %s", "anything good for %s", "%s and hungry", "ideas please, %s", "i am %s lol", "so %s right now"}
	var ex []model.Example
	labels := make([]string, 0, len(words))
	for l := range words {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	for _, l := range labels {
		for i, f := range frames {
			for j, w := range words[l] {
				if (i+j)%2 == 0 {
					ex = append(ex, model.Example{Text: fmt.Sprintf(f, w), Labels: []string{l}})
				}
			}
		}
	}
	return ex
}

var benchTexts = []string{"i feel sad and it is rainy", "something healthy for the kids", "so hot, what should i eat",
	"celebrating tonight with family", "gloomy evening, any ideas", "light dinner please"}

// staticSource serves one version forever.
type staticSource struct{ body []byte }

func (s staticSource) Current(context.Context) (backup.Version, error) { return "v1", nil }
func (s staticSource) Open(context.Context, backup.Version) (backup.Manifest, io.ReadCloser, error) {
	return backup.Manifest{Version: "v1"}, io.NopCloser(bytes.NewReader(s.body)), nil
}
func (s staticSource) Deploy(context.Context, backup.Version) error { return nil }
func (s staticSource) Stamp() (string, error)                       { return "1", nil }

func benchModel(tb testing.TB) ([]byte, *model.Classifier) {
	tb.Helper()
	body := trainTiny(tb, benchData())
	c, err := model.Decode(bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	return body, c
}

func BenchmarkPredict(b *testing.B) {
	_, c := benchModel(b)
	i := 0
	for b.Loop() {
		c.Predict(benchTexts[i%len(benchTexts)])
		i++
	}
}

func BenchmarkClassifyML(b *testing.B) {
	body, _ := benchModel(b)
	for _, lg := range []string{"discard", "dataset.Logger"} {
		b.Run("log="+lg, func(b *testing.B) {
			opts := &serve.Options{Threshold: -1, Ambiguity: -1, PollInterval: -1}
			if lg == "dataset.Logger" {
				l, err := dataset.OpenLogger(filepath.Join(b.TempDir(), "query_logs.jsonl"), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				opts.QueryLog = l
			}
			s, err := serve.Open(context.Background(), staticSource{body}, opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if _, err := s.Classify(ctx, serve.Request{Text: benchTexts[i%len(benchTexts)], SessionID: "s"}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestClassifyOverhead measures, call by call, the time Classify on the ML
// route adds to the model's own Predict, logging through a dataset.Logger
// included, and reports the medians.
func TestClassifyOverhead(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	body, c := benchModel(t)
	l, err := dataset.OpenLogger(filepath.Join(t.TempDir(), "query_logs.jsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s, err := serve.Open(t.Context(), staticSource{body}, &serve.Options{Threshold: -1, Ambiguity: -1, PollInterval: -1, QueryLog: l})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 20000
	pred, cls := make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	ctx := context.Background()
	for i := range n {
		text := benchTexts[i%len(benchTexts)]
		st := time.Now()
		c.Predict(text)
		pred = append(pred, time.Since(st))
		st = time.Now()
		if _, err := s.Classify(ctx, serve.Request{Text: text, SessionID: "s"}); err != nil {
			t.Fatal(err)
		}
		cls = append(cls, time.Since(st))
	}
	slices.Sort(pred)
	slices.Sort(cls)
	p50p, p50c := pred[n/2], cls[n/2]
	t.Logf("Predict p50 %v p99 %v; Classify(ML, dataset.Logger) p50 %v p99 %v; overhead p50 %v",
		p50p, pred[n*99/100], p50c, cls[n*99/100], p50c-p50p)
	if raceEnabled {
		return // the race detector multiplies every cost
	}
	if p50c-p50p > 10*time.Microsecond { // target 2 µs; generous for noisy machines
		t.Errorf("Classify adds %v to Predict at p50", p50c-p50p)
	}
}
