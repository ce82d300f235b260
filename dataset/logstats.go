package dataset

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"
)

// DayStats counts the query log's records of one UTC day.
type DayStats struct {
	// Day is the day's midnight, UTC.
	Day time.Time `json:"day"`
	// Queries served; LLM those answered by the LLM fallback
	// (MethodLLM); Compared the fallbacks with LLM labels and Agreed those
	// whose ML top label was among them (the live agreement signal).
	Queries  int `json:"queries"`
	LLM      int `json:"llm"`
	Compared int `json:"compared"`
	Agreed   int `json:"agreed"`
	// Feedback and Positive count feedback on the day's queries (given at
	// log time or by a later feedback record); MLFeedback and MLPositive
	// the part on queries the model answered (MethodML), whose ratio is the
	// ML route's precision as users judge it. A feedback record counts on
	// the day of its query when the query is among the last
	// LogStatsOptions.Remember queries read, otherwise not at all.
	Feedback   int `json:"feedback"`
	Positive   int `json:"positive"`
	MLFeedback int `json:"ml_feedback"`
	MLPositive int `json:"ml_positive"`
}

// FallbackRate is LLM/Queries (0 without queries).
func (d DayStats) FallbackRate() float64 { return ratio(d.LLM, d.Queries) }

// MLPrecision is MLPositive/MLFeedback (0 without feedback).
func (d DayStats) MLPrecision() float64 { return ratio(d.MLPositive, d.MLFeedback) }

func ratio(a, b int) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// LogStatsOptions tunes a LogStats. A nil *LogStatsOptions and every zero
// field mean the default in the field's comment.
type LogStatsOptions struct {
	// Remember is how many recent query ids are kept to attribute later
	// feedback records to their query's day and route (0 = 100000).
	Remember int
	// MaxRecord bounds one line (0 = the store's MaxRecord); longer lines
	// are skipped and counted in Damaged.
	MaxRecord int
}

// LogStats keeps per-day counts of a query log up to date cheaply: each
// Refresh reads only what was appended since the previous one, following
// rotation by the segments' sequence numbers (a segment already read is
// never read again; the active file is read from where the last Refresh
// stopped, complete lines only). The first Refresh reads the whole log.
// Segments deleted by retention keep their counts. Memory is one counter
// set per day plus Remember query ids.
//
// A LogStats is safe for concurrent use; Refresh calls are serialized.
type LogStats struct {
	active string
	opts   LogStatsOptions

	mu      sync.Mutex
	seq     int   // segment being read (0: none yet)
	off     int64 // offset in it after the last complete line read
	days    map[time.Time]*DayStats
	damaged int
	lines   int64
	recent  recentIDs
	dec     queryDecoder
}

// recentIDs remembers the day and route of the last n query ids.
type recentIDs struct {
	m    map[string]recentQuery
	ring []string
	next int
}

type recentQuery struct {
	day time.Time
	ml  bool
}

func (r *recentIDs) put(id string, q recentQuery) {
	if old := r.ring[r.next]; old != "" {
		delete(r.m, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.m[id] = q
}

// LogStats returns a LogStats over the store's query log. It reads nothing
// until Refresh.
func (s *FileStore) LogStats(opts *LogStatsOptions) *LogStats {
	var o LogStatsOptions
	if opts != nil {
		o = *opts
	}
	if o.Remember <= 0 {
		o.Remember = 100000
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = s.maxRecord()
	}
	return &LogStats{active: s.queryLogPath(), opts: o, days: map[time.Time]*DayStats{},
		recent: recentIDs{m: make(map[string]recentQuery), ring: make([]string, o.Remember)}}
}

// LogStatsResult is what Refresh returns.
type LogStatsResult struct {
	// Days are the per-day counts, oldest first.
	Days []DayStats
	// Lines is the number of lines read since the LogStats was made;
	// Damaged those skipped because they did not parse or were too long.
	Lines   int64
	Damaged int
}

// Refresh reads what was appended to the log since the last call and
// returns the counts of the days from the one holding since on (zero: all
// days), oldest first.
func (l *LogStats) Refresh(ctx context.Context, since time.Time) (LogStatsResult, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	segs, err := allSegments(l.active)
	if err != nil {
		return LogStatsResult{}, err
	}
	for _, sg := range segs {
		if sg.seq < l.seq {
			continue
		}
		if sg.seq > l.seq {
			l.seq, l.off = sg.seq, 0
		}
		if err := l.readFrom(ctx, sg.path); err != nil {
			return LogStatsResult{}, err
		}
	}
	res := LogStatsResult{Lines: l.lines, Damaged: l.damaged}
	for _, d := range l.days {
		if since.IsZero() || d.Day.Add(24*time.Hour).After(since) {
			res.Days = append(res.Days, *d)
		}
	}
	slices.SortFunc(res.Days, func(a, b DayStats) int { return a.Day.Compare(b.Day) })
	return res, nil
}

// Days is Refresh without the line counts, in the shape a dashboard's
// loader takes (report.LoaderConfig.Days).
func (l *LogStats) Days(ctx context.Context, since time.Time) ([]DayStats, error) {
	r, err := l.Refresh(ctx, since)
	return r.Days, err
}

// readFrom reads path's complete lines from l.off on and moves l.off past
// them. A file shorter than l.off (replaced) is read from its start.
func (l *LogStats) readFrom(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: log stats: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("dataset: log stats: %w", err)
	}
	if fi.Size() < l.off {
		l.off = 0
	}
	if fi.Size() == l.off {
		return nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, l.off, fi.Size()-l.off), chunkSize)
	var long bool // inside an over-long line
	var r record
	n := 0
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			l.off += int64(len(line))
			long = true
			continue
		case errors.Is(err, io.EOF):
			return nil // a partial last line waits for the next Refresh
		case err != nil:
			return fmt.Errorf("dataset: log stats: %w", err)
		}
		l.off += int64(len(line))
		if long || len(line) > l.opts.MaxRecord+1 {
			long = false
			l.damaged++
			continue
		}
		if n++; n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line = line[:len(line)-1]
		if len(line) == 0 {
			continue
		}
		l.lines++
		if decodeLine(&l.dec, line, &r) != nil {
			l.damaged++
			continue
		}
		l.add(&r)
	}
}

func (l *LogStats) day(t time.Time) *DayStats {
	d := t.UTC().Truncate(24 * time.Hour)
	ds := l.days[d]
	if ds == nil {
		ds = &DayStats{Day: d}
		l.days[d] = ds
	}
	return ds
}

func (l *LogStats) add(r *record) {
	switch r.Type {
	case TypeQuery:
		if r.Corrects != "" {
			return // a second answer to a query already counted
		}
		if r.Timestamp.IsZero() {
			l.damaged++
			return
		}
		d := l.day(r.Timestamp)
		d.Queries++
		ml := r.Method != MethodLLM
		if !ml {
			d.LLM++
			if len(r.LLMLabels) > 0 {
				d.Compared++
				if slices.Contains(r.LLMLabels, r.PrimaryIntent) {
					d.Agreed++
				}
			}
		}
		if r.Positive != nil {
			countFeedback(d, ml, *r.Positive)
		}
		if r.QueryID != "" {
			l.recent.put(r.QueryID, recentQuery{day: d.Day, ml: ml})
		}
	case TypeFeedback:
		q, ok := l.recent.m[r.QueryID]
		if !ok || r.Positive == nil {
			return
		}
		countFeedback(l.days[q.day], q.ml, *r.Positive)
	}
}

func countFeedback(d *DayStats, ml, positive bool) {
	d.Feedback++
	if positive {
		d.Positive++
	}
	if ml {
		d.MLFeedback++
		if positive {
			d.MLPositive++
		}
	}
}
