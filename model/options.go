package model

import "runtime"

// LabelMode says whether a classifier predicts one label per text or a set.
// It is a plain value, safe to copy and share.
type LabelMode int

const (
	// ModeAuto (the zero value) picks ModeMulti when any training example has
	// a number of labels other than one, ModeSingle otherwise.
	ModeAuto LabelMode = iota
	// ModeSingle trains a multinomial (softmax) logistic regression: exactly
	// one label per text.
	ModeSingle
	// ModeMulti trains one-vs-rest logistic regressions with a decision
	// threshold: any number of labels per text, including none.
	ModeMulti
)

// TrainerOptions tunes a Trainer. The zero value, and a nil *TrainerOptions,
// mean defaults; every field documents its own. NewTrainer copies it, so it
// may be reused or changed afterwards.
type TrainerOptions struct {
	// Seed drives the shuffling of the training data. The same data, options
	// and seed give a byte-identical model file, whatever Workers is.
	Seed uint64

	// Epochs is the number of passes of stochastic gradient descent. Zero
	// picks a number from the data size: 5 up to 100,000 examples, fewer
	// beyond (1 above 600,000), since big sets need fewer passes, and more
	// for small sets so that training makes at least 300 steps (at most 200
	// epochs).
	Epochs int
	// L2 is the L2 regularisation strength (the objective is the mean loss
	// plus L2/2 times the squared weights). Zero means 2e-6; a negative value
	// disables it.
	L2 float64
	// Margin is the additive margin subtracted from the true label's score
	// while training a softmax model: the loss keeps pushing until the true
	// label wins by that much, like a max-margin classifier. Prediction uses
	// the plain softmax. Zero means 6; a negative value disables it.
	Margin float64
	// LearningRate is the initial SGD step; it decays linearly towards a
	// tenth of itself. Zero means 100 (the step follows the mean gradient
	// of a batch of unit-length vectors, so it is large).
	LearningRate float64
	// BatchSize is the number of examples per gradient step. Zero means 32.
	BatchSize int

	// WordNGrams is the longest word n-gram used as a feature. Zero means 2
	// (unigrams and bigrams); values above MaxWordNGrams are lowered to it.
	WordNGrams int
	// NoCharNGrams disables character n-gram features. By default they are
	// on: n-grams of CharMin to CharMax characters taken inside word
	// boundaries (each word padded as "<word>").
	NoCharNGrams bool
	// CharMin and CharMax bound the character n-gram lengths. Zero means 3
	// and 4; values above MaxCharNGram are lowered to it.
	CharMin, CharMax int
	// MinDF is the minimum number of training texts a character n-gram must
	// occur in to be kept. Word n-grams are always kept. Zero means 3.
	MinDF int

	// Mode chooses single- or multi-label training; ModeAuto by default.
	Mode LabelMode
	// Threshold is the multi-label decision threshold: labels with a
	// probability at or above it are predicted. Zero means 0.5, or the
	// tuned value when TuneThreshold is set.
	Threshold float64
	// TuneThreshold, for multi-label models, picks the threshold in
	// 0.05..0.95 with the best micro-F1 on held-out predictions: the
	// calibrated predictions the calibration was fitted on (see
	// NoCalibration), or, with NoCalibration, those of a model trained on all
	// but HoldoutFraction of the data (a stable split keyed by normalized
	// text, see Split), which costs one more training run. An explicit
	// Threshold wins.
	TuneThreshold bool
	// HoldoutFraction is the share held out for TuneThreshold when
	// NoCalibration is set. Zero means 0.2.
	HoldoutFraction float64

	// NoCalibration turns calibration off: Predict then reports the raw
	// softmax (or sigmoid) probabilities, which are over-confident for
	// models trained on little data and under-confident for others.
	//
	// By default every model is calibrated (see Calibration) on predictions
	// for data its scoring model did not train on. The data is divided into
	// 10 folds by a hash of each text's normalized form; "fold models", each
	// trained with the same options on all folds but one, predict the fold
	// left out, and the calibration is fitted on those predictions
	// (cross-fitting) while the final model trains on all the data,
	// concurrently. Only as many fold models are trained as give about
	// 1,500 held-out predictions: all 10 on small data sets (where training
	// is cheap), one from about 15,000 examples up (CLINC150's size: about
	// 0.9 more model's CPU time, on the other core). Above 100,000 examples
	// no extra model is trained: the final model trains on all but about
	// 10,000 of them (a stable hash split) and is calibrated on those.
	// Fold models share the final model's vocabulary settings but fit their
	// own, so their held-out texts are as new to them as a user's query is
	// to the final model.
	NoCalibration bool

	// Variants are alternative configurations (feature sets,
	// regularisation, margin, epochs) to choose from on held-out data: the
	// Trainer cross-fits its own options and every variant on the same
	// calibration folds (see NoCalibration; all fold models run
	// concurrently on Workers goroutines), scores each by the held-out
	// accuracy of its calibrated predictions (micro-F1 for multi-label
	// models), and trains the final model with the best. Info.Candidates
	// records the scores. None by default: on the data sets measured
	// (CLINC150, a CLINC150 domain split, NLU++ hotels) no variant beat the
	// defaults by more than the held-out noise (see BENCHMARKS.md). Ignored
	// with NoCalibration and above 100,000 examples.
	Variants []Variant

	// TopK is the number of labels in Prediction.Ranked. Zero means 5; a
	// negative value means all labels.
	TopK int
	// Workers is the number of goroutines that build the vocabulary and the
	// training matrix and train the calibration model; above 100,000
	// examples, with 2 or more, SGD's forward pass runs on two goroutines.
	// Zero means runtime.GOMAXPROCS(0). It never changes the result.
	Workers int
	// CreatedBy is recorded in the model file. Empty means "moodfood/model".
	CreatedBy string
}

// withDefaults returns a copy of o with every zero field set to its default.
func (o *TrainerOptions) withDefaults() TrainerOptions {
	var d TrainerOptions
	if o != nil {
		d = *o
	}
	if d.L2 == 0 {
		d.L2 = 2e-6
	} else if d.L2 < 0 {
		d.L2 = 0
	}
	if d.Margin == 0 {
		d.Margin = 6
	} else if d.Margin < 0 {
		d.Margin = 0
	}
	if d.LearningRate <= 0 {
		d.LearningRate = 100
	}
	if d.BatchSize <= 0 {
		d.BatchSize = 32
	}
	if d.WordNGrams <= 0 {
		d.WordNGrams = 2
	}
	if d.CharMin <= 0 {
		d.CharMin = 3
	}
	if d.CharMax <= 0 {
		d.CharMax = 4
	}
	d.WordNGrams = min(d.WordNGrams, MaxWordNGrams)
	d.CharMax = min(d.CharMax, MaxCharNGram)
	d.CharMin = min(d.CharMin, d.CharMax)
	if d.CharMax < d.CharMin {
		d.CharMax = d.CharMin
	}
	if d.MinDF <= 0 {
		d.MinDF = 3
	}
	if d.HoldoutFraction <= 0 || d.HoldoutFraction >= 1 {
		d.HoldoutFraction = 0.2
	}
	if d.TopK == 0 {
		d.TopK = 5
	}
	if d.Workers <= 0 {
		d.Workers = runtime.GOMAXPROCS(0)
	}
	if d.CreatedBy == "" {
		d.CreatedBy = "moodfood/model"
	}
	return d
}

// tokens returns the feature definition the options ask for.
func (o *TrainerOptions) tokens() tokenConfig {
	c := tokenConfig{WordNGrams: o.WordNGrams}
	if !o.NoCharNGrams {
		c.CharMin, c.CharMax = o.CharMin, o.CharMax
	}
	return c
}

// autoEpochs is the default number of epochs for n examples in batches of
// batch: by data size, but at least enough for 300 gradient steps (capped at
// 200 epochs), so that small data sets are not underfitted.
func autoEpochs(n, batch int) int {
	var e int
	switch {
	case n <= 100_000:
		e = 5
	case n <= 300_000:
		e = 4
	case n <= 600_000:
		e = 2
	default:
		e = 1
	}
	steps := (n + batch - 1) / max(batch, 1)
	return max(e, min(200, (300+steps-1)/max(steps, 1)))
}
