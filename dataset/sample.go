package dataset

import (
	"encoding/json"
	"time"
)

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
	// SessionID is the session of the query the sample was exported from
	// (when it had one): what the export caps per session, and how a
	// retraining run groups new samples to find what pulled a candidate
	// down.
	SessionID string `json:"session_id,omitempty"`
}

// sampleJSON has Sample's fields without its methods.
type sampleJSON Sample

// MarshalJSON encodes s, writing an empty (or nil) Labels as [] so that
// "no intent" survives a round trip.
func (s Sample) MarshalJSON() ([]byte, error) {
	if s.Labels == nil {
		s.Labels = []string{}
	}
	return json.Marshal(sampleJSON(s))
}

// UnmarshalJSON decodes a sample; a missing or null "labels" becomes an empty,
// non-nil slice.
func (s *Sample) UnmarshalJSON(b []byte) error {
	var v sampleJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	if v.Labels == nil {
		v.Labels = []string{}
	}
	*s = Sample(v)
	return nil
}
