package dataset

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Schema is the version written in every query-log record's "schema" field.
const Schema = 1

// TimeFormat is the timestamp layout of every record this package writes:
// UTC RFC 3339 with microsecond precision.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// Method is how a query was answered.
type Method string

// The classification methods (the seed's classification_method values).
const (
	// MethodML: the deployed ML classifier answered.
	MethodML Method = "ml"
	// MethodLLM: the LLM fallback answered; its labels are in LLMLabels.
	MethodLLM Method = "llm"
)

// Record types in the query log ("type" field).
const (
	TypeQuery    = "query"
	TypeFeedback = "feedback"
	// TypeSegment is the header line of a query-log segment.
	TypeSegment = "segment"
)

// IntentScore is one ranked prediction of the ML classifier.
type IntentScore struct {
	Intent string  `json:"intent"`
	Score  float64 `json:"score"`
}

// Query is one served query as the backend logs it. PrimaryIntent,
// AllIntents and Confidence are always the ML classifier's prediction, also
// when the LLM fallback answered (Method == MethodLLM); the LLM's answer is
// LLMLabels. That is what makes the live agreement signal measurable.
//
// Encoded field names follow the seed: query_id, timestamp, text_input,
// primary_intent, confidence, all_intents, classification_method,
// llm_labels, model_version, plus schema and type.
type Query struct {
	// QueryID identifies the query; Logger.Log fills a random one if empty.
	QueryID string `json:"query_id"`
	// Timestamp is when the query was served; Log fills now if zero. It is
	// written in UTC (TimeFormat).
	Timestamp time.Time `json:"timestamp"`
	// SessionID is optional.
	SessionID string `json:"session_id,omitempty"`
	// Text is the user's input (personal data: see LoggerOptions.Retention).
	Text          string        `json:"text_input"`
	Method        Method        `json:"classification_method"`
	PrimaryIntent string        `json:"primary_intent,omitempty"`
	Confidence    float64       `json:"confidence"`
	AllIntents    []IntentScore `json:"all_intents,omitempty"`
	// ModelVersion is the version of the model that actually answered.
	ModelVersion string `json:"model_version,omitempty"`
	// LLMLabels are the fallback's labels when the LLM was asked.
	LLMLabels []string `json:"llm_labels,omitempty"`
	// LLMConfidence is the LLM's confidence when it gave one; 0 = not given.
	LLMConfidence float64 `json:"llm_confidence,omitempty"`
	// Success is the request outcome when known (nil = unknown); a query
	// with Success == false is never exported.
	Success *bool `json:"success,omitempty"`
	// Positive is user feedback known at log time (nil = none). Later
	// feedback is logged with Logger.Feedback.
	Positive *bool `json:"positive,omitempty"`
	// LatencyMS is the serving latency in milliseconds.
	LatencyMS float64 `json:"latency_ms,omitempty"`
	// Corrects, on a record the LLM answered, is the QueryID of an earlier
	// query whose ML answer the user rejected and which was therefore
	// asked again (see serve.Server.Correct): the record is a second answer
	// to that query, not a new query. The export takes it like any LLM
	// answer; the live signals (Signals, SignalCounter) and the per-day
	// statistics (LogStats) leave it out, so that one rejected answer is
	// not counted as two queries.
	Corrects string `json:"corrects,omitempty"`
}

// Feedback is user feedback that arrives after its query, logged as its own
// record {"schema":1,"type":"feedback","query_id":...,"positive":true} and
// joined to the query by Export (see ExportPolicy.Settle for the window).
type Feedback struct {
	QueryID   string    `json:"query_id"`
	Timestamp time.Time `json:"timestamp"`
	Positive  bool      `json:"positive"`
	// Success, when set, also reports the request outcome.
	Success *bool `json:"success,omitempty"`
}

// record is the union of all query-log record types, for decoding.
type record struct {
	Schema int    `json:"schema"`
	Type   string `json:"type"`
	Seq    int    `json:"seq"`
	Query
}

var errInvalidUTF8 = errors.New("dataset: invalid UTF-8")

// decodeRecord parses one query-log line. A line without "type" is a query.
func decodeRecord(line []byte, r *record) error {
	*r = record{}
	if !utf8.Valid(line) {
		return errInvalidUTF8
	}
	if err := json.Unmarshal(line, r); err != nil {
		return err
	}
	if r.Type == "" {
		r.Type = TypeQuery
	}
	return nil
}

// appendQuery appends q as one JSON object (no newline). Field order is fixed
// so that cheap scanners (Pending) can rely on it.
func appendQuery(b []byte, q *Query) []byte {
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, Schema, 10)
	b = append(b, `,"type":"query","query_id":`...)
	b = appendString(b, q.QueryID, false)
	b = append(b, `,"timestamp":"`...)
	b = q.Timestamp.UTC().AppendFormat(b, TimeFormat)
	b = append(b, '"')
	b = append(b, `,"classification_method":`...)
	b = appendString(b, string(q.Method), false)
	if len(q.LLMLabels) > 0 {
		b = append(b, `,"llm_labels":[`...)
		for i, l := range q.LLMLabels {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, l, false)
		}
		b = append(b, ']')
	}
	if q.LLMConfidence != 0 {
		b = append(b, `,"llm_confidence":`...)
		b = appendFloat(b, q.LLMConfidence)
	}
	if q.Success != nil {
		b = append(b, `,"success":`...)
		b = strconv.AppendBool(b, *q.Success)
	}
	if q.Positive != nil {
		b = append(b, `,"positive":`...)
		b = strconv.AppendBool(b, *q.Positive)
	}
	if q.SessionID != "" {
		b = append(b, `,"session_id":`...)
		b = appendString(b, q.SessionID, false)
	}
	if q.PrimaryIntent != "" {
		b = append(b, `,"primary_intent":`...)
		b = appendString(b, q.PrimaryIntent, false)
	}
	b = append(b, `,"confidence":`...)
	b = appendFloat(b, q.Confidence)
	if len(q.AllIntents) > 0 {
		b = append(b, `,"all_intents":[`...)
		for i, s := range q.AllIntents {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"intent":`...)
			b = appendString(b, s.Intent, false)
			b = append(b, `,"score":`...)
			b = appendFloat(b, s.Score)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if q.ModelVersion != "" {
		b = append(b, `,"model_version":`...)
		b = appendString(b, q.ModelVersion, false)
	}
	if q.LatencyMS != 0 {
		b = append(b, `,"latency_ms":`...)
		b = appendFloat(b, q.LatencyMS)
	}
	if q.Corrects != "" {
		b = append(b, `,"corrects":`...)
		b = appendString(b, q.Corrects, false)
	}
	b = append(b, `,"text_input":`...)
	b = appendString(b, q.Text, false)
	return append(b, '}')
}

// appendFeedback appends f as one JSON object (no newline).
func appendFeedback(b []byte, f *Feedback) []byte {
	b = append(b, `{"schema":`...)
	b = strconv.AppendInt(b, Schema, 10)
	b = append(b, `,"type":"feedback","query_id":`...)
	b = appendString(b, f.QueryID, false)
	b = append(b, `,"timestamp":"`...)
	b = f.Timestamp.UTC().AppendFormat(b, TimeFormat)
	b = append(b, `","positive":`...)
	b = strconv.AppendBool(b, f.Positive)
	if f.Success != nil {
		b = append(b, `,"success":`...)
		b = strconv.AppendBool(b, *f.Success)
	}
	return append(b, '}')
}

// appendFloat appends f in the shortest 'g' form (valid JSON that decodes to
// the same float64, though not always encoding/json's spelling: 1e-05, not
// 0.00001). NaN and ±Inf, which JSON cannot hold, are written as 0 so that a
// bad score never costs the query its log line.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string, escaped exactly as
// encoding/json does: quotes, backslashes and control characters (\b, \f,
// \n, \r, \t short, others as \u00XX), U+2028 and U+2029, and invalid
// UTF-8 as U+FFFD; with html also <, > and & (json.Marshal's default). The
// output never contains a raw newline.
func appendString(b []byte, s string, html bool) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || (c != '<' && c != '>' && c != '&')) {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
