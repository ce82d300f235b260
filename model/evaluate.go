package model

import (
	"cmp"
	"context"
	"errors"
	"runtime"
	"slices"
	"time"
)

// EvalOptions tunes Evaluate. The zero value and nil mean defaults. Evaluate
// only reads it.
type EvalOptions struct {
	// OOSLabel names the out-of-scope label (e.g. "oos"). When set, test
	// examples carrying it are out of scope and the report adds in-scope
	// accuracy and out-of-scope recall. A prediction of OOSLabel, or one
	// rejected by RejectBelow, counts as "out of scope".
	OOSLabel string
	// RejectBelow rejects predictions whose confidence is below it: they
	// become OOSLabel (or no label at all when OOSLabel is empty).
	RejectBelow float64
	// TopConfused is the number of most confused (true, predicted) pairs
	// reported. Zero means 10; negative means none.
	TopConfused int
	// Bins is the number of equal-width confidence bins for ECE. Zero means
	// DefaultBins (15).
	Bins int
	// Workers is the number of goroutines predicting. Zero means
	// runtime.GOMAXPROCS(0). The predictor must be safe for concurrent use
	// when it is above 1.
	Workers int
}

// Report is the result of Evaluate. Rates are in [0, 1]. It is a plain value
// that Evaluate does not keep: safe to share once returned.
type Report struct {
	// N is the number of test examples.
	N int `json:"n"`
	// MultiLabel is set when the test data or the predictions have other than
	// one label per example; the set-based metrics then apply.
	MultiLabel bool `json:"multi_label"`
	// Accuracy is the headline accuracy that gates compare. For
	// single-label data it is top-1 accuracy: the share of examples whose top
	// label (after rejection) is the true one. For multi-label data
	// (MultiLabel set) it is exact-match accuracy, the same number as
	// SubsetAccuracy: a prediction counts only when its whole label set
	// equals the true set, so it is stricter than per-label scores.
	Accuracy float64 `json:"accuracy"`
	// MacroF1 is the mean F1 over every label seen in the truth or the
	// predictions; MicroF1 is F1 over all (example, label) decisions.
	MacroF1 float64 `json:"macro_f1"`
	MicroF1 float64 `json:"micro_f1"`
	// SubsetAccuracy (exact-match accuracy) is the share of examples whose
	// predicted label set equals the true set; HammingLoss the share of wrong
	// (example, label) decisions over every label seen.
	SubsetAccuracy float64 `json:"subset_accuracy"`
	HammingLoss    float64 `json:"hamming_loss"`
	// ECE is the expected calibration error of the top label's confidence.
	ECE float64 `json:"ece"`
	// OOS is set when EvalOptions.OOSLabel or RejectBelow was given.
	OOS bool `json:"oos,omitempty"`
	// InScopeAccuracy is the accuracy over in-scope examples (a rejected
	// prediction is wrong); OOSRecall the share of out-of-scope examples
	// predicted out of scope; Rejected the number of rejected predictions.
	InScopeAccuracy float64 `json:"in_scope_accuracy,omitempty"`
	OOSRecall       float64 `json:"oos_recall,omitempty"`
	Rejected        int     `json:"rejected,omitempty"`
	// PerLabel holds precision, recall, F1 and support per label, by label.
	PerLabel []LabelReport `json:"per_label"`
	// Confused holds the most frequent (true, predicted) mistakes of
	// single-label examples, most frequent first.
	Confused []Confusion `json:"confused,omitempty"`
	// Reliability holds the EvalOptions.Bins equal-width bins of the top
	// label's confidence (before rejection) that ECE is computed from, in
	// order: the data of a reliability diagram.
	Reliability []ReliabilityBin `json:"reliability,omitempty"`
}

// LabelReport holds one label's scores (a plain value).
type LabelReport struct {
	Label     string  `json:"label"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Confusion counts test examples of label True predicted as Pred (a plain
// value).
type Confusion struct {
	True  string `json:"true"`
	Pred  string `json:"pred"`
	Count int    `json:"count"`
}

// Metrics flattens the report's headline numbers into a map for manifests
// and history: "n", "accuracy", "macro_f1", "micro_f1", "ece", plus
// "subset_accuracy" and "hamming_loss" for multi-label reports, and "in_scope_accuracy", "oos_recall" when out-of-scope
// evaluation was on. "accuracy" is Report.Accuracy: top-1 accuracy for a
// single-label report, exact-match (subset) accuracy for a multi-label one,
// where it always equals "subset_accuracy".
func (r Report) Metrics() map[string]float64 {
	m := map[string]float64{
		"n":        float64(r.N),
		"accuracy": r.Accuracy,
		"macro_f1": r.MacroF1,
		"micro_f1": r.MicroF1,
		"ece":      r.ECE,
	}
	if r.MultiLabel {
		m["subset_accuracy"] = r.SubsetAccuracy
		m["hamming_loss"] = r.HammingLoss
	}
	if r.OOS {
		m["in_scope_accuracy"] = r.InScopeAccuracy
		m["oos_recall"] = r.OOSRecall
	}
	return m
}

// Evaluate scores p on test. It is safe for concurrent use if p is.
// Predictions are computed concurrently (see EvalOptions.Workers); the report
// does not depend on their order. An empty test set gives a zero Report with
// N = 0.
func Evaluate(p Predictor, test []Example, opts *EvalOptions) Report {
	o := evalDefaults(opts)
	preds := predictAll(p, test, o.Workers)
	return score(test, preds, &o)
}

// evalDefaults returns a copy of opts (nil: the zero value) with the
// defaults filled in.
func evalDefaults(opts *EvalOptions) EvalOptions {
	var o EvalOptions
	if opts != nil {
		o = *opts
	}
	if o.TopConfused == 0 {
		o.TopConfused = 10
	}
	if o.Bins <= 0 {
		o.Bins = DefaultBins
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// predictAll runs p over the texts in `workers` goroutines; a panic in
// Predict is raised again here, in the caller's goroutine.
func predictAll(p Predictor, test []Example, workers int) []Prediction {
	preds, err := PredictAll(context.Background(), p, test, workers)
	if pe, ok := errors.AsType[*PredictPanicError](err); ok {
		panic(pe.Value)
	}
	return preds
}

// score computes the report from predictions.
func score(test []Example, preds []Prediction, o *EvalOptions) Report {
	r := Report{N: len(test), OOS: o.OOSLabel != "" || o.RejectBelow > 0}
	if len(test) == 0 {
		return r
	}
	for i, ex := range test {
		if len(ex.Labels) != 1 || len(preds[i].Labels) != 1 {
			r.MultiLabel = true
			break
		}
	}
	type counts struct{ tp, fp, fn, support int }
	per := map[string]*counts{}
	get := func(l string) *counts {
		c := per[l]
		if c == nil {
			c = &counts{}
			per[l] = c
		}
		return c
	}
	confused := map[[2]string]int{}
	bins := make([]struct {
		n       int
		conf    float64
		correct int
	}, o.Bins)
	var correct, subset, inN, inOK, oosN, oosOK int
	var tpAll, fpAll, fnAll int
	for i, ex := range test {
		p := preds[i]
		predSet := p.Labels
		top := p.Label
		rejected := o.RejectBelow > 0 && p.Confidence < o.RejectBelow
		if rejected {
			r.Rejected++
			top = o.OOSLabel
			predSet = nil
			if o.OOSLabel != "" {
				predSet = []string{o.OOSLabel}
			}
		}
		// set-based counts
		for _, l := range ex.Labels {
			get(l).support++
			if slices.Contains(predSet, l) {
				get(l).tp++
				tpAll++
			} else {
				get(l).fn++
				fnAll++
			}
		}
		for _, l := range predSet {
			if !slices.Contains(ex.Labels, l) {
				get(l).fp++
				fpAll++
			}
		}
		same := len(predSet) == len(ex.Labels)
		for _, l := range predSet {
			if !slices.Contains(ex.Labels, l) {
				same = false
			}
		}
		if same {
			subset++
		}
		ok := top != "" && slices.Contains(ex.Labels, top)
		if len(ex.Labels) == 0 && top == "" {
			ok = true
		}
		if ok {
			correct++
		}
		if len(ex.Labels) == 1 && top != ex.Labels[0] {
			confused[[2]string{ex.Labels[0], cmp.Or(top, "(none)")}]++
		}
		// calibration of the top label (before rejection)
		b := min(int(p.Confidence*float64(o.Bins)), o.Bins-1)
		b = max(b, 0)
		bins[b].n++
		bins[b].conf += p.Confidence
		if slices.Contains(ex.Labels, p.Label) {
			bins[b].correct++
		}
		if r.OOS {
			isOOS := (o.OOSLabel != "" && slices.Contains(ex.Labels, o.OOSLabel)) || len(ex.Labels) == 0
			predOOS := rejected || (o.OOSLabel != "" && top == o.OOSLabel)
			if isOOS {
				oosN++
				if predOOS {
					oosOK++
				}
			} else {
				inN++
				if ok && !predOOS {
					inOK++
				}
			}
		}
	}
	n := float64(len(test))
	r.SubsetAccuracy = float64(subset) / n
	if r.MultiLabel {
		r.Accuracy = r.SubsetAccuracy
	} else {
		r.Accuracy = float64(correct) / n
	}
	r.MicroF1 = f1(tpAll, fpAll, fnAll)
	if len(per) > 0 {
		r.HammingLoss = float64(fpAll+fnAll) / (n * float64(len(per)))
	}
	labels := make([]string, 0, len(per))
	for l := range per {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	var macro float64
	for _, l := range labels {
		c := per[l]
		lr := LabelReport{Label: l, Support: c.support, F1: f1(c.tp, c.fp, c.fn)}
		if c.tp+c.fp > 0 {
			lr.Precision = float64(c.tp) / float64(c.tp+c.fp)
		}
		if c.tp+c.fn > 0 {
			lr.Recall = float64(c.tp) / float64(c.tp+c.fn)
		}
		macro += lr.F1
		r.PerLabel = append(r.PerLabel, lr)
	}
	if len(labels) > 0 {
		r.MacroF1 = macro / float64(len(labels))
	}
	for i, b := range bins {
		rb := ReliabilityBin{Lo: float64(i) / float64(len(bins)), Hi: float64(i+1) / float64(len(bins)), N: b.n}
		if b.n > 0 {
			rb.Confidence, rb.Accuracy = b.conf/float64(b.n), float64(b.correct)/float64(b.n)
		}
		r.Reliability = append(r.Reliability, rb)
		if b.n > 0 {
			d := b.conf/float64(b.n) - float64(b.correct)/float64(b.n)
			if d < 0 {
				d = -d
			}
			r.ECE += float64(b.n) / n * d
		}
	}
	if inN > 0 {
		r.InScopeAccuracy = float64(inOK) / float64(inN)
	}
	if oosN > 0 {
		r.OOSRecall = float64(oosOK) / float64(oosN)
	}
	if o.TopConfused > 0 {
		for k, v := range confused {
			r.Confused = append(r.Confused, Confusion{True: k[0], Pred: k[1], Count: v})
		}
		slices.SortFunc(r.Confused, func(a, b Confusion) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.True, b.True), cmp.Compare(a.Pred, b.Pred))
		})
		if len(r.Confused) > o.TopConfused {
			r.Confused = r.Confused[:o.TopConfused]
		}
	}
	return r
}

func f1(tp, fp, fn int) float64 {
	d := 2*tp + fp + fn
	if d == 0 {
		return 0
	}
	return float64(2*tp) / float64(d)
}

// TuneReject picks a rejection threshold for opts.RejectBelow on validation
// data val (holding in-scope and out-of-scope examples, see
// EvalOptions.OOSLabel): the one with the highest out-of-scope recall whose
// in-scope accuracy stays within maxDrop of the accuracy without rejection.
// It tries thresholds 0, 0.01, ..., 0.99.
func TuneReject(p Predictor, val []Example, opts *EvalOptions, maxDrop float64) float64 {
	o := evalDefaults(opts)
	o.TopConfused = -1
	preds := predictAll(p, val, o.Workers)
	o.RejectBelow = 0
	base := score(val, preds, &o)
	best, bestRecall := 0.0, base.OOSRecall
	for i := 1; i < 100; i++ {
		o.RejectBelow = float64(i) / 100
		r := score(val, preds, &o)
		if r.InScopeAccuracy >= base.InScopeAccuracy-maxDrop && r.OOSRecall > bestRecall {
			best, bestRecall = o.RejectBelow, r.OOSRecall
		}
	}
	return best
}

// Latency is the distribution of single-prediction times measured by
// MeasureLatency (a plain value).
type Latency struct {
	// P50 and P99 are the median and 99th percentile, Max the slowest call.
	P50, P99, Max time.Duration
	// N is the number of timed calls.
	N int
}

// MeasureLatency times p.Predict on each text, one at a time on the calling
// goroutine, end to end (normalization, features, scores, result), after one
// untimed warm-up pass over at most 100 texts.
func MeasureLatency(p Predictor, texts []string) Latency {
	if len(texts) == 0 {
		return Latency{}
	}
	for _, t := range texts[:min(len(texts), 100)] {
		p.Predict(t)
	}
	d := make([]time.Duration, len(texts))
	for i, t := range texts {
		start := time.Now()
		p.Predict(t)
		d[i] = time.Since(start)
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Latency{P50: at(0.50), P99: at(0.99), Max: d[len(d)-1], N: len(d)}
}
