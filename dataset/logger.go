package dataset

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"moodfood/internal/flock"
	"moodfood/internal/jsonl"
)

// OverflowPolicy says what Log does when the queue is full.
type OverflowPolicy int

const (
	// OverflowWait waits up to LoggerOptions.MaxWait for room, then drops
	// the record (counted) and returns ErrQueueFull. The default.
	OverflowWait OverflowPolicy = iota
	// OverflowDrop drops the record at once, counts it and returns
	// ErrQueueFull.
	OverflowDrop
)

// LoggerOptions tunes a Logger. The zero value (or nil) is a set of defaults;
// a negative duration or size disables the corresponding feature.
type LoggerOptions struct {
	// FlushInterval is the longest time a logged record stays in memory:
	// the queue is written and fsynced at least this often. Default 1s.
	FlushInterval time.Duration
	// FlushRecords triggers an early flush once that many records are
	// queued. Default 4096.
	FlushRecords int
	// QueueRecords bounds the records waiting in memory while a write is
	// in progress (fsyncs run beside writes). Default 65536.
	QueueRecords int
	// Overflow is the policy once the queue is full; MaxWait bounds the wait
	// of OverflowWait (default 2ms). No Log call blocks longer than MaxWait
	// plus the time to take an uncontended mutex.
	Overflow OverflowPolicy
	MaxWait  time.Duration
	// MaxRecord is the largest encoded record in bytes; larger ones are
	// refused with ErrTooLarge. Default 64 KiB.
	MaxRecord int
	// RotateSize rotates the active file once it holds this many bytes
	// (default 128 MiB); RotateAge once its header is this old (default 24h).
	RotateSize int64
	RotateAge  time.Duration
	// Retention deletes rotated segments whose last write is older than
	// this: logged user text is personal data. Default 30 days. Segments not
	// yet exported are deleted too; retention wins.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o *LoggerOptions) setDefaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.FlushRecords <= 0 {
		o.FlushRecords = 4096
	}
	if o.QueueRecords <= 0 {
		o.QueueRecords = 65536
	}
	if o.FlushRecords > o.QueueRecords {
		o.FlushRecords = o.QueueRecords
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 2 * time.Millisecond
	}
	if o.MaxRecord <= 0 {
		o.MaxRecord = 64 << 10
	}
	if o.RotateSize == 0 {
		o.RotateSize = 128 << 20
	}
	if o.RotateAge == 0 {
		o.RotateAge = 24 * time.Hour
	}
	if o.Retention == 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// LoggerStats counts what a Logger did since it was opened.
type LoggerStats struct {
	Logged   uint64 `json:"logged"`    // records accepted into the queue
	Dropped  uint64 `json:"dropped"`   // refused because the queue was full
	TooLarge uint64 `json:"too_large"` // refused by MaxRecord
	Written  uint64 `json:"written"`   // records written and fsynced
	// Lost counts accepted records whose write or fsync failed.
	Lost      uint64 `json:"lost"`
	Flushes   uint64 `json:"flushes"`
	Rotations uint64 `json:"rotations"`
	Pruned    uint64 `json:"pruned"` // segments deleted by retention
	Queued    int    `json:"queued"` // records waiting now
	LastError string `json:"last_error,omitempty"`
}

// Logger appends Query and Feedback records to the query log with group
// commit. It is safe for concurrent use by many goroutines.
//
// Durability: a record is in memory until the next flush, which writes the
// whole queue with one locked write(2); flushes happen every FlushInterval,
// as soon as FlushRecords are queued, on Flush and on Close. A second
// goroutine fsyncs after each write, overlapping the next write, and a
// record counts as durable (Flush, Stats.Written) once an fsync that began
// after its write has completed.
// A crash loses at most the records logged since the last completed flush
// (one FlushInterval, by default 1 s); nothing written before it is lost.
// Appends by several processes never interleave (see package jsonl).
//
// Log never waits on the disk: when the queue is full it follows
// LoggerOptions.Overflow. Close drains the queue and stops the background
// goroutine; a Logger leaves no goroutine running after Close.
type Logger struct {
	opts LoggerOptions
	path string
	app  *jsonl.Appender
	pool sync.Pool

	mu        sync.Mutex
	buf       []byte
	spare     []byte
	pending   int
	seq       uint64
	durable   uint64
	space     chan struct{} // closed when the queue is drained
	flushedCh chan struct{} // closed when durable advances
	closed    bool
	errs      uint64
	lastErr   error
	stats     LoggerStats

	// Written but not yet fsynced: the writer goroutine sets them, the
	// syncer goroutine consumes them (under mu).
	writtenSeq uint64
	unsynced   uint64

	kick     chan struct{}
	syncKick chan struct{}
	done     chan struct{}
	syncDone chan struct{}
	exit     chan struct{}
}

// OpenLogger opens the query log at path (creating it and its directory) and
// starts the flushing goroutine. Rotated segments live beside path.
func OpenLogger(path string, opts *LoggerOptions) (*Logger, error) {
	if !flock.Supported {
		return nil, ErrUnsupported
	}
	l := &Logger{path: path}
	if opts != nil {
		l.opts = *opts
	}
	l.opts.setDefaults()
	app, err := jsonl.OpenAppender(path, &jsonl.AppenderOptions{
		MaxRecord: l.opts.MaxRecord,
		Header: func() ([]byte, error) {
			rot, err := rotatedSegments(path)
			if err != nil {
				return nil, err
			}
			return newHeader(nextSeq(rot), l.opts.Now()), nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("dataset: open logger: %w", err)
	}
	l.app = app
	l.pool.New = func() any { b := make([]byte, 0, 512); return &b }
	l.buf = make([]byte, 0, 1<<20)
	l.space = make(chan struct{})
	l.flushedCh = make(chan struct{})
	l.kick = make(chan struct{}, 1)
	l.syncKick = make(chan struct{}, 1)
	l.done = make(chan struct{})
	l.syncDone = make(chan struct{})
	l.exit = make(chan struct{})
	go l.run()
	return l, nil
}

// Log queues q. It fills an empty QueryID with a random id and a zero
// Timestamp with the current time. It returns ErrInvalid for an empty text,
// ErrTooLarge, ErrQueueFull (record dropped and counted) or ErrClosed.
func (l *Logger) Log(q Query) error {
	if q.Text == "" {
		return fmt.Errorf("dataset: log: empty text: %w", ErrInvalid)
	}
	if q.QueryID == "" {
		q.QueryID = NewQueryID()
	}
	if q.Timestamp.IsZero() {
		q.Timestamp = l.opts.Now()
	}
	bp := l.pool.Get().(*[]byte)
	b := appendQuery((*bp)[:0], &q)
	err := l.enqueue(b)
	*bp = b[:0]
	l.pool.Put(bp)
	return err
}

// Feedback queues a feedback record for an earlier query.
func (l *Logger) Feedback(f Feedback) error {
	if f.QueryID == "" {
		return fmt.Errorf("dataset: feedback: empty query_id: %w", ErrInvalid)
	}
	if f.Timestamp.IsZero() {
		f.Timestamp = l.opts.Now()
	}
	bp := l.pool.Get().(*[]byte)
	b := appendFeedback((*bp)[:0], &f)
	err := l.enqueue(b)
	*bp = b[:0]
	l.pool.Put(bp)
	return err
}

// NewQueryID returns a random 16-hex-digit query id.
func NewQueryID() string {
	var b [16]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = hex[v&0xF]
		v >>= 4
	}
	return string(b[:])
}

func (l *Logger) enqueue(b []byte) error {
	if len(b) > l.opts.MaxRecord {
		l.mu.Lock()
		l.stats.TooLarge++
		l.mu.Unlock()
		return fmt.Errorf("dataset: log: %d bytes: %w", len(b), ErrTooLarge)
	}
	var timer *time.Timer
	l.mu.Lock()
	for l.pending >= l.opts.QueueRecords && !l.closed {
		if l.opts.Overflow == OverflowDrop {
			l.stats.Dropped++
			l.mu.Unlock()
			return ErrQueueFull
		}
		ch := l.space
		l.mu.Unlock()
		l.poke()
		if timer == nil {
			timer = time.NewTimer(l.opts.MaxWait)
			defer timer.Stop()
		}
		select {
		case <-ch:
			l.mu.Lock()
		case <-timer.C:
			l.mu.Lock()
			if l.pending < l.opts.QueueRecords || l.closed {
				continue
			}
			l.stats.Dropped++
			l.mu.Unlock()
			return ErrQueueFull
		}
	}
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.buf = append(l.buf, b...)
	l.buf = append(l.buf, '\n')
	l.pending++
	l.seq++
	l.stats.Logged++
	full := l.pending == l.opts.FlushRecords
	l.mu.Unlock()
	if full {
		l.poke()
	}
	return nil
}

func (l *Logger) poke() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Flush writes and fsyncs every record logged before the call. It returns
// ctx.Err() if ctx ends first, and an error if a write since the call failed.
func (l *Logger) Flush(ctx context.Context) error {
	l.mu.Lock()
	target, errs0 := l.seq, l.errs
	for l.durable < target {
		if l.closed && l.exitDone() {
			break
		}
		ch := l.flushedCh
		l.mu.Unlock()
		l.poke()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.exit:
		}
		l.mu.Lock()
	}
	var err error
	if l.errs != errs0 {
		err = fmt.Errorf("dataset: flush: %w", l.lastErr)
	}
	l.mu.Unlock()
	return err
}

func (l *Logger) exitDone() bool {
	select {
	case <-l.exit:
		return true
	default:
		return false
	}
}

// Stats reports the Logger's counters.
func (l *Logger) Stats() LoggerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Queued = l.pending
	if l.lastErr != nil {
		s.LastError = l.lastErr.Error()
	}
	return s
}

// Path is the active query-log file.
func (l *Logger) Path() string { return l.path }

// Close stops accepting records, writes and fsyncs the queue, stops the
// background goroutine and closes the file. It returns the error of the
// final flush, if any. It is safe to call more than once.
func (l *Logger) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.exit
		return nil
	}
	l.closed = true
	errs0 := l.errs
	close(l.space)
	l.space = make(chan struct{})
	l.mu.Unlock()
	close(l.done)
	<-l.exit
	var err error
	l.mu.Lock()
	if l.errs != errs0 {
		err = fmt.Errorf("dataset: close: %w", l.lastErr)
	}
	l.mu.Unlock()
	if cerr := l.app.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("dataset: close: %w", cerr)
	}
	return err
}

// run is the writer goroutine: it moves the queue into the file with one
// write(2) per batch, without waiting for the disk, and hands the fsync to
// syncLoop. The queue therefore drains at memory speed while an fsync is in
// progress (write of batch N+1 overlaps the fsync of batch N), and Log only
// waits when the kernel itself throttles writes.
func (l *Logger) run() {
	defer close(l.exit)
	syncExit := make(chan struct{})
	go func() {
		defer close(syncExit)
		l.syncLoop()
	}()
	t := time.NewTicker(l.opts.FlushInterval)
	defer t.Stop()
	for {
		final := false
		select {
		case <-l.kick:
		case <-t.C:
		case <-l.done:
			final = true
		}
		l.writeOnce()
		if final {
			close(l.syncDone)
			<-syncExit
			return
		}
	}
}

// writeOnce writes the queue and tells the syncer.
func (l *Logger) writeOnce() {
	l.mu.Lock()
	batch, n, target := l.buf, l.pending, l.seq
	if l.spare == nil {
		l.spare = make([]byte, 0, cap(batch))
	}
	l.buf, l.spare = l.spare[:0], nil
	l.pending = 0
	if n > 0 {
		close(l.space)
		l.space = make(chan struct{})
	}
	l.mu.Unlock()

	var err error
	if len(batch) > 0 {
		err = l.app.WriteBatch(batch)
	}

	// Size the spare buffer here, outside the lock, for twice this batch,
	// so that Log rarely grows the queue buffer while holding the lock.
	if want := min(max(1<<20, 2*len(batch)), 64<<20); cap(batch) < want {
		batch = make([]byte, 0, want)
	}
	l.mu.Lock()
	if cap(batch) <= 64<<20 {
		l.spare = batch[:0]
	}
	if err != nil {
		l.stats.Lost += uint64(n)
		l.errs++
		l.lastErr = err
	} else {
		l.unsynced += uint64(n)
	}
	l.writtenSeq = target
	l.mu.Unlock()
	select {
	case l.syncKick <- struct{}{}:
	default:
	}
}

// syncLoop is the syncer goroutine: it fsyncs whatever was written, then
// advances the durable sequence number; it also runs rotation and retention
// (never concurrently with an fsync of the file being rotated).
func (l *Logger) syncLoop() {
	var lastMaint time.Time
	for {
		final := false
		select {
		case <-l.syncKick:
		case <-l.syncDone:
			final = true
		}
		l.syncOnce()
		if now := l.opts.Now(); !final && now.Sub(lastMaint) >= time.Second {
			lastMaint = now
			l.maintain(now)
		}
		if final {
			return
		}
	}
}

func (l *Logger) syncOnce() {
	l.mu.Lock()
	target, n := l.writtenSeq, l.unsynced
	l.unsynced = 0
	l.mu.Unlock()
	var err error
	if n > 0 {
		err = l.app.Sync()
	}
	l.mu.Lock()
	if n > 0 {
		l.stats.Flushes++
		if err != nil {
			l.stats.Lost += n
			l.errs++
			l.lastErr = err
		} else {
			l.stats.Written += n
		}
	}
	if target > l.durable {
		l.durable = target
	}
	close(l.flushedCh)
	l.flushedCh = make(chan struct{})
	l.mu.Unlock()
}

// maintain rotates the active file by size or age and deletes segments past
// retention. Failures are recorded in Stats.LastError; they never stop logging.
func (l *Logger) maintain(now time.Time) {
	if _, err := l.Rotate(now, false); err != nil {
		l.noteErr(err)
	}
	if _, err := l.Prune(now); err != nil {
		l.noteErr(err)
	}
}

func (l *Logger) noteErr(err error) {
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
}

// Rotate renames the active file to the next segment if it is over
// RotateSize or older than RotateAge, or unconditionally when force is set
// (and the file is not empty). It reports whether it rotated. Records
// queued but not yet flushed go to the new file.
func (l *Logger) Rotate(now time.Time, force bool) (bool, error) {
	var seq int
	cond := func(size int64) bool {
		s, created, ok := readHeader(l.path)
		rot, _ := rotatedSegments(l.path)
		if !ok || (len(rot) > 0 && s <= rot[len(rot)-1].seq) {
			s = nextSeq(rot)
		}
		seq = s
		hdr := int64(len(newHeader(s, created)) + 1)
		if size <= hdr {
			return false
		}
		if force {
			return true
		}
		if l.opts.RotateSize > 0 && size >= l.opts.RotateSize {
			return true
		}
		return l.opts.RotateAge > 0 && ok && now.Sub(created) >= l.opts.RotateAge
	}
	ok, err := l.app.Rotate(func(size int64) (string, bool) {
		if !cond(size) {
			return "", false
		}
		return segmentPath(l.path, seq), true
	})
	if err != nil {
		return ok, fmt.Errorf("dataset: rotate: %w", err)
	}
	if ok {
		l.mu.Lock()
		l.stats.Rotations++
		l.mu.Unlock()
	}
	return ok, nil
}

// Prune deletes rotated segments whose last write is older than Retention
// and reports how many it deleted.
func (l *Logger) Prune(now time.Time) (int, error) {
	if l.opts.Retention < 0 {
		return 0, nil
	}
	n, err := pruneSegments(l.path, now.Add(-l.opts.Retention))
	l.mu.Lock()
	l.stats.Pruned += uint64(n)
	l.mu.Unlock()
	return n, err
}

func pruneSegments(active string, before time.Time) (int, error) {
	rot, err := rotatedSegments(active)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, s := range rot {
		fi, err := os.Stat(s.path)
		if err != nil || !fi.ModTime().Before(before) {
			continue
		}
		if err := os.Remove(s.path); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("dataset: prune: %w", err)
	}
	return n, nil
}
