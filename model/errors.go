package model

import "errors"

// Errors returned by the package. Callers match them with errors.Is; the
// returned errors often wrap them with detail.
var (
	// ErrEmpty means there was nothing to train on (or to evaluate): no
	// examples, or none with a usable token.
	ErrEmpty = errors.New("model: no usable training data")
	// ErrOneLabel means the training data has fewer than two distinct labels
	// for a single-label model (or none at all for a multi-label one), so
	// there is nothing to discriminate.
	ErrOneLabel = errors.New("model: training data needs at least two labels")
	// ErrLabel means a label is unusable: empty, longer than MaxLabelBytes,
	// not valid UTF-8 or holding control characters, or an example has other
	// than one label when single-label training was forced.
	ErrLabel = errors.New("model: invalid label")
	// ErrDiverged means training produced non-finite weights, which only
	// extreme options (LearningRate, L2) cause.
	ErrDiverged = errors.New("model: training diverged; lower TrainerOptions.LearningRate")
	// ErrCorrupt means a model file is damaged: truncated, checksum mismatch,
	// inconsistent dimensions or non-finite weights.
	ErrCorrupt = errors.New("model: corrupt model file")
	// ErrFormat means the input is not a model file of a version this package
	// reads (wrong magic number or unsupported format version).
	ErrFormat = errors.New("model: unknown model file format")
	// ErrTooLarge means a model file declares sizes beyond the limits Decode
	// accepts (header over MaxHeaderBytes, too many features or labels).
	ErrTooLarge = errors.New("model: model file too large")
)
