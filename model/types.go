package model

// Example is one labelled text used to train or evaluate a classifier.
// Single-label data has one label; an empty Labels slice means "no intent"
// and is kept, not dropped.
type Example struct {
	Text   string   `json:"text"`
	Labels []string `json:"labels"`
}

// Score is one label with the probability the classifier gives it.
type Score struct {
	Label string  `json:"label"`
	Prob  float64 `json:"prob"`
}

// Prediction is what a classifier says about one text.
type Prediction struct {
	// Label is the most probable label and Confidence its probability.
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
	// Ranked holds labels by descending probability (at most the
	// classifier's configured top-k; see TrainerOptions).
	Ranked []Score `json:"ranked,omitempty"`
	// Labels is the predicted label set: for a single-label model just
	// Label, for a multi-label model every label at or above the decision
	// threshold (possibly none).
	Labels []string `json:"labels"`
}

// Predictor is anything that can classify a text. *Classifier implements it;
// Evaluate accepts any Predictor so that fakes and remote models can be scored
// the same way.
type Predictor interface {
	Predict(text string) Prediction
}

// BatchPredictor is an optional interface a Predictor may implement to
// classify many texts in one call, faster than one Predict per text
// (*Classifier reuses its working memory and allocates the results in
// bulk). PredictBatch returns one Prediction per text, in order, each equal
// to what Predict gives. Evaluate and the retrain gate use it when present.
type BatchPredictor interface {
	Predictor
	PredictBatch(texts []string) []Prediction
}

// Progress reports training progress: Stage is "vectorize" or "fit"; Epoch
// counts from 1 to Epochs during "fit".
type Progress struct {
	Stage  string
	Epoch  int
	Epochs int
	// Loss is the mean training loss of the epoch just finished, if known.
	Loss float64
}
