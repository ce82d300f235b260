package dataset

import (
	"bytes"
	"context"
	"os"
	"unicode/utf8"
)

// PendingExactBytes is the size of the not-yet-exported query-log tail up
// to which Pending counts exactly (a dry run of Export); beyond it Pending
// estimates.
const PendingExactBytes = 64 << 20

// Pending reports how many samples are new since the committed mark: the
// complete lines of training_dataset.jsonl after the committed mark (exact,
// a newline count), plus what the next Export would add from the queries
// logged since the last export.
//
// That second part is exact (see PendingExact) when the unexported tail of
// the query log is at most PendingExactBytes, which is the usual case when
// Export runs regularly. Beyond that, Pending estimates it with a byte scan
// of the Logger's fixed field layout that applies the cheap rules of the
// ExportPolicy (failure, negative feedback given at log time, text length,
// LLM confidence, empty labels, the ModelShare cap) but not the feedback
// join or the Labels set: the estimate is an upper bound (feedback that
// arrives later and rejects a query is not subtracted; positive feedback
// records are counted as if each confirmed an otherwise rejected query).
// Pending takes no lock and writes nothing.
func (s *FileStore) Pending(ctx context.Context) (int, error) {
	return s.pending(ctx, PendingExactBytes)
}

// PendingExact is Pending without the estimate: the count of exported
// samples after the committed mark plus exactly what Export would add now
// (the same decoding, feedback join and policy). It costs about as much CPU
// as an Export without the writes.
func (s *FileStore) PendingExact(ctx context.Context) (int, error) {
	return s.pending(ctx, -1)
}

func (s *FileStore) pending(ctx context.Context, exactBytes int64) (int, error) {
	if err := s.checkOpen(); err != nil {
		return 0, err
	}
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return 0, err
	}
	if fi, err := os.Stat(s.trainingPath()); err == nil && cm.Offset > fi.Size() {
		cm.Mark = Mark{} // replaced: everything is new, as Snapshot sees it
	}
	n := 0
	err := scanChunks(ctx, s.trainingPath(), cm.Offset, s.maxRecord(), func(buf []byte, _ int64) error {
		n += bytes.Count(buf, []byte{'\n'}) - blankLines(buf)
		return nil
	})
	if err != nil {
		return 0, err
	}
	var wm exportWatermark
	if err := readJSON(s.exportState(), &wm); err != nil {
		return 0, err
	}
	segs, err := allSegments(s.queryLogPath())
	if err != nil {
		return 0, err
	}
	start, ok := startPosition(segs, wm)
	if !ok {
		return n, nil
	}
	tail := int64(0)
	for i := start.seg; i < len(segs); i++ {
		if fi, err := os.Stat(segs[i].path); err == nil {
			tail += fi.Size()
		}
	}
	tail -= start.off
	if exactBytes < 0 || tail <= exactBytes {
		m, err := s.dryRun(ctx)
		return n + m, err
	}
	m, err := s.estimate(ctx, segs, start)
	return n + m, err
}

// blankLines counts the lines of buf that are only white space (rare;
// jsonl.Reader skips them). It looks only when two newlines are adjacent or
// a line is short.
func blankLines(buf []byte) int {
	n := 0
	prev := -1
	for {
		i := bytes.IndexByte(buf[prev+1:], '\n')
		if i < 0 {
			return n
		}
		if i < 8 && len(bytes.TrimSpace(buf[prev+1:prev+1+i])) == 0 {
			n++
		}
		prev += i + 1
	}
}

func (s *FileStore) maxRecord() int {
	if s.opts.MaxRecord <= 0 {
		return 1 << 20
	}
	return s.opts.MaxRecord
}

// dryRun counts what Export would add now (planExport), without writing.
func (s *FileStore) dryRun(ctx context.Context) (int, error) {
	p, err := s.planExport(ctx, func(*Sample) error { return nil })
	return p.st.Exported, err
}

var (
	preQuery    = []byte(`{"schema":1,"type":"query","query_id":"`)
	preFeedback = []byte(`{"schema":1,"type":"feedback","query_id":"`)
	keyTS       = []byte(`,"timestamp":"`)
	keyMethod   = []byte(`,"classification_method":"`)
	keyLabels   = []byte(`,"llm_labels":[`)
	keyLLMConf  = []byte(`,"llm_confidence":`)
	keySuccess  = []byte(`,"success":`)
	keyPositive = []byte(`,"positive":`)
	keyText     = []byte(`,"text_input":"`)
)

// estimate is Pending's upper-bound estimate of what Export would add from
// the tail of the log starting at start.
func (s *FileStore) estimate(ctx context.Context, segs []segment, start position) (int, error) {
	pol := s.opts.Policy.withDefaults()
	maxRec := s.maxRecord()
	var dec queryDecoder
	var r record
	samples, models := 0, 0
	for i := start.seg; i < len(segs); i++ {
		off := int64(0)
		if i == start.seg {
			off = start.off
		}
		err := scanChunks(ctx, segs[i].path, off, maxRec, func(buf []byte, _ int64) error {
			for len(buf) > 0 {
				e := bytes.IndexByte(buf, '\n')
				line, ok := trimLine(buf[:e+1], maxRec)
				buf = buf[e+1:]
				if !ok {
					continue
				}
				switch quickJudge(&pol, line) {
				case quickSample:
					samples++
				case quickModel:
					models++
				case quickUnknown:
					// Not the Logger's layout: decode it.
					if decodeLine(&dec, line, &r) != nil {
						continue
					}
					switch {
					case r.Type == TypeFeedback:
						if r.Positive != nil && *r.Positive && (r.Success == nil || *r.Success || pol.AllowFailure) {
							samples++
						}
					case r.Type == TypeQuery && r.QueryID != "" && r.Text != "":
						if smp, reason := pol.judge(&r.Query); reason == "" {
							if smp.Source == SourceModel {
								models++
							} else {
								samples++
							}
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	return samples + min(models, modelAllowance(pol, samples, models)), nil
}

const (
	quickNone    = iota // certainly not a sample (or not a query)
	quickSample         // may become a sample
	quickModel          // may become a "model" sample
	quickUnknown        // not in the Logger's layout
)

// quickJudge applies the cheap ExportPolicy rules to a line in the Logger's
// field layout (see appendQuery and appendFeedback), erring towards
// "sample" whenever it is unsure.
func quickJudge(p *ExportPolicy, line []byte) int {
	var rest []byte
	switch {
	case bytes.HasPrefix(line, preQuery):
		rest = line[len(preQuery):]
	case bytes.HasPrefix(line, preFeedback):
		fbr := line[len(preFeedback):]
		if bytes.Contains(fbr, []byte(`"positive":true`)) &&
			(p.AllowFailure || !bytes.Contains(fbr, []byte(`"success":false`))) {
			return quickSample // may confirm an ML answer
		}
		return quickNone
	case bytes.HasPrefix(line, []byte(`{"schema":1,"type":"segment"`)):
		return quickNone
	default:
		return quickUnknown
	}
	// query_id, timestamp
	i := bytes.IndexByte(rest, '"')
	if i < 0 || bytes.IndexByte(rest[:i], '\\') >= 0 {
		return quickUnknown
	}
	rest = rest[i+1:]
	if !bytes.HasPrefix(rest, keyTS) {
		return quickUnknown
	}
	rest = rest[len(keyTS):]
	if i = bytes.IndexByte(rest, '"'); i < 0 {
		return quickUnknown
	}
	rest = rest[i+1:]
	if !bytes.HasPrefix(rest, keyMethod) {
		return quickUnknown
	}
	rest = rest[len(keyMethod):]
	llm := false
	switch {
	case bytes.HasPrefix(rest, []byte(`llm"`)):
		llm, rest = true, rest[4:]
	case bytes.HasPrefix(rest, []byte(`ml"`)):
		rest = rest[3:]
	default:
		return quickUnknown
	}
	hasLabels := false
	if bytes.HasPrefix(rest, keyLabels) {
		rest = rest[len(keyLabels):]
		if i = bytes.IndexByte(rest, ']'); i < 0 {
			return quickUnknown
		}
		hasLabels = i > 2 // more than ""
		rest = rest[i+1:]
	}
	llmConf := 0.0
	if bytes.HasPrefix(rest, keyLLMConf) {
		rest = rest[len(keyLLMConf):]
		var s jsonScan
		s.b = rest
		f, ok := s.float()
		if !ok {
			return quickUnknown
		}
		llmConf, rest = f, rest[s.i:]
	}
	if bytes.HasPrefix(rest, keySuccess) {
		rest = rest[len(keySuccess):]
		if bytes.HasPrefix(rest, []byte("false")) && !p.AllowFailure {
			return quickNone
		}
	}
	positive := 0
	if i = bytes.Index(rest, keyPositive); i >= 0 && i < 16 {
		rest = rest[i+len(keyPositive):]
		if bytes.HasPrefix(rest, []byte("false")) {
			if !p.AllowNegative {
				return quickNone
			}
			positive = -1
		} else {
			positive = 1
		}
	}
	// The text is the last field.
	j := bytes.LastIndex(rest, keyText)
	if j < 0 || !bytes.HasSuffix(rest, []byte(`"}`)) {
		return quickUnknown
	}
	text := rest[j+len(keyText) : len(rest)-2]
	if bytes.IndexByte(text, '\\') < 0 {
		n := utf8.RuneCount(bytes.TrimSpace(text))
		if (p.MinLength > 0 && n < p.MinLength) || (p.MaxLength > 0 && n > p.MaxLength) {
			return quickNone
		}
	}
	switch {
	case llm:
		if llmConf != 0 && p.MinLLMConfidence > 0 && llmConf < p.MinLLMConfidence {
			return quickNone
		}
		if !hasLabels {
			return quickNone
		}
		return quickSample
	case positive == 1:
		return quickSample
	case p.ModelShare > 0:
		return quickModel // the confidence check is left out: an upper bound
	}
	return quickNone // unless later positive feedback confirms it (counted there)
}

// startPosition is where the next export starts, from the watermark (the
// same rules as Export); ok is false when there is no log.
func startPosition(segs []segment, wm exportWatermark) (position, bool) {
	if len(segs) == 0 {
		return position{}, false
	}
	start := position{}
	if wm.Seq > 0 {
		start.seg = len(segs)
		for i, sg := range segs {
			if sg.seq == wm.Seq {
				start = position{seg: i, off: wm.Offset, line: wm.Line}
				break
			}
			if sg.seq > wm.Seq {
				start = position{seg: i}
				break
			}
		}
		if start.seg == len(segs) && segs[len(segs)-1].seq < wm.Seq {
			start = position{}
		}
	}
	return start, start.seg < len(segs)
}
