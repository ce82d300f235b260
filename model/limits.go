package model

import (
	"fmt"
	"math"
)

// Limits Decode enforces on what a model file declares, so that a crafted
// file (with a valid checksum) can neither make Decode allocate far more
// than its size nor make every prediction slow or non-finite. A trainer
// never produces a model beyond them: TrainerOptions clamps the n-gram
// lengths to MaxWordNGrams and MaxCharNGram, and trained weights stay many
// orders of magnitude below MaxAbsWeight.
const (
	// MaxWordNGrams is the longest word n-gram a model may use.
	MaxWordNGrams = 5
	// MaxCharNGram is the longest character n-gram a model may use.
	MaxCharNGram = 8
	// MaxAbsWeight bounds the absolute value of every weight and bias, and
	// MaxIDF every inverse document frequency (which is also at least 0):
	// with them every score is finite, so no prediction is NaN.
	MaxAbsWeight = 1e6
	MaxIDF       = 1e3
)

// checkLimits refuses a header whose feature configuration would make
// predictions needlessly slow. It runs before the payload is allocated.
func checkLimits(hd *header) error {
	cf := hd.Info.Config
	if cf.WordNGrams > MaxWordNGrams || cf.CharMax > MaxCharNGram || cf.CharMin > cf.CharMax ||
		(cf.CharMax > 0 && cf.CharMin < 1) {
		return fmt.Errorf("%w: feature configuration (word n-grams %d, char n-grams %d-%d) beyond the limits (%d, %d)",
			ErrCorrupt, cf.WordNGrams, cf.CharMin, cf.CharMax, MaxWordNGrams, MaxCharNGram)
	}
	return nil
}

// checkValues refuses absurd numbers in a decoded payload: weights or biases
// beyond ±MaxAbsWeight, an idf outside [0, MaxIDF].
func checkValues(idf []float64, w []float32, bias []float64) error {
	for _, x := range idf {
		if !(x >= 0 && x <= MaxIDF) {
			return fmt.Errorf("%w: idf %g outside [0, %g]", ErrCorrupt, x, float64(MaxIDF))
		}
	}
	for _, x := range w {
		if !(math.Abs(float64(x)) <= MaxAbsWeight) {
			return fmt.Errorf("%w: weight %g beyond ±%g", ErrCorrupt, x, float64(MaxAbsWeight))
		}
	}
	for _, x := range bias {
		if !(math.Abs(x) <= MaxAbsWeight) {
			return fmt.Errorf("%w: bias %g beyond ±%g", ErrCorrupt, x, float64(MaxAbsWeight))
		}
	}
	return nil
}
