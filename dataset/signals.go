package dataset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
	"unicode/utf8"

	"moodfood/internal/jsonl"
	"moodfood/internal/nofollow"
	"moodfood/trigger"
)

// Signals computes live signals over the last n windows of the query log,
// oldest first: window i covers [now-(n-i)*window, now-(n-i-1)*window).
// oov, if non-nil, returns the unknown and total token counts of a text
// against the deployed model's vocabulary; when nil the OOV fields stay zero.
//
// It reads only the tail of the log: in each file, newest segment first, it
// seeks backwards in 1 MiB steps until it finds a record older than the
// first window, then reads forward. Damaged lines are skipped. Queries are
// assigned to windows by their timestamps, which are nearly monotonic in
// the log (group commit preserves call order).
func (s *FileStore) Signals(ctx context.Context, now time.Time, window time.Duration, n int,
	oov func(text string) (unknown, total int)) ([]trigger.Signals, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	if n <= 0 || window <= 0 {
		return nil, nil
	}
	from := now.Add(-time.Duration(n) * window)
	segs, err := allSegments(s.queryLogPath())
	if err != nil {
		return nil, err
	}
	type span struct {
		path string
		off  int64
	}
	var spans []span
	for i := len(segs) - 1; i >= 0; i-- {
		off, older, err := tailStart(segs[i].path, from)
		if err != nil {
			return nil, err
		}
		spans = append(spans, span{segs[i].path, off})
		if older {
			break
		}
	}
	acc := newSignalAcc(from, window, n, oov)
	for i := len(spans) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := acc.readFrom(spans[i].path, spans[i].off, s.opts.MaxRecord); err != nil {
			return nil, err
		}
	}
	return acc.result(), nil
}

var tsKey = []byte(`"timestamp":"`)

// lineTime extracts the timestamp of a record without a full parse.
func lineTime(line []byte) (time.Time, bool) {
	i := bytes.Index(line, tsKey)
	if i < 0 {
		return time.Time{}, false
	}
	rest := line[i+len(tsKey):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}

// tailStart finds an offset in path at a line start from which every record
// newer than from follows. older reports whether a record older than from
// was seen (so earlier files need not be read).
func tailStart(path string, from time.Time) (off int64, older bool, err error) {
	f, err := nofollow.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false, fmt.Errorf("dataset: %w", err)
	}
	const step = 1 << 20
	buf := make([]byte, 64<<10)
	for pos := fi.Size() - step; ; pos -= step {
		if pos <= 0 {
			return 0, firstOlder(f, buf, from), nil
		}
		m, _ := f.ReadAt(buf, pos)
		chunk := buf[:m]
		// Find the first record after pos whose timestamp parses.
		k := bytes.IndexByte(chunk, '\n')
		for k >= 0 && k+1 < len(chunk) {
			rest := chunk[k+1:]
			e := bytes.IndexByte(rest, '\n')
			if e < 0 {
				break
			}
			if t, ok := lineTime(rest[:e]); ok {
				if t.Before(from) {
					return pos + int64(k) + 1, true, nil
				}
				break
			}
			k += 1 + e
		}
	}
}

// firstOlder reports whether the file's first timestamped record is before from.
func firstOlder(f *os.File, buf []byte, from time.Time) bool {
	m, _ := f.ReadAt(buf, 0)
	for _, line := range bytes.Split(buf[:m], []byte{'\n'}) {
		if t, ok := lineTime(line); ok {
			return t.Before(from)
		}
	}
	return false
}

type signalAcc struct {
	from   time.Time
	window time.Duration
	oov    func(string) (int, int)
	w      []trigger.Signals
	counts []map[string]int
	fbOK   []int
	llm    []int
	conf   []float64
	unk    []int
}

func newSignalAcc(from time.Time, window time.Duration, n int, oov func(string) (int, int)) *signalAcc {
	a := &signalAcc{from: from, window: window, oov: oov,
		w: make([]trigger.Signals, n), counts: make([]map[string]int, n),
		fbOK: make([]int, n), llm: make([]int, n), conf: make([]float64, n), unk: make([]int, n)}
	for i := range a.w {
		a.w[i].Start = from.Add(time.Duration(i) * window)
		a.w[i].End = a.w[i].Start.Add(window)
		a.counts[i] = map[string]int{}
	}
	return a
}

func (a *signalAcc) readFrom(path string, off int64, maxRecord int) error {
	f, err := nofollow.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	var r record
	var dec queryDecoder
	rd := jsonl.NewReaderSize(f, maxRecord, chunkSize)
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("dataset: signals: %w", err)
		}
		t, ok := lineTime(line)
		if !ok || t.Before(a.from) {
			continue
		}
		i := int(t.Sub(a.from) / a.window)
		if i >= len(a.w) {
			continue
		}
		// The fast decoder, as Export uses it; encoding/json for what it
		// does not take (invalid UTF-8 included, which encoding/json accepts).
		if !(utf8.Valid(line) && dec.decode(line, &r)) && decodeRecord(line, &r) != nil {
			continue
		}
		if r.Type != TypeQuery {
			continue
		}
		a.add(i, &r.Query)
	}
}

func (a *signalAcc) add(i int, q *Query) {
	if q.Corrects != "" {
		return // a second answer to a query already counted
	}
	w := &a.w[i]
	w.Queries++
	a.conf[i] += q.Confidence
	if q.PrimaryIntent != "" {
		a.counts[i][q.PrimaryIntent]++
	}
	if q.Method == MethodLLM {
		a.llm[i]++
		if len(q.LLMLabels) > 0 {
			w.Fallbacks++
			if slices.Contains(q.LLMLabels, q.PrimaryIntent) {
				a.fbOK[i]++
			}
		}
	}
	if a.oov != nil {
		u, t := a.oov(q.Text)
		a.unk[i] += u
		w.Tokens += t
	}
}

func (a *signalAcc) result() []trigger.Signals {
	for i := range a.w {
		w := &a.w[i]
		w.Intents = map[string]float64{}
		if w.Queries > 0 {
			w.FallbackRate = float64(a.llm[i]) / float64(w.Queries)
			w.MeanConfidence = a.conf[i] / float64(w.Queries)
			total := 0
			for _, c := range a.counts[i] {
				total += c
			}
			for k, c := range a.counts[i] {
				w.Intents[k] = float64(c) / float64(total)
			}
		}
		if w.Fallbacks > 0 {
			w.Agreement = float64(a.fbOK[i]) / float64(w.Fallbacks)
		}
		if w.Tokens > 0 {
			w.OOVRate = float64(a.unk[i]) / float64(w.Tokens)
		}
	}
	return a.w
}

// SignalCounter computes the live signals of Signals over queries read from
// any store: Add each query, then Result. Other dataset stores (a database)
// use it so that every store measures alike. It is not safe for concurrent
// use.
type SignalCounter struct{ a *signalAcc }

// NewSignalCounter counts over the n windows of length window ending at
// now, as Signals does; oov may be nil.
func NewSignalCounter(now time.Time, window time.Duration, n int, oov func(text string) (unknown, total int)) *SignalCounter {
	return &SignalCounter{newSignalAcc(now.Add(-time.Duration(n)*window), window, n, oov)}
}

// Add counts q in the window of its Timestamp; a query outside every window
// is ignored.
func (c *SignalCounter) Add(q *Query) {
	a := c.a
	if q.Timestamp.Before(a.from) {
		return
	}
	if i := int(q.Timestamp.Sub(a.from) / a.window); i < len(a.w) {
		a.add(i, q)
	}
}

// Result returns the windows, oldest first.
func (c *SignalCounter) Result() []trigger.Signals { return c.a.result() }
