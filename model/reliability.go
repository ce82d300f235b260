package model

import (
	"cmp"
	"slices"
)

// DefaultBins is the number of equal-width confidence bins ECE and
// Reliability use when given 0 (as in Guo et al., ICML 2017).
const DefaultBins = 15

// ReliabilityBin is one confidence bin of a reliability diagram (a plain
// value): the predictions whose confidence fell in [Lo, Hi) (the last bin
// includes 1), their mean confidence and the share of them that was right.
type ReliabilityBin struct {
	Lo, Hi     float64
	N          int
	Confidence float64
	Accuracy   float64
}

// Reliability bins the predictions (conf[i] is a prediction's confidence,
// correct[i] whether it was right; the slices have the same length) into
// bins equal-width bins over [0, 1]; bins <= 0 means DefaultBins. Empty bins
// are included with N = 0.
func Reliability(conf []float64, correct []bool, bins int) []ReliabilityBin {
	if bins <= 0 {
		bins = DefaultBins
	}
	out := make([]ReliabilityBin, bins)
	hits := make([]int, bins)
	for i := range out {
		out[i].Lo, out[i].Hi = float64(i)/float64(bins), float64(i+1)/float64(bins)
	}
	for i, c := range conf {
		b := max(0, min(int(c*float64(bins)), bins-1))
		out[b].N++
		out[b].Confidence += c
		if correct[i] {
			hits[b]++
		}
	}
	for i := range out {
		if n := out[i].N; n > 0 {
			out[i].Confidence /= float64(n)
			out[i].Accuracy = float64(hits[i]) / float64(n)
		}
	}
	return out
}

// ECE is the expected calibration error of the predictions: the mean, over
// bins equal-width confidence bins weighted by their share of predictions,
// of |mean confidence - accuracy|. bins <= 0 means DefaultBins. It is 0 for
// no predictions.
func ECE(conf []float64, correct []bool, bins int) float64 {
	if len(conf) == 0 {
		return 0
	}
	var e float64
	for _, b := range Reliability(conf, correct, bins) {
		if b.N > 0 {
			d := b.Confidence - b.Accuracy
			if d < 0 {
				d = -d
			}
			e += float64(b.N) * d
		}
	}
	return e / float64(len(conf))
}

// Confidences predicts every example of data with p and returns each
// prediction's confidence (Prediction.Confidence) and whether it was right:
// for an example with one label, whether the top label is it; otherwise
// whether the predicted label set equals the true set. These are the inputs
// of ECE, Reliability and RiskCoverage. Predictions run concurrently on
// workers goroutines (0 means runtime.GOMAXPROCS(0)); p must then be safe
// for concurrent use.
func Confidences(p Predictor, data []Example, workers int) (conf []float64, correct []bool) {
	o := evalDefaults(&EvalOptions{Workers: workers})
	preds := predictAll(p, data, o.Workers)
	conf, correct = make([]float64, len(data)), make([]bool, len(data))
	for i, ex := range data {
		pr := preds[i]
		conf[i] = pr.Confidence
		if len(ex.Labels) == 1 {
			correct[i] = pr.Label == ex.Labels[0]
		} else {
			correct[i] = sameSet(pr.Labels, ex.Labels)
		}
	}
	return conf, correct
}

// sameSet reports whether a and b hold the same labels (each without
// repeats).
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, l := range a {
		if !slices.Contains(b, l) {
			return false
		}
	}
	return true
}

// CoveragePoint is one point of a risk-coverage curve (a plain value):
// answering only the predictions with confidence >= Threshold answers
// Answered of them (Coverage, a share of all), of which Correct are right
// (Precision = Correct/Answered, 1 - risk).
type CoveragePoint struct {
	Threshold float64 `json:"threshold"`
	Coverage  float64 `json:"coverage"`
	Precision float64 `json:"precision"`
	Answered  int     `json:"answered"`
	Correct   int     `json:"correct"`
}

// RiskCoverage returns the risk-coverage curve of the predictions (see
// Confidences): one point per distinct confidence value, from the highest
// threshold (least coverage) to the lowest (everything answered). A
// threshold answers every prediction at or above it, so predictions with
// equal confidence are answered together. It is empty for no predictions.
func RiskCoverage(conf []float64, correct []bool) []CoveragePoint {
	idx := make([]int, len(conf))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(conf[b], conf[a]) })
	var out []CoveragePoint
	ok := 0
	n := float64(len(conf))
	for j, i := range idx {
		if correct[i] {
			ok++
		}
		if j+1 < len(idx) && conf[idx[j+1]] == conf[i] {
			continue // same confidence: answered together
		}
		out = append(out, CoveragePoint{Threshold: conf[i], Coverage: float64(j+1) / n,
			Precision: float64(ok) / float64(j+1), Answered: j + 1, Correct: ok})
	}
	return out
}
