package model

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// toy is a small single-label data set.
func toy() []Example {
	var out []Example
	add := func(label string, texts ...string) {
		for _, t := range texts {
			out = append(out, Example{Text: t, Labels: []string{label}})
		}
	}
	add("hungry", "I'm so hungry", "what should I eat", "I am starving", "need food now", "hungry hungry", "feed me something", "what's for dinner", "I could eat a horse")
	add("sad", "I feel sad", "feeling down today", "I am so sad", "I'm depressed", "sad and lonely", "cheer me up please", "feeling blue", "I want to cry")
	add("happy", "I'm so happy", "great day today", "feeling happy", "I am joyful", "happy happy joy", "life is good", "what a wonderful day", "I feel great")
	return out
}

// toyMulti is a small multi-label data set, with unlabelled examples.
func toyMulti() []Example {
	var out []Example
	for i := range 12 {
		out = append(out,
			Example{Text: fmt.Sprintf("book a room for %d nights", i+1), Labels: []string{"booking"}},
			Example{Text: fmt.Sprintf("cancel my room booking %d", i), Labels: []string{"booking", "cancel"}},
			Example{Text: fmt.Sprintf("cancel the spa appointment %d", i), Labels: []string{"cancel", "spa"}},
			Example{Text: fmt.Sprintf("is the spa open at %d", i), Labels: []string{"spa"}},
			Example{Text: fmt.Sprintf("we arrive at %d pm", i), Labels: nil},
		)
	}
	return out
}

func mustTrain(t testing.TB, opts *TrainerOptions, data []Example) *Classifier {
	t.Helper()
	c, err := NewTrainer(opts).Train(context.Background(), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTrainer_Train(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		var stages []string
		c, err := NewTrainer(nil).Train(context.Background(), toy(), func(p Progress) {
			stages = append(stages, fmt.Sprintf("%s %d/%d", p.Stage, p.Epoch, p.Epochs))
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"happy", "hungry", "sad"}; !slices.Equal(c.Labels(), want) {
			t.Errorf("Labels = %q, want %q", c.Labels(), want)
		}
		if stages[0] != "vectorize 0/0" || stages[len(stages)-1] != fmt.Sprintf("fit %d/%d", autoEpochs(24, 32), autoEpochs(24, 32)) {
			t.Errorf("progress = %q", stages)
		}
		in := c.Info()
		if in.MultiLabel || in.NTrain != 24 || in.VocabSize == 0 || in.Fingerprint != Fingerprint(toy()) || in.FormatVersion != formatVersion {
			t.Errorf("Info = %+v", in)
		}
		for _, tt := range []struct{ text, want string }{
			{"I am really hungry", "hungry"}, {"so sad today", "sad"}, {"happy day", "happy"},
		} {
			if p := c.Predict(tt.text); p.Label != tt.want {
				t.Errorf("Predict(%q) = %+v, want %s", tt.text, p, tt.want)
			}
		}
	})
	errTests := []struct {
		name string
		opts *TrainerOptions
		data []Example
		want error
	}{
		{"ErrEmpty/nil", nil, nil, ErrEmpty},
		{"ErrEmpty/whitespace only", nil, []Example{{" ", []string{"a"}}, {"?!", []string{"b"}}}, ErrEmpty},
		{"ErrOneLabel", nil, []Example{{"hello", []string{"a"}}, {"world", []string{"a"}}}, ErrOneLabel},
		{"ErrOneLabel/multi none", nil, []Example{{"hello", nil}, {"world", nil}}, ErrOneLabel},
		{"ErrLabel/empty", nil, []Example{{"hello", []string{""}}, {"world", []string{"b"}}}, ErrLabel},
		{"ErrLabel/control", nil, []Example{{"hello", []string{"a\nb"}}, {"world", []string{"b"}}}, ErrLabel},
		{"ErrLabel/invalid utf-8", nil, []Example{{"hello", []string{"a\xff"}}, {"world", []string{"b"}}}, ErrLabel},
		{"ErrLabel/too long", nil, []Example{{"hello", []string{strings.Repeat("x", MaxLabelBytes+1)}}, {"world", []string{"b"}}}, ErrLabel},
		{"ErrLabel/single forced", &TrainerOptions{Mode: ModeSingle}, toyMulti(), ErrLabel},
		{"ErrDiverged", &TrainerOptions{LearningRate: 1e308, Margin: 1e308}, toy(), ErrDiverged},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewTrainer(tt.opts).Train(context.Background(), tt.data, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("Canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := NewTrainer(nil).Train(ctx, toy(), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("CanceledMidway", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		_, err := NewTrainer(&TrainerOptions{Epochs: 5}).Train(ctx, toy(), func(p Progress) {
			if p.Epoch == 2 {
				cancel()
			}
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("SkipsEmptyTexts", func(t *testing.T) {
		data := append(toy(), Example{"   ", []string{"sad"}}, Example{"", []string{"happy"}})
		c := mustTrain(t, nil, data)
		if in := c.Info(); in.Skipped != 2 || in.NTrain != 24 {
			t.Errorf("Skipped %d NTrain %d", in.Skipped, in.NTrain)
		}
	})
	t.Run("OddLabels", func(t *testing.T) {
		data := toy()
		for i := range data {
			data[i].Labels = []string{map[string]string{"hungry": "faim/ \"ü\" 🍕", "sad": "sad label", "happy": "😀"}[data[i].Labels[0]]}
		}
		c := mustTrain(t, nil, data)
		var buf bytes.Buffer
		if err := c.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		d, err := Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if p := d.Predict("so hungry"); p.Label != "faim/ \"ü\" 🍕" {
			t.Errorf("Predict = %+v", p)
		}
	})
}

func TestTrainer_Deterministic(t *testing.T) {
	encode := func(opts *TrainerOptions, data []Example) []byte {
		var buf bytes.Buffer
		if err := mustTrain(t, opts, data).Encode(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, data := range [][]Example{toy(), toyMulti()} {
		a := encode(&TrainerOptions{Seed: 7, Workers: 1}, data)
		b := encode(&TrainerOptions{Seed: 7, Workers: 2}, data)
		c := encode(&TrainerOptions{Seed: 7, Workers: 3}, data)
		if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
			t.Error("same data, options and seed gave different files")
		}
		if d := encode(&TrainerOptions{Seed: 8}, data); bytes.Equal(a, d) {
			t.Error("a different seed gave the same file")
		}
	}
}

func TestTrainer_MultiLabel(t *testing.T) {
	data := toyMulti()
	c := mustTrain(t, nil, data)
	in := c.Info()
	if !in.MultiLabel || in.Config.Threshold != 0.5 {
		t.Fatalf("Info = %+v", in)
	}
	p := c.Predict("cancel my room booking please")
	if !slices.Equal(p.Labels, []string{"booking", "cancel"}) {
		t.Errorf("Predict = %+v", p)
	}
	if p := c.Predict("we arrive at 9 pm"); len(p.Labels) != 0 {
		t.Errorf("no-intent text got %+v", p)
	}
	r := Evaluate(c, data, nil)
	if !r.MultiLabel || r.MicroF1 < 0.9 {
		t.Errorf("training-set report %+v", r)
	}

	tuned := mustTrain(t, &TrainerOptions{TuneThreshold: true}, data)
	if th := tuned.Info().Config.Threshold; th <= 0 || th >= 1 {
		t.Errorf("tuned threshold %v", th)
	}
	fixed := mustTrain(t, &TrainerOptions{TuneThreshold: true, Threshold: 0.3}, data)
	if th := fixed.Info().Config.Threshold; th != 0.3 {
		t.Errorf("explicit threshold %v", th)
	}
	// forcing multi-label on single-label data
	m := mustTrain(t, &TrainerOptions{Mode: ModeMulti}, toy())
	if !m.Info().MultiLabel {
		t.Error("ModeMulti ignored")
	}
}

func TestClassifier_Predict(t *testing.T) {
	c := mustTrain(t, &TrainerOptions{TopK: 2}, toy())
	p := c.Predict("I am hungry")
	if len(p.Ranked) != 2 || p.Ranked[0].Label != p.Label || p.Ranked[0].Prob != p.Confidence || p.Ranked[0].Prob < p.Ranked[1].Prob {
		t.Errorf("Predict = %+v", p)
	}
	if !slices.Equal(p.Labels, []string{p.Label}) {
		t.Errorf("Labels = %q", p.Labels)
	}
	all := mustTrain(t, &TrainerOptions{TopK: -1}, toy()).Predict("I am hungry")
	var sum float64
	for _, s := range all.Ranked {
		sum += s.Prob
	}
	if len(all.Ranked) != 3 || math.Abs(sum-1) > 1e-9 {
		t.Errorf("TopK -1: %+v (sum %v)", all, sum)
	}
	// bad input never panics and still gives a label
	for _, text := range []string{"", "   ", "\xff\xfe", "zzzz qqqq", strings.Repeat("hungry ", 20000)} {
		if p := c.Predict(text); p.Label == "" || math.IsNaN(p.Confidence) {
			t.Errorf("Predict(%.20q) = %+v", text, p)
		}
	}
	// PredictBatch is Predict in order
	texts := []string{"sad", "hungry", "", "happy day"}
	batch := c.PredictBatch(texts)
	for i, text := range texts {
		if one := c.Predict(text); fmt.Sprint(one) != fmt.Sprint(batch[i]) {
			t.Errorf("PredictBatch[%d] = %+v, Predict = %+v", i, batch[i], one)
		}
	}
}

func TestClassifier_Concurrent(t *testing.T) {
	c := mustTrain(t, nil, toy())
	texts := []string{"I am hungry", "so sad", "happy happy", "", "what's for dinner"}
	want := c.PredictBatch(texts)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g + i) % len(texts)
				if got := c.Predict(texts[k]); fmt.Sprint(got) != fmt.Sprint(want[k]) {
					t.Errorf("concurrent Predict(%q) = %+v, want %+v", texts[k], got, want[k])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestClassifier_PredictAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	for _, tc := range []struct {
		top, allocs int
	}{{3, 1}, {5, 1}, {0, 1}, {7, 2}, {-1, 2}} { // 8 labels; 0 is the default, 5
		c := mustTrain(t, &TrainerOptions{TopK: tc.top}, synthetic(8, 5, 4))
		c.Predict("warm up the pool")
		allocs := testing.AllocsPerRun(100, func() { c.Predict("I am so hungry, what should I eat tonight?") })
		// Ranked and Labels: one allocation up to the default top-k (5), two
		// above, whatever the text
		if allocs > float64(tc.allocs) {
			t.Errorf("TopK %d: Predict allocates %v times per call, want <= %d", tc.top, allocs, tc.allocs)
		}
		// the two slices share one allocation, not their capacity
		p := c.Predict("please tell me about word3a")
		_ = append(p.Ranked, Score{Label: "x"})
		if len(p.Labels) != 1 || p.Labels[0] != p.Label {
			t.Errorf("TopK %d: appending to Ranked changed Labels: %q, label %q", tc.top, p.Labels, p.Label)
		}
	}
}

func TestClassifier_OOV(t *testing.T) {
	c := mustTrain(t, nil, toy())
	if u, n := c.OOV("I am hungry for zorblax"); u != 1 || n != 5 {
		t.Errorf("OOV = %d/%d, want 1/5", u, n)
	}
	if u, n := c.OOV(""); u != 0 || n != 0 {
		t.Errorf("OOV(\"\") = %d/%d", u, n)
	}
}

func TestClassifier_RankTies(t *testing.T) {
	for _, top := range []int{-1, 1, 2} {
		c := mustTrain(t, &TrainerOptions{TopK: top}, toy()) // labels: happy, hungry, sad
		s := c.getScratch()
		copy(s.scores, []float64{0.2, 0.4, 0.4})
		p := c.prediction(s, nil)
		want := []string{"hungry", "sad", "happy"}
		if top > 0 {
			want = want[:top]
		}
		var got []string
		for _, r := range p.Ranked {
			got = append(got, r.Label)
		}
		if !slices.Equal(got, want) || p.Label != "hungry" || p.Confidence != 0.4 {
			t.Errorf("TopK %d: ranked %q label %s, want %q (ties in label order)", top, got, p.Label, want)
		}
	}
}

// TestClassifier_PredictBatchAllocs checks that PredictBatch allocates the
// results in bulk (not per text) and that its slices do not share capacity.
func TestClassifier_PredictBatchAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	c := mustTrain(t, &TrainerOptions{TopK: 2}, toy())
	texts := []string{"I am hungry", "so sad", "happy happy", "", "what's for dinner", "feeling blue", "great"}
	c.PredictBatch(texts)
	if allocs := testing.AllocsPerRun(50, func() { c.PredictBatch(texts) }); allocs > 3 {
		t.Errorf("PredictBatch of %d texts allocates %v times, want <= 3", len(texts), allocs)
	}
	b := c.PredictBatch(texts)
	next := b[1].Ranked[0]
	_ = append(b[0].Ranked, Score{Label: "x"})
	_ = append(b[0].Labels, "x")
	if b[1].Ranked[0] != next || b[1].Labels[0] != b[1].Label {
		t.Error("appending to one prediction's slices changed the next one")
	}
}

// TestClassifier_RankManyTies checks the top-k selection (which skips runs
// of labels that cannot enter the ranking) against a stable sort, on
// scores drawn from a few values so that ties are everywhere, including
// NaN-free runs of equal scores longer than four.
func TestClassifier_RankManyTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, top := range []int{1, 3, 5, -1} {
		c := mustTrain(t, &TrainerOptions{TopK: top}, synthetic(37, 4, 5))
		K := len(c.labels)
		for trial := range 200 {
			s := c.getScratch()
			vals := []float64{0.1, 0.2, 0.2, 0.3, float64(trial%5) / 10}
			for k := range K {
				s.scores[k] = vals[rng.IntN(len(vals))]
			}
			order := make([]int, K)
			for k := range order {
				order[k] = k
			}
			slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s.scores[b], s.scores[a]) })
			p := c.prediction(s, nil)
			for i, r := range p.Ranked {
				if r.Label != c.labels[order[i]] || r.Prob != s.scores[order[i]] {
					t.Fatalf("TopK %d, trial %d: ranked[%d] = %v, want %s %v", top, trial, i, r, c.labels[order[i]], s.scores[order[i]])
				}
			}
			if p.Label != c.labels[order[0]] {
				t.Fatalf("TopK %d, trial %d: label %s, want %s", top, trial, p.Label, c.labels[order[0]])
			}
		}
	}
}
