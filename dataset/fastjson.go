package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Fast paths for the hot records: query-log lines read by Export and
// Pending, and sample lines written by Export and read by Snapshot.
//
// Every fast function either produces exactly what encoding/json would, or
// reports false, and the caller falls back to encoding/json. The fast
// decoders therefore accept only a strict subset of JSON: known keys spelled
// exactly (no case folding, no escapes in keys), no null values, no \u
// escapes in strings, plain numbers. Anything else (a hand-edited line, a
// header record, damage) takes the slow path, so damaged lines are judged by
// encoding/json exactly as before.

// jsonScan is a cursor over one JSON line.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// endLine reads the closing brace of the line's object and reports whether
// only white space follows it.
func (s *jsonScan) endLine() bool {
	if !s.eat('}') {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

func (s *jsonScan) eat(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a JSON string and returns its raw contents when it has no
// escapes, or its unescaped contents in scratch when it has only the short
// escapes. ok is false for \u escapes, control characters or a bad string.
func (s *jsonScan) str(scratch *[]byte) (v []byte, ok bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	s.i++
	start := s.i
	for j := s.i; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			s.i = j + 1
			return s.b[start:j], true
		}
		if c < 0x20 {
			return nil, false
		}
		if c == '\\' {
			return s.strEsc(start, scratch)
		}
	}
	return nil, false
}

func (s *jsonScan) strEsc(start int, scratch *[]byte) ([]byte, bool) {
	out := (*scratch)[:0]
	j := start
	for j < len(s.b) {
		c := s.b[j]
		switch {
		case c == '"':
			s.i = j + 1
			*scratch = out
			return out, true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if j+1 >= len(s.b) {
				return nil, false
			}
			switch s.b[j+1] {
			case '"', '\\', '/':
				out = append(out, s.b[j+1])
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			default:
				return nil, false // \u and invalid escapes: slow path
			}
			j += 2
		default:
			out = append(out, c)
			j++
		}
	}
	return nil, false
}

// rawStr reads a string without escapes and returns its contents.
func (s *jsonScan) rawStr() ([]byte, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		if c == '"' {
			s.i = j + 1
			return s.b[start:j], true
		}
		if c < 0x20 || c == '\\' {
			return nil, false
		}
	}
	return nil, false
}

// key reads an object key (without escapes) and the colon after it.
func (s *jsonScan) key() ([]byte, bool) {
	k, ok := s.rawStr()
	return k, ok && s.eat(':')
}

// num reads a JSON number token (validated against the JSON grammar).
func (s *jsonScan) num() ([]byte, bool) {
	s.ws()
	b, i := s.b, s.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return nil, false
		}
	}
	s.i = i
	return b[start:i], true
}

func (s *jsonScan) float() (float64, bool) {
	n, ok := s.num()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(n), 64)
	return f, err == nil
}

// skipFloat validates a number that is not needed. Only a number with an
// exponent or many digits can be out of float64 range (an error for
// encoding/json), so only those are parsed.
func (s *jsonScan) skipFloat() bool {
	n, ok := s.num()
	if !ok {
		return false
	}
	if len(n) > 300 || bytes.IndexAny(n, "eE") >= 0 {
		_, err := strconv.ParseFloat(string(n), 64)
		return err == nil
	}
	return true
}

func (s *jsonScan) int() (int, bool) {
	n, ok := s.num()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || int64(int(v)) != v {
		return 0, false
	}
	return int(v), true
}

func (s *jsonScan) boolean() (bool, bool) {
	s.ws()
	switch {
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		return true, true
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		return false, true
	}
	return false, false
}

// strTo reads a string (as str does) into *dst, or validates it only when
// dst is nil. Values equal to one of known share that constant instead of
// allocating.
func (s *jsonScan) strTo(dst *string, scratch *[]byte, known ...string) bool {
	v, ok := s.str(scratch)
	if !ok || dst == nil {
		return ok
	}
	for _, k := range known {
		if string(v) == k {
			*dst = k
			return true
		}
	}
	*dst = string(v)
	return true
}

// strings reads an array of strings (nil-free: [] gives an empty slice).
func (s *jsonScan) strings(dst []string, scratch *[]byte) ([]string, bool) {
	if !s.eat('[') {
		return nil, false
	}
	if dst == nil {
		dst = []string{}
	}
	if s.eat(']') {
		return dst, true
	}
	for {
		v, ok := s.str(scratch)
		if !ok {
			return nil, false
		}
		dst = append(dst, string(v))
		if s.eat(',') {
			continue
		}
		return dst, s.eat(']')
	}
}

// time reads a JSON string holding an RFC 3339 time, as time.Time's
// UnmarshalJSON does.
func (s *jsonScan) time(t *time.Time) bool {
	v, ok := s.rawStr()
	if !ok {
		return false
	}
	if ts, ok := fastTime(v); ok {
		*t = ts
		return true
	}
	return t.UnmarshalJSON(s.b[s.i-len(v)-2:s.i]) == nil
}

// fastTime parses "YYYY-MM-DDTHH:MM:SS[.frac]Z", the layout this package
// writes; anything else is left to time.Time.UnmarshalJSON.
func fastTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	d := func(p []byte) (int, bool) {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := d(b[0:4])
	mo, ok2 := d(b[5:7])
	dd, ok3 := d(b[8:10])
	h, ok4 := d(b[11:13])
	mi, ok5 := d(b[14:16])
	sec, ok6 := d(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || dd < 1 || dd > 28 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false // day > 28: let the slow path check the month length
	}
	ns := 0
	if rest := b[19 : len(b)-1]; len(rest) > 0 {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f, ok := d(rest[1:])
		if !ok {
			return time.Time{}, false
		}
		for k := len(rest) - 1; k < 9; k++ {
			f *= 10
		}
		ns = f
	}
	return time.Date(y, time.Month(mo), dd, h, mi, sec, ns, time.UTC), true
}

// skipIntents validates an all_intents array ([{"intent":"..","score":N},...]),
// which Export does not need, without building it.
func (s *jsonScan) skipIntents(scratch *[]byte) bool {
	if !s.eat('[') {
		return false
	}
	if s.eat(']') {
		return true
	}
	for {
		if !s.eat('{') {
			return false
		}
		for first := true; ; first = false {
			if !first && !s.eat(',') {
				break
			}
			k, ok := s.key()
			if !ok {
				return false
			}
			switch string(k) {
			case "intent":
				if _, ok := s.str(scratch); !ok {
					return false
				}
			case "score":
				if !s.skipFloat() {
					return false
				}
			default:
				return false
			}
		}
		if !s.eat('}') {
			return false
		}
		if s.eat(',') {
			continue
		}
		return s.eat(']')
	}
}

// queryDecoder decodes query-log lines for Export and Pending.
type queryDecoder struct {
	scratch  []byte
	success  bool
	positive bool
	// full also fills SessionID, ModelVersion and LatencyMS (validated but
	// not kept otherwise: Export does not need them). AllIntents is never
	// filled, only validated.
	full bool
	// session fills SessionID (the export's per-session cap needs it).
	session bool
}

// keepSession returns dst when d.full or d.session is set, else nil.
func (d *queryDecoder) keepSession(dst *string) *string {
	if d.full || d.session {
		return dst
	}
	return nil
}

// keep returns dst when d.full is set, else nil (validate, don't keep).
func (d *queryDecoder) keep(dst *string) *string {
	if d.full {
		return dst
	}
	return nil
}

// decode fills r from line, like decodeRecord; it returns false when the
// line needs the slow path. Success and Positive point into d and are
// valid until the next call. AllIntents is not filled; nor are SessionID,
// ModelVersion and LatencyMS unless d.full is set.
func (d *queryDecoder) decode(line []byte, r *record) bool {
	*r = record{}
	s := jsonScan{b: line}
	if !s.eat('{') {
		return false
	}
	if s.eat('}') {
		return false
	}
	for {
		k, ok := s.key()
		if !ok {
			return false
		}
		switch string(k) {
		case "schema":
			if r.Schema, ok = s.int(); !ok {
				return false
			}
		case "seq":
			if r.Seq, ok = s.int(); !ok {
				return false
			}
		case "type":
			if !s.strTo(&r.Type, &d.scratch, TypeQuery, TypeFeedback) {
				return false
			}
		case "query_id":
			if !s.strTo(&r.QueryID, &d.scratch) {
				return false
			}
		case "timestamp":
			if !s.time(&r.Timestamp) {
				return false
			}
		case "session_id":
			if !s.strTo(d.keepSession(&r.SessionID), &d.scratch) {
				return false
			}
		case "text_input":
			if !s.strTo(&r.Text, &d.scratch) {
				return false
			}
		case "classification_method":
			if !s.strTo((*string)(&r.Method), &d.scratch, string(MethodML), string(MethodLLM)) {
				return false
			}
		case "primary_intent":
			if !s.strTo(&r.PrimaryIntent, &d.scratch) {
				return false
			}
		case "confidence":
			if r.Confidence, ok = s.float(); !ok {
				return false
			}
		case "all_intents":
			if !s.skipIntents(&d.scratch) {
				return false
			}
		case "corrects":
			if !s.strTo(&r.Corrects, &d.scratch) {
				return false
			}
		case "model_version":
			if !s.strTo(d.keep(&r.ModelVersion), &d.scratch) {
				return false
			}
		case "llm_labels":
			if r.LLMLabels, ok = s.strings(nil, &d.scratch); !ok {
				return false
			}
		case "llm_confidence":
			if r.LLMConfidence, ok = s.float(); !ok {
				return false
			}
		case "success":
			if d.success, ok = s.boolean(); !ok {
				return false
			}
			r.Success = &d.success
		case "positive":
			if d.positive, ok = s.boolean(); !ok {
				return false
			}
			r.Positive = &d.positive
		case "latency_ms":
			if !d.full {
				if !s.skipFloat() {
					return false
				}
			} else if r.LatencyMS, ok = s.float(); !ok {
				return false
			}
		default:
			return false
		}
		if s.eat(',') {
			continue
		}
		if !s.endLine() {
			return false
		}
		if r.Type == "" {
			r.Type = TypeQuery
		}
		return true
	}
}

// decodeSampleFast decodes a sample line as Sample.UnmarshalJSON does, or
// returns false for the slow path.
func decodeSampleFast(line []byte, x *Sample, scratch *[]byte) bool {
	*x = Sample{}
	haveLabels := false
	s := jsonScan{b: line}
	if !s.eat('{') || s.eat('}') {
		return false
	}
	for {
		k, ok := s.key()
		if !ok {
			return false
		}
		switch string(k) {
		case "text":
			if !s.strTo(&x.Text, scratch) {
				return false
			}
		case "labels":
			if x.Labels, ok = s.strings(x.Labels[:0:0], scratch); !ok {
				return false
			}
			haveLabels = true
		case "source":
			if !s.strTo((*string)(&x.Source), scratch, string(SourceLLM), string(SourceFeedback),
				string(SourceSeed), string(SourceHuman), string(SourceModel)) {
				return false
			}
		case "confidence":
			if x.Confidence, ok = s.float(); !ok {
				return false
			}
		case "timestamp":
			if !s.time(&x.Timestamp) {
				return false
			}
		case "query_id":
			if !s.strTo(&x.QueryID, scratch) {
				return false
			}
		case "session_id":
			if !s.strTo(&x.SessionID, scratch) {
				return false
			}
		default:
			return false
		}
		if s.eat(',') {
			continue
		}
		if !s.endLine() {
			return false
		}
		if !haveLabels {
			return false // decodeSample's slow path says why
		}
		if x.Labels == nil {
			x.Labels = []string{}
		}
		return true
	}
}

// errNoLabels refuses a sample line without a "labels" key: a misspelled
// key ("label") must not turn a sample silently into a "no intent" one.
// "No intent" is written "labels": [].
var errNoLabels = errors.New(`no "labels" list (write "labels": [] for no intent)`)

// decodeSample decodes one sample line of a sample file: the fast path,
// else encoding/json. A line without a "labels" list is refused
// (errNoLabels).
func decodeSample(line []byte, x *Sample, scratch *[]byte) error {
	if utf8.Valid(line) && decodeSampleFast(line, x, scratch) {
		return nil
	}
	*x = Sample{}
	var probe struct {
		Labels json.RawMessage `json:"labels"`
	}
	if err := json.Unmarshal(line, x); err != nil {
		return err
	}
	if json.Unmarshal(line, &probe) != nil || len(probe.Labels) == 0 || string(probe.Labels) == "null" {
		return errNoLabels
	}
	return nil
}

// appendSample appends the encoding of x exactly as json.Marshal(x) writes
// it, or returns false (x has a NaN/Inf confidence or a timestamp outside
// years 0..9999) so the caller can use json.Marshal and get its error.
func appendSample(b []byte, x *Sample) ([]byte, bool) {
	if math.IsNaN(x.Confidence) || math.IsInf(x.Confidence, 0) {
		return b, false
	}
	if !x.Timestamp.IsZero() {
		if y := x.Timestamp.Year(); y < 0 || y > 9999 {
			return b, false
		}
	}
	b = append(b, `{"text":`...)
	b = appendString(b, x.Text, true)
	b = append(b, `,"labels":[`...)
	for i, l := range x.Labels {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, l, true)
	}
	b = append(b, ']')
	if x.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, string(x.Source), true)
	}
	if x.Confidence != 0 {
		b = append(b, `,"confidence":`...)
		b = appendJSONFloat(b, x.Confidence)
	}
	if !x.Timestamp.IsZero() {
		b = append(b, `,"timestamp":"`...)
		b = x.Timestamp.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if x.QueryID != "" {
		b = append(b, `,"query_id":`...)
		b = appendString(b, x.QueryID, true)
	}
	if x.SessionID != "" {
		b = append(b, `,"session_id":`...)
		b = appendString(b, x.SessionID, true)
	}
	return append(b, '}'), true
}

// appendJSONFloat formats f as encoding/json does for a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
