// Package model is moodfood's intent classifier: the backend answers from it
// when it is confident and asks an LLM when it is not.
//
// # Features
//
// Text is normalized (truncated to MaxTextBytes, lower-cased, split into
// words of Unicode letters, marks and digits with inner apostrophes kept,
// invalid UTF-8 treated as a separator) and turned into word n-grams
// (unigrams and bigrams by default) and character n-grams taken inside word
// boundaries (3 to 4 characters of "<word>" by default). The vocabulary is
// fitted by nlp.CountVectoriser (github.com/james-bowman/nlp) with the
// package's tokeniser, which implements nlp.Tokeniser; character n-grams
// found in fewer than MinDF training texts are pruned. IDF weights come from
// nlp.TfidfTransformer (plus one, scikit-learn's "smooth" convention). A
// vector is sublinear TF-IDF, (1 + ln count) * idf, with the word block and
// the character block each L2-normalized, then the whole.
//
// nlp's per-document Transform is far too slow for serving, so the fitted
// vocabulary and weights drive a fast path of the package's own that
// allocates nothing per call; a test proves both give the same vectors to
// within 1e-9. The training matrix is built with the fast path too.
//
// # Models
//
// Single-label data gets a multinomial (softmax) logistic regression;
// multi-label data (any example with other than one label; see LabelMode)
// gets one-vs-rest logistic regressions and a decision threshold, 0.5 or
// tuned on held-out data. Softmax training adds a margin to the loss (see
// TrainerOptions.Margin). Both are L2-regularized and trained by mini-batch
// SGD; building the features uses all workers, and so does SGD's forward
// pass on large data sets (on smaller ones the calibration model trains on
// the second core). Every parallel step has a fixed split and a fixed order
// of reduction, so the result does not depend on the number of workers or on
// GOMAXPROCS, and the same data, options and seed give a byte-identical model
// file.
//
// # Calibrated confidence
//
// A confidence is a calibrated probability: among predictions made with
// confidence 0.8, about 80 % are right, whatever the model's training size,
// so one routing threshold or report means the same for every model. Each
// trained model carries a Calibration (temperature and a small uniform share
// for softmax, a shared Platt pair for multi-label), fitted on predictions
// for data the scoring model did not train on: fold models, trained
// concurrently with the final model, each on all but one of 10 folds of the
// data, predict the fold left out (cross-fitting; see
// TrainerOptions.NoCalibration for the cost). The calibration never changes
// which label wins. ECE, Reliability, Confidences and RiskCoverage measure
// calibration and the precision a confidence threshold buys.
//
// # Several configurations
//
// TrainerOptions.Variants lets the Trainer choose among configurations
// (feature sets, regularisation, margin, epochs) by their calibrated
// held-out scores on the same folds, recorded in Info.Candidates. Variants
// with the same features could be merged into one linear model; variants
// with different features would need one model per member at prediction
// time, which no variant has earned so far (see BENCHMARKS.md), so a
// Classifier is always one model.
//
// # Serving and evaluation
//
// A Classifier is immutable and safe for concurrent use; Predict reuses
// pooled scratch buffers and allocates only its result, and PredictBatch
// allocates a batch's results in bulk. The weights are feature-major rows of
// float32, one per feature, so a text's scores are the sum of its features'
// rows; on amd64 with AVX2 and FMA an assembly kernel adds them all, keeping
// up to 96 sums in registers per pass over the rows, and others compute the
// softmax's exponentials four at a time and apply the calibration, all
// bit-identical to the portable code (gonum's saxpy per row, math.Exp),
// which runs elsewhere or when built with the purego tag. The vectorizer
// looks terms of up to 16 bytes up by their bytes packed into integers, in
// open-addressing tables, without building strings. Evaluate scores any
// Predictor (accuracy, macro and micro F1, subset accuracy and Hamming loss,
// per-label scores, confusions, calibration error, and out-of-scope
// metrics with a rejection threshold or an out-of-scope label). For
// multi-label data "accuracy" means exact-match (subset) accuracy: a
// prediction is right only when its label set equals the true set; see
// Report.Accuracy. Split and
// InHoldout give a train/validation split keyed by a hash of normalized text,
// stable as the data grows.
//
// # Files
//
// Encode writes a versioned, self-describing file (see format.go for the
// layout): magic number, format version, a JSON header with labels,
// vocabulary, configuration, calibration, training-data fingerprint, metrics
// and the SHA-256 of the payload, then the weights. Files of format version 1
// (before calibration) are still read, with the identity calibration. Decode bounds every size before
// trusting it and reports damage as ErrCorrupt, foreign data as ErrFormat and
// excessive sizes as ErrTooLarge; it never panics on bad input.
//
// Only this package imports nlp and gonum; no type of theirs appears in its
// API.
package model
