package model

import (
	"maps"
	"math"
	"slices"
	"sync"
)

// Config is the feature and decision configuration a classifier was trained
// with, as recorded in its file. It is a plain value, safe to copy and share.
type Config struct {
	// The feature definition: word n-grams up to WordNGrams, character
	// n-grams of CharMin..CharMax runes, pruned below MinDF documents.
	WordNGrams int `json:"word_ngrams"`
	CharMin    int `json:"char_min"` // 0: no character n-grams
	CharMax    int `json:"char_max"`
	MinDF      int `json:"min_df"`
	// The training run: see the TrainerOptions fields of the same names.
	Epochs    int     `json:"epochs"`
	L2        float64 `json:"l2"`
	Rate      float64 `json:"learning_rate"`
	Margin    float64 `json:"margin,omitempty"` // softmax training margin
	BatchSize int     `json:"batch_size"`
	Seed      uint64  `json:"seed"`
	Threshold float64 `json:"threshold"` // multi-label decision threshold
	TopK      int     `json:"top_k"`     // labels in Prediction.Ranked; <0 all
}

// Info describes a trained classifier. It holds copies: changing it does not
// change the classifier, and it may be used from any goroutine.
type Info struct {
	FormatVersion int      `json:"format_version"`
	MultiLabel    bool     `json:"multi_label"`
	Labels        []string `json:"labels"`
	VocabSize     int      `json:"vocab_size"`
	Config        Config   `json:"config"`
	// Fingerprint is Fingerprint(data) of the training data.
	Fingerprint string `json:"fingerprint"`
	// NTrain is the number of examples trained on; Skipped the number
	// dropped because their text had no token.
	NTrain  int `json:"n_train"`
	Skipped int `json:"skipped"`
	// CreatedBy is TrainerOptions.CreatedBy.
	CreatedBy string `json:"created_by"`
	// Calibration maps the raw scores to the probabilities Predict
	// reports (format version 1 files read as the identity, Method "none").
	Calibration Calibration `json:"calibration"`
	// Candidates are the configurations the Trainer chose among, with
	// their held-out scores (only with TrainerOptions.Variants).
	Candidates []Candidate `json:"candidates,omitempty"`
	// Metrics are whatever the trainer's caller recorded with SetMetrics.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Classifier is a trained intent classifier: TF-IDF features and a linear
// model (softmax for single-label, one-vs-rest sigmoids for multi-label).
//
// A Classifier comes from Trainer.Train or Decode; the zero value is not
// usable. It is immutable once built and safe for concurrent use by
// multiple goroutines, except SetMetrics, which must happen before it is
// shared.
type Classifier struct {
	vec    vectorizer
	labels []string
	multi  bool
	w      []float32 // feature-major: w[f*K+k]
	b      []float64 // per-label bias
	cal    Calibration
	info   Info
	pool   sync.Pool

	// sum is the SHA-256 of the encoded payload (see format.go), a
	// deterministic function of vec.idf, w and b, which never change once
	// the classifier is built. Decode sets it from the verified file;
	// otherwise the first Encode computes it, once.
	sumOnce sync.Once
	sum     [32]byte
}

// compile-time check
var _ BatchPredictor = (*Classifier)(nil)

func (c *Classifier) k() int { return len(c.labels) }

func (c *Classifier) getScratch() *scratch {
	if s, ok := c.pool.Get().(*scratch); ok {
		return s
	}
	s := newScratch()
	s.scores = make([]float64, len(c.labels))
	s.z32 = make([]float32, len(c.labels))
	s.order = make([]int, len(c.labels))
	return s
}

// Labels returns the labels the classifier knows, sorted. The slice is a copy.
func (c *Classifier) Labels() []string { return slices.Clone(c.labels) }

// Info describes the classifier: format version, mode, labels, vocabulary
// size, configuration, training fingerprint and metadata.
func (c *Classifier) Info() Info {
	in := c.info
	in.Labels = slices.Clone(c.labels)
	in.Metrics = maps.Clone(c.info.Metrics)
	in.Candidates = slices.Clone(c.info.Candidates)
	in.Calibration.LabelBias = slices.Clone(c.info.Calibration.LabelBias)
	return in
}

// SetMetrics records evaluation metrics (for example Report.Metrics) in the
// classifier, to be written by Encode. It is not safe to call concurrently
// with other methods: call it before sharing the classifier.
func (c *Classifier) SetMetrics(m map[string]float64) { c.info.Metrics = maps.Clone(m) }

// scores computes the per-label calibrated probabilities of text into
// s.scores.
func (c *Classifier) scores(text string, s *scratch) {
	K := c.k()
	if c.multi {
		c.logits(text, s)
		c.cal.apply(s.scores[:K], true)
		return
	}
	c.rowSums(text, s)
	softmaxCalibrated(s.z32[:K], c.b, s.scores[:K], c.cal)
}

// logits computes the per-label raw scores of text (before calibration and
// the softmax or sigmoid) into s.scores.
func (c *Classifier) logits(text string, s *scratch) {
	c.rowSums(text, s)
	K := c.k()
	sc := s.scores[:K]
	for k, v := range s.z32[:K] {
		sc[k] = float64(v) + c.b[k]
	}
}

// rowSums computes the weights' part of the raw scores of text (the sums of
// its features' weight rows, without the biases) into s.z32.
func (c *Classifier) rowSums(text string, s *scratch) {
	c.vec.vector(text, s)
	z := s.z32[:c.k()]
	clear(z)
	addRows(z, c.w, len(z), s.idx, s.alpha)
}

// softmaxCalibrated sets p to the calibrated probabilities of a single-label
// model whose weight sums are z and biases b: (1-Mix)·softmax(Scale·(z+b)) +
// Mix/K. It computes exactly what Calibration.apply does to the raw scores,
// in three passes over the labels instead of six.
func softmaxCalibrated(z []float32, b, p []float64, cal Calibration) {
	K := len(z)
	s := cal.Scale
	if s == 0 {
		s = 1 // scaling by 1 is exact: no need to skip it
	}
	n := 0
	var m float64
	if useAVX2 && K >= 4 {
		n = K &^ 3
		m = biasScaleAVX2(&z[0], &b[0], &p[0], n, s)
	}
	for k := n; k < K; k++ {
		v := (float64(z[k]) + b[k]) * s
		p[k] = v
		if k == 0 || v > m {
			m = v
		}
	}
	inv := 1 / expShift(p, m)
	a, u := 1.0, 0.0 // with no mix, a*x + u is exactly x
	if cal.Mix > 0 {
		a, u = 1-cal.Mix, cal.Mix/float64(K)
	}
	n = 0
	if useAVX2 {
		n = K &^ 3
		if n > 0 {
			affineAVX2(&p[0], n, inv, a, u)
		}
	}
	for k := n; k < K; k++ {
		p[k] = a*(p[k]*inv) + u
	}
}

// setCalibration installs cal; it must happen before the classifier is
// shared.
func (c *Classifier) setCalibration(cal Calibration) {
	c.cal = cal
	c.info.Calibration = cal
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// softmax replaces z with softmax(z). Terms more than 40 below the maximum
// (relative weight under 5e-18, below float64 resolution of the sum) are
// set to 0 without calling exp.
func softmax(z []float64) {
	inv := 1 / expShift(z, maxOf(z))
	scale(z, inv)
}

// maxOf returns the largest of z (not empty, finite); with AVX2, four at a
// time.
func maxOf(z []float64) float64 {
	n := 0
	m := z[0]
	if useAVX2 && len(z) >= 4 {
		n = len(z) &^ 3
		m = maxAVX2(&z[0], n)
	}
	for _, v := range z[n:] {
		if v > m {
			m = v
		}
	}
	return m
}

// scale multiplies z by a; with AVX2, four at a time.
func scale(z []float64, a float64) {
	n := 0
	if useAVX2 && len(z) >= 4 {
		n = len(z) &^ 3
		scaleAVX2(&z[0], n, a)
	}
	for i := n; i < len(z); i++ {
		z[i] *= a
	}
}

// expShift replaces each z[i] by exp(z[i]-m), or by 0 when z[i]-m < -40, and
// returns their sum, added in index order. With AVX2 and FMA, four at a time
// by expShiftAVX2, bit-identical to math.Exp.
func expShift(z []float64, m float64) float64 {
	var sum float64
	n := 0
	if useAVX2 {
		n = len(z) &^ 3
		if n > 0 {
			sum = expShiftAVX2(&z[0], n, m)
		}
	}
	for i, v := range z[n:] {
		d := v - m
		if d < -40 {
			z[n+i] = 0
			continue
		}
		e := math.Exp(d)
		z[n+i] = e
		sum += e
	}
	return sum
}

// Predict classifies text. Ranked holds the top-k labels by probability
// (ties broken by label order); Labels is the predicted set. Empty text, or
// text with no known feature, is classified from the label priors the model
// learnt (its biases). Texts longer than MaxTextBytes are truncated. Predict
// allocates only the returned slices (in one allocation for a single-label
// model with the default top-k or a smaller one).
func (c *Classifier) Predict(text string) Prediction {
	s := c.getScratch()
	c.scores(text, s)
	p := c.prediction(s, nil)
	c.pool.Put(s)
	return p
}

// PredictBatch classifies each text, as Predict does, in order, on the
// calling goroutine (callers wanting parallelism can split the batch: the
// classifier is safe for concurrent use). It allocates the results' slices
// in bulk: two allocations for a single-label model, whatever the number of
// texts. Each returned slice has its own capacity, so appending to one never
// changes another.
func (c *Classifier) PredictBatch(texts []string) []Prediction {
	out := make([]Prediction, len(texts))
	r := &results{ranked: make([]Score, len(texts)*c.topK())}
	if !c.multi {
		r.labels = make([]string, len(texts))
	}
	s := c.getScratch()
	for i, t := range texts {
		c.scores(t, s)
		out[i] = c.prediction(s, r)
	}
	c.pool.Put(s)
	return out
}

// topK is the length of Prediction.Ranked.
func (c *Classifier) topK() int {
	top := c.info.Config.TopK
	if top < 0 || top > c.k() {
		top = c.k()
	}
	return top
}

// results hands out the slices of predictions from bulk allocations; a nil
// *results allocates each one.
type results struct {
	ranked []Score
	labels []string
}

func (r *results) scores(n int) []Score {
	if r == nil || len(r.ranked) < n {
		return make([]Score, n)
	}
	out := r.ranked[:n:n]
	r.ranked = r.ranked[n:]
	return out
}

func (r *results) label(l string) []string {
	if r == nil || len(r.labels) == 0 {
		return []string{l}
	}
	out := r.labels[:1:1]
	r.labels = r.labels[1:]
	out[0] = l
	return out
}

// predictionBlock holds both result slices of a single-label prediction
// with the default top-k or a smaller one, so that Predict allocates once.
type predictionBlock struct {
	ranked [5]Score
	label  [1]string
}

// rankInsert inserts label k into order[:got], sorted by score descending
// then index ascending (k is above every index there), dropping the last
// entry when all len(order) are taken, and returns the new count.
func rankInsert(sc []float64, order []int, got, k int) int {
	v := sc[k]
	i := min(got, len(order)-1)
	for i > 0 && v > sc[order[i-1]] {
		order[i] = order[i-1]
		i--
	}
	order[i] = k
	return min(got+1, len(order))
}

// prediction builds the result from s.scores, taking its slices from r.
func (c *Classifier) prediction(s *scratch, r *results) Prediction {
	K := c.k()
	sc := s.scores[:K]
	top := c.topK()
	if r == nil && !c.multi && top <= len(predictionBlock{}.ranked) {
		b := new(predictionBlock)
		r = &results{ranked: b.ranked[:top], labels: b.label[:]}
	}
	// one pass keeping the n best labels by (score desc, index asc) in
	// order[:got], sorted; once it is full, only a label scoring above the
	// last one's score (worst) enters, and with AVX2 whole groups of four
	// labels that cannot are skipped at once
	n := max(top, 1)
	order := s.order[:n]
	got, k := 0, 0
	for ; k < len(sc) && got < n; k++ {
		got = rankInsert(sc, order, got, k)
	}
	worst := sc[order[n-1]]
	for k < len(sc) {
		if useAVX2 && k+4 <= len(sc) {
			if k += skipAVX2(&sc[k], (len(sc)-k)&^3, worst); k == len(sc) {
				break
			}
		}
		for end := min(k+4, len(sc)); k < end; k++ {
			if sc[k] > worst {
				rankInsert(sc, order, n, k)
				worst = sc[order[n-1]]
			}
		}
	}
	var p Prediction
	p.Label = c.labels[order[0]]
	p.Confidence = sc[order[0]]
	if top > 0 {
		p.Ranked = r.scores(top)
		for i := range top {
			p.Ranked[i] = Score{Label: c.labels[order[i]], Prob: sc[order[i]]}
		}
	}
	if !c.multi {
		p.Labels = r.label(p.Label)
		return p
	}
	th := c.info.Config.Threshold
	cnt := 0
	for _, v := range sc {
		if v >= th {
			cnt++
		}
	}
	p.Labels = make([]string, 0, cnt)
	for k, v := range sc {
		if v >= th {
			p.Labels = append(p.Labels, c.labels[k])
		}
	}
	return p
}

// OOV counts the word tokens of text (after the same normalization as
// training) and how many of them are not in the vocabulary: a cheap drift
// signal. Words are looked up as unigram features.
func (c *Classifier) OOV(text string) (unknown, total int) {
	for _, w := range words(text) {
		total++
		if _, ok := c.vec.lookup(" " + w + " "); !ok {
			unknown++
		}
	}
	return unknown, total
}
