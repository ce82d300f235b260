package dataset

import "time"

// Source says where a training sample's labels came from. Sources rank
// human > llm > feedback > model when Merge resolves a conflict; seed data
// is the curated base set.
type Source string

// The sources a Sample may carry.
const (
	SourceSeed     Source = "seed"
	SourceHuman    Source = "human"
	SourceLLM      Source = "llm"
	SourceFeedback Source = "feedback"
	SourceModel    Source = "model"
)

// Sample is one training sample, stored as one JSON object per line:
// {"text": "...", "labels": ["goal_comfort", "meal_dinner"]} plus the
// optional fields below. An empty Labels slice means "no intent" and is kept.
type Sample struct {
	Text       string    `json:"text"`
	Labels     []string  `json:"labels"`
	Source     Source    `json:"source,omitempty"`
	Confidence float64   `json:"confidence,omitempty"`
	Timestamp  time.Time `json:"timestamp,omitzero"`
	QueryID    string    `json:"query_id,omitempty"`
}
