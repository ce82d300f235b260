package dataset

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Rejection reasons counted in ExportStats.Rejected.
const (
	ReasonFailure       = "failure"            // Success == false
	ReasonNegative      = "negative_feedback"  // user said no
	ReasonUnconfirmed   = "unconfirmed_model"  // ML prediction without positive feedback
	ReasonLLMConfidence = "low_llm_confidence" // LLM confidence given and below the minimum
	ReasonTooShort      = "too_short"
	ReasonTooLong       = "too_long"
	ReasonNoLabels      = "no_labels"
	ReasonUnknownLabel  = "unknown_label"
	ReasonModelCap      = "model_cap"        // over ExportPolicy.ModelShare
	ReasonSessionCap    = "session_cap"      // over ExportPolicy.MaxPerSession
	ReasonTextCap       = "text_cap"         // over ExportPolicy.MaxPerText
	ReasonDuplicate     = "already_exported" // recovered after a crash, see FileStore.Export
)

// ExportPolicy decides which logged queries become training samples. The
// zero value is the default policy; every rule can be changed or switched
// off. Rules, in order:
//
//   - a query with Success == false is rejected (unless AllowFailure);
//   - a query with negative feedback is rejected (unless AllowNegative);
//   - the text (trimmed, counted in runes) must be MinLength..MaxLength;
//   - an LLM fallback with LLM labels becomes a sample with source "llm"
//     when its LLM confidence, if given, is at least MinLLMConfidence;
//   - an ML answer confirmed by positive feedback becomes a "feedback"
//     sample labelled with PrimaryIntent;
//   - an unconfirmed ML answer is rejected, so the model cannot train on
//     itself, unless ModelShare > 0: then answers with Confidence at least
//     ModelMinConfidence become "model" samples, at most ModelShare of the
//     samples of one export;
//   - labels must be non-empty and, if Labels is set, all in it;
//   - no session gives more than MaxPerSession samples, and no normalized
//     text more than MaxPerText, per CapPeriod of query time (counted
//     within one export), so that one client flooding the server with
//     queries and feedback cannot outweigh everyone else.
type ExportPolicy struct {
	// MinLLMConfidence: default 0.7; negative disables the check.
	MinLLMConfidence float64
	// MinLength and MaxLength in runes: defaults 3 and 500; negative
	// disables.
	MinLength, MaxLength int
	// Labels is the known label set; empty accepts any label.
	Labels []string
	// ModelShare is the largest share of "model" samples per export
	// (0 = none, the default); ModelMinConfidence defaults to 0.9.
	ModelShare         float64
	ModelMinConfidence float64
	// AllowFailure and AllowNegative switch off the first two rules.
	AllowFailure, AllowNegative bool
	// MaxPerSession caps the samples one session id gives per CapPeriod
	// (default 20; negative = no cap). Queries without a session id are
	// capped by text only. MaxPerText caps the samples of one normalized
	// text per CapPeriod (default 5; negative = no cap). CapPeriod is a
	// window of query time (default 24h), counted within one export.
	MaxPerSession, MaxPerText int
	CapPeriod                 time.Duration
	// Settle is how old a query must be before it is exported, so that
	// feedback arriving later can still be joined to it. Default 0: every
	// query present at export time is considered, and feedback that
	// arrives after its query was exported is counted in
	// ExportStats.LateFeedback and ignored.
	Settle time.Duration
}

func (p ExportPolicy) withDefaults() ExportPolicy {
	if p.MinLLMConfidence == 0 {
		p.MinLLMConfidence = 0.7
	}
	if p.MinLength == 0 {
		p.MinLength = 3
	}
	if p.MaxLength == 0 {
		p.MaxLength = 500
	}
	if p.ModelMinConfidence == 0 {
		p.ModelMinConfidence = 0.9
	}
	if p.MaxPerSession == 0 {
		p.MaxPerSession = 20
	}
	if p.MaxPerText == 0 {
		p.MaxPerText = 5
	}
	if p.CapPeriod <= 0 {
		p.CapPeriod = 24 * time.Hour
	}
	return p
}

// Judge applies the policy to one query, with any later feedback already
// folded into q.Positive and q.Success. It returns the sample, or the
// rejection reason. A "model" sample is returned with an empty reason; the
// ModelShare cap is applied by the caller across an export.
func (p ExportPolicy) Judge(q Query) (Sample, string) {
	p = p.withDefaults()
	return p.judge(&q)
}

// judge is Judge for a policy with defaults already applied.
func (p *ExportPolicy) judge(q *Query) (Sample, string) {
	if q.Success != nil && !*q.Success && !p.AllowFailure {
		return Sample{}, ReasonFailure
	}
	if q.Positive != nil && !*q.Positive && !p.AllowNegative {
		return Sample{}, ReasonNegative
	}
	text := strings.TrimSpace(q.Text)
	n := utf8.RuneCountInString(text)
	if p.MinLength > 0 && n < p.MinLength {
		return Sample{}, ReasonTooShort
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		return Sample{}, ReasonTooLong
	}
	s := Sample{Text: text, Timestamp: q.Timestamp.UTC(), QueryID: q.QueryID, SessionID: q.SessionID}
	switch {
	case q.Method == MethodLLM:
		if q.LLMConfidence != 0 && p.MinLLMConfidence > 0 && q.LLMConfidence < p.MinLLMConfidence {
			return Sample{}, ReasonLLMConfidence
		}
		s.Source, s.Labels, s.Confidence = SourceLLM, cleanLabels(q.LLMLabels), q.LLMConfidence
	case q.Positive != nil && *q.Positive:
		s.Source, s.Labels, s.Confidence = SourceFeedback, cleanLabels([]string{q.PrimaryIntent}), q.Confidence
	case p.ModelShare > 0 && q.Confidence >= p.ModelMinConfidence:
		s.Source, s.Labels, s.Confidence = SourceModel, cleanLabels([]string{q.PrimaryIntent}), q.Confidence
	default:
		return Sample{}, ReasonUnconfirmed
	}
	if len(s.Labels) == 0 {
		return Sample{}, ReasonNoLabels
	}
	if len(p.Labels) > 0 {
		for _, l := range s.Labels {
			if !slices.Contains(p.Labels, l) {
				return Sample{}, ReasonUnknownLabel
			}
		}
	}
	return s, ""
}

// cleanLabels trims labels and drops empty and repeated ones.
func cleanLabels(in []string) []string {
	out := make([]string, 0, len(in))
	for _, l := range in {
		if l = strings.TrimSpace(l); l != "" && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// capper applies ExportPolicy.MaxPerSession and MaxPerText over one export.
type capper struct {
	pol     *ExportPolicy
	session map[capKey]int
	text    map[capKey]int
}

type capKey struct {
	key    string
	period int64
}

func newCapper(pol *ExportPolicy) *capper {
	return &capper{pol: pol, session: map[capKey]int{}, text: map[capKey]int{}}
}

// reject returns the cap smp is over, or "" (and counts it).
func (c *capper) reject(smp *Sample) string {
	period := smp.Timestamp.UnixNano() / int64(c.pol.CapPeriod)
	tk := capKey{Normalize(smp.Text), period}
	if c.pol.MaxPerText > 0 && c.text[tk] >= c.pol.MaxPerText {
		return ReasonTextCap
	}
	sk := capKey{smp.SessionID, period}
	if c.pol.MaxPerSession > 0 && smp.SessionID != "" && c.session[sk] >= c.pol.MaxPerSession {
		return ReasonSessionCap
	}
	c.text[tk]++
	if smp.SessionID != "" {
		c.session[sk]++
	}
	return ""
}
