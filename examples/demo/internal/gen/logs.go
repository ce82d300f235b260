package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"
	"unicode/utf8"

	"moodfood/dataset"
)

// The demo query log covers four weeks before logEnd.
var (
	logStart = time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC)
	logDays  = 27
)

const (
	logQueries   = 400
	demoModel    = "demo-v0"
	mlThreshold  = 0.7 // the backend's ML confidence threshold in the story
	llmTimeoutMS = 8000
)

// kind is what happened to one logged query.
type kind int

const (
	kMLOK         kind = iota // ML answered with high confidence, no feedback
	kMLPos                    // ... and the user liked it (inline)
	kMLPosLate                // ... and the user liked it later (feedback record)
	kMLNeg                    // ML answered confidently but wrongly; negative feedback
	kMLRepeat                 // ML answered a popular query that is in the base set
	kLLMHigh                  // LLM fallback with confidence >= 0.7
	kLLMNone                  // LLM fallback without a confidence
	kLLMLow                   // LLM fallback with confidence < 0.7
	kLLMNeg                   // LLM answered, user disliked it (negative feedback)
	kLLMFail                  // LLM timed out: success false, no labels
	kJunkShort                // too short to be a query ("hi")
	kJunkNoIntent             // not about food: LLM says no intent (empty labels)
)

// logMix is how many queries of each kind the log holds (sums to logQueries).
var logMix = []struct {
	k kind
	n int
}{
	{kMLOK, 145}, {kMLPos, 12}, {kMLPosLate, 10}, {kMLNeg, 10}, {kMLRepeat, 8},
	{kLLMHigh, 82}, {kLLMNone, 38}, {kLLMLow, 35},
	{kLLMNeg, 6}, {kLLMFail, 24},
	{kJunkShort, 18}, {kJunkNoIntent, 12},
}

var (
	junkShort    = []string{"hi", "k", "??", "yo", "🍕", "ok", "hm", "a", ".", "Hi", "??!", "no", "ya", "lol", "hey", "sup", "idk", "ty"}
	junkNoIntent = []string{"asdf", "test test", "hello?", "thanks!", "tell me a joke", "who won the game last night",
		"what is 2+2", "are you a robot", "how do i delete my account", "testing 123", "what's your name",
		"translate hello to french"}
)

// event is one line of the log before it is written: a query or a later
// feedback record.
type event struct {
	at time.Time
	q  *dataset.Query
	f  *dataset.Feedback
}

func ptr(b bool) *bool { return &b }

// round3 keeps scores readable.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// buildLog writes the demo query log through dataset.Logger, the serving
// path's own writer, so the records have exactly the shape the backend logs.
func buildLog(base, golden []entry) ([]byte, error) {
	r := &rng{s: logSeed}
	seen := map[string]bool{}
	for _, e := range base {
		seen[normKey(e.Text)] = true
	}
	for _, e := range golden {
		seen[normKey(e.Text)] = true
	}

	// Kinds in random order over sorted timestamps.
	var kinds []kind
	for _, m := range logMix {
		for i := 0; i < m.n; i++ {
			kinds = append(kinds, m.k)
		}
	}
	if len(kinds) != logQueries {
		return nil, fmt.Errorf("log mix sums to %d, want %d", len(kinds), logQueries)
	}
	for i := len(kinds) - 1; i > 0; i-- {
		j := r.intn(i + 1)
		kinds[i], kinds[j] = kinds[j], kinds[i]
	}

	c := &composer{r: r, log: true}
	pk := &labelPicker{r: r, count: map[string]int{}}
	var events []event
	session := ""
	var last time.Time
	junkS, junkN, repeat := 0, 0, 0
	for i, k := range kinds {
		var text string
		var labels []string
		switch k {
		case kJunkShort:
			text = junkShort[junkS%len(junkShort)]
			junkS++
		case kJunkNoIntent:
			text = junkNoIntent[junkN%len(junkNoIntent)]
			junkN++
		case kMLRepeat:
			e := base[(repeat*37+11)%len(base)]
			repeat++
			text, labels = e.Text, e.Labels
		default:
			for tries := 0; ; tries++ {
				if tries > 1000 {
					return nil, fmt.Errorf("cannot generate a new log query")
				}
				ls := pk.pickSet()
				t := c.compose(ls)
				if key := normKey(t); !seen[key] {
					seen[key] = true
					pk.add(ls)
					text, labels = t, sortLabels(ls)
					break
				}
			}
		}
		at := logTime(r, i, labels)
		if session == "" || at.Sub(last) > 20*time.Minute || r.chance(0.6) {
			session = fmt.Sprintf("sess_%08x", uint32(r.next()))
		}
		last = at
		q := &dataset.Query{
			QueryID:   fmt.Sprintf("%016x", r.next()),
			Timestamp: at,
			SessionID: session,
			Text:      text,
		}
		fb := fillQuery(r, q, k, labels)
		events = append(events, event{at: at, q: q})
		if fb != nil {
			events = append(events, event{at: fb.Timestamp, f: fb})
		}
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at.Before(events[j].at) })
	return writeLog(events)
}

// logTime spreads query i over the four weeks, at an hour that fits the
// meal it asks about, with microsecond precision.
func logTime(r *rng, i int, labels []string) time.Time {
	day := i * logDays / logQueries
	hour := []int{7, 8, 9, 11, 12, 12, 13, 15, 17, 18, 19, 19, 20, 21, 22, 23}[r.intn(16)]
	for _, l := range labels {
		switch l {
		case "meal_breakfast":
			hour = 6 + r.intn(5)
		case "meal_lunch":
			hour = 11 + r.intn(3)
		case "meal_dinner":
			hour = 17 + r.intn(4)
		case "meal_late_night":
			hour = (23 + r.intn(4)) % 24
		}
	}
	return logStart.Add(time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour +
		time.Duration(r.intn(3600*1000000))*time.Microsecond)
}

// mlScores returns the ML classifier's ranked intents: the labels in want
// get scores in [hi0, hi1), two other labels get low scores.
func mlScores(r *rng, want []string, hi0, hi1 float64) []dataset.IntentScore {
	var out []dataset.IntentScore
	used := map[string]bool{}
	for _, l := range want {
		out = append(out, dataset.IntentScore{Intent: l, Score: round3(hi0 + (hi1-hi0)*r.float())})
		used[l] = true
	}
	for len(out) < len(want)+2 {
		l := taxonomy[r.intn(len(taxonomy))].Name
		if used[l] {
			continue
		}
		used[l] = true
		out = append(out, dataset.IntentScore{Intent: l, Score: round3(0.02 + 0.2*r.float())})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// wrongLabels is a plausible but wrong prediction for labels.
func wrongLabels(r *rng, labels []string) []string {
	out := []string{}
	for len(out) < 1+r.intn(2) {
		l := taxonomy[r.intn(len(taxonomy))].Name
		bad := false
		for _, x := range append(labels, out...) {
			if x == l {
				bad = true
			}
		}
		if !bad {
			out = append(out, l)
		}
	}
	return out
}

// fillQuery sets the route, predictions and outcome of q for its kind and
// returns a later feedback record, if any.
func fillQuery(r *rng, q *dataset.Query, k kind, labels []string) *dataset.Feedback {
	ml := func(pred []string, hi0, hi1 float64) {
		q.AllIntents = mlScores(r, pred, hi0, hi1)
		q.PrimaryIntent = q.AllIntents[0].Intent
		q.Confidence = q.AllIntents[0].Score
	}
	var fb *dataset.Feedback
	later := func(pos bool) {
		fb = &dataset.Feedback{QueryID: q.QueryID, Positive: pos,
			Timestamp: q.Timestamp.Add(time.Duration(30+r.intn(600)) * time.Second)}
	}
	switch k {
	case kMLOK, kMLPos, kMLPosLate, kMLRepeat, kMLNeg:
		q.Method = dataset.MethodML
		q.ModelVersion = demoModel
		q.LatencyMS = round3(6 + 30*r.float())
		q.Success = ptr(true)
		if k == kMLNeg {
			ml(wrongLabels(r, labels), 0.71, 0.86)
			if r.chance(0.5) {
				q.Positive = ptr(false)
			} else {
				later(false)
			}
		} else {
			ml(labels, 0.72, 0.98)
		}
		switch k {
		case kMLPos:
			q.Positive = ptr(true)
		case kMLPosLate:
			later(true)
		case kMLRepeat:
			if r.chance(0.3) {
				q.Positive = ptr(true)
			}
		}
	case kLLMHigh, kLLMNone, kLLMLow, kLLMNeg:
		q.Method = dataset.MethodLLM
		ml(labels[:1], 0.25, 0.6)
		q.LLMLabels = labels
		q.LatencyMS = round3(600 + 2900*r.float())
		q.Success = ptr(true)
		switch k {
		case kLLMHigh:
			q.LLMConfidence = round3(0.72 + 0.26*r.float())
		case kLLMLow:
			q.LLMConfidence = round3(0.4 + 0.29*r.float())
		case kLLMNeg:
			q.LLMConfidence = round3(0.7 + 0.2*r.float())
			later(false)
		}
	case kLLMFail:
		q.Method = dataset.MethodLLM
		ml(wrongLabels(r, labels), 0.15, 0.5)
		q.LatencyMS = llmTimeoutMS
		q.Success = ptr(false)
	case kJunkShort:
		q.Method = dataset.MethodML
		q.ModelVersion = demoModel
		ml(wrongLabels(r, nil), 0.05, 0.3)
		q.LatencyMS = round3(3 + 5*r.float())
		q.Success = ptr(true)
	case kJunkNoIntent:
		q.Method = dataset.MethodLLM
		ml(wrongLabels(r, nil), 0.05, 0.3)
		q.LLMLabels = nil // the LLM found no food intent
		q.LLMConfidence = round3(0.8 + 0.18*r.float())
		q.LatencyMS = round3(500 + 1000*r.float())
		q.Success = ptr(true)
	}
	return fb
}

// writeLog writes events through a dataset.Logger with a fixed clock into a
// temporary directory and returns the file's bytes.
func writeLog(events []event) ([]byte, error) {
	dir, err := os.MkdirTemp("", "moodfood-demo-log-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "query_logs.jsonl")
	lg, err := dataset.OpenLogger(path, &dataset.LoggerOptions{
		FlushInterval: time.Hour,
		FlushRecords:  1 << 16,
		RotateSize:    -1,
		RotateAge:     -1,
		Retention:     -1,
		Now:           func() time.Time { return logStart },
	})
	if err != nil {
		return nil, err
	}
	for _, e := range events {
		if e.q != nil {
			err = lg.Log(*e.q)
		} else {
			err = lg.Feedback(*e.f)
		}
		if err != nil {
			lg.Close()
			return nil, err
		}
	}
	if err := lg.Close(); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// exportable reports whether q is a good training sample under the default
// export policy (dataset.ExportPolicy's zero value): an LLM fallback with
// labels whose confidence is at least 0.7 or not given, or an ML answer with positive
// feedback; never a failed request or one with negative feedback; text of
// 3 to 500 characters.
func exportable(q *dataset.Query, positive *bool) bool {
	n := utf8.RuneCountInString(q.Text)
	if n < 3 || n > 500 {
		return false
	}
	if q.Success != nil && !*q.Success {
		return false
	}
	if positive != nil && !*positive {
		return false
	}
	switch q.Method {
	case dataset.MethodLLM:
		return len(q.LLMLabels) > 0 && (q.LLMConfidence == 0 || q.LLMConfidence >= 0.7)
	case dataset.MethodML:
		return positive != nil && *positive
	}
	return false
}
