package model

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// refPredict is Predict computed the straightforward way, as the package
// did before its AVX2 kernels: one saxpy per feature, the calibration, then
// math.Exp over every label, a full sort for the ranking. The fast path must
// agree with it.
func refPredict(c *Classifier, text string) Prediction {
	s := newScratch()
	c.vec.vector(text, s)
	K := c.k()
	z := make([]float32, K)
	for i, f := range s.idx {
		saxpy(float32(s.cnt[i]), c.w[int(f)*K:int(f)*K+K], z)
	}
	p := make([]float64, K)
	for k := range z {
		p[k] = float64(z[k]) + c.b[k]
	}
	scale := c.cal.Scale
	if scale == 0 {
		scale = 1
	}
	if c.multi {
		for k := range p {
			p[k] = 1 / (1 + math.Exp(-(scale*p[k] + c.cal.Bias)))
		}
	} else {
		for k := range p {
			p[k] *= scale
		}
		m := slices.Max(p)
		var sum float64
		for k := range p {
			if p[k]-m < -40 {
				p[k] = 0
				continue
			}
			p[k] = math.Exp(p[k] - m)
			sum += p[k]
		}
		for k := range p {
			p[k] = (1-c.cal.Mix)*(p[k]/sum) + c.cal.Mix/float64(K)
		}
	}
	order := make([]int, K)
	for k := range order {
		order[k] = k
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(p[b], p[a]) })
	top := c.info.Config.TopK
	if top < 0 || top > K {
		top = K
	}
	out := Prediction{Label: c.labels[order[0]], Confidence: p[order[0]]}
	for _, k := range order[:top] {
		out.Ranked = append(out.Ranked, Score{Label: c.labels[k], Prob: p[k]})
	}
	if !c.multi {
		out.Labels = []string{out.Label}
		return out
	}
	out.Labels = []string{}
	for k := range p {
		if p[k] >= c.info.Config.Threshold {
			out.Labels = append(out.Labels, c.labels[k])
		}
	}
	return out
}

// samePrediction reports how got differs from want: labels and rankings
// exactly, probabilities within tol.
func samePrediction(got, want Prediction, tol float64) error {
	if got.Label != want.Label || !slices.Equal(got.Labels, want.Labels) || len(got.Ranked) != len(want.Ranked) {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	if d := math.Abs(got.Confidence - want.Confidence); !(d <= tol) {
		return fmt.Errorf("confidence %v, want %v", got.Confidence, want.Confidence)
	}
	for i := range got.Ranked {
		g, w := got.Ranked[i], want.Ranked[i]
		if g.Label != w.Label || !(math.Abs(g.Prob-w.Prob) <= tol) {
			return fmt.Errorf("ranked[%d] = %v, want %v", i, g, w)
		}
	}
	return nil
}

// synthetic returns a single-label data set with k labels, each with its own
// words mixed with shared ones, so that a model has rows long enough for
// every path of the kernels (k = 37 is 32 + 5).
func synthetic(k, perLabel int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 0))
	shared := []string{"please", "can", "you", "tell", "me", "about", "the", "my", "a", "now", "today", "what", "is"}
	var out []Example
	for l := range k {
		own := []string{fmt.Sprintf("word%da", l), fmt.Sprintf("thing%db", l), fmt.Sprintf("zq%dx", l*7)}
		for range perLabel {
			n := 3 + rng.IntN(6)
			var ws []string
			for range n {
				if rng.IntN(3) == 0 {
					ws = append(ws, own[rng.IntN(len(own))])
				} else {
					ws = append(ws, shared[rng.IntN(len(shared))])
				}
			}
			text := fmt.Sprint(ws)
			out = append(out, Example{Text: text[1 : len(text)-1], Labels: []string{fmt.Sprintf("label%02d", l)}})
		}
	}
	return out
}

func checkAgainstRef(t *testing.T, c *Classifier, texts []string) {
	t.Helper()
	batch := c.PredictBatch(texts)
	bad := 0
	for i, text := range texts {
		want := refPredict(c, text)
		if err := samePrediction(c.Predict(text), want, 1e-9); err != nil {
			if bad++; bad <= 5 {
				t.Errorf("Predict(%q): %v", text, err)
			}
		}
		if err := samePrediction(batch[i], want, 1e-9); err != nil {
			if bad++; bad <= 5 {
				t.Errorf("PredictBatch[%d] (%q): %v", i, text, err)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d predictions differ from the reference", bad, 2*len(texts))
	}
}

// TestPredict_SameAsReference checks Predict and PredictBatch against
// refPredict on built-in data: single-label (3 and 37 labels, every top-k),
// and multi-label.
func TestPredict_SameAsReference(t *testing.T) {
	syn := synthetic(37, 12, 1)
	texts := []string{"", "   ", "zzzz qqqq", "I am so hungry", "feeling sad today", "what a great day",
		"please tell me about word3a", "thing30b now", "can you tell me about the zq14x today"}
	for _, ex := range synthetic(37, 3, 2) {
		texts = append(texts, ex.Text)
	}
	for _, top := range []int{0, 1, -1} {
		t.Run(fmt.Sprintf("toy/top%d", top), func(t *testing.T) {
			checkAgainstRef(t, mustTrain(t, &TrainerOptions{TopK: top}, toy()), texts)
		})
		t.Run(fmt.Sprintf("37labels/top%d", top), func(t *testing.T) {
			checkAgainstRef(t, mustTrain(t, &TrainerOptions{TopK: top}, syn), texts)
		})
	}
	t.Run("multi", func(t *testing.T) {
		multi := toyMulti()
		for _, ex := range multi {
			texts = append(texts, ex.Text)
		}
		checkAgainstRef(t, mustTrain(t, &TrainerOptions{TopK: -1}, multi), texts)
	})
}

// TestPredict_SameAsReference_CLINC150 checks Predict against refPredict on
// every CLINC150 test text, in- and out-of-scope (skipped without the data).
func TestPredict_SameAsReference_CLINC150(t *testing.T) {
	test := clinc(t, "test", "oos_test")
	c := mustTrain(t, nil, clinc(t, "train"))
	texts := make([]string, len(test))
	for i, ex := range test {
		texts[i] = ex.Text
	}
	checkAgainstRef(t, c, texts)
}
