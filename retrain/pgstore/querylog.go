package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"moodfood/dataset"
)

// QueryLogOptions tunes a QueryLog. A nil *QueryLogOptions and every zero
// field mean the default in the field's comment.
type QueryLogOptions struct {
	// FlushInterval is the longest a logged record waits in memory before
	// it is written (200ms); FlushRecords queued records start a write at
	// once (4096).
	FlushInterval time.Duration
	FlushRecords  int
	// QueueRecords bounds the records in memory, waiting or being written
	// (65536). Log drops a record (counted, ErrQueueFull) when full, so a
	// database outage costs memory up to this bound and then drops, never
	// a blocked request.
	QueueRecords int
	// MaxRecord is the largest encoded record in bytes (64 KiB); larger ones
	// are dropped and counted in Stats().TooLarge.
	MaxRecord int
	// RetryMax caps the wait between attempts to write a batch while the
	// database is unreachable (2s); the first retry waits 50ms.
	RetryMax time.Duration
	// CloseTimeout bounds how long Close keeps trying to write what is
	// queued (5s); what is still unwritten then is counted in Stats().Lost.
	CloseTimeout time.Duration
	// Now is the clock for records logged without a timestamp (time.Now).
	Now func() time.Time
}

func (o *QueryLogOptions) setDefaults() {
	if o.FlushInterval <= 0 {
		o.FlushInterval = 200 * time.Millisecond
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
	if o.MaxRecord <= 0 {
		o.MaxRecord = 64 << 10
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 2 * time.Second
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// QueryLog is the serving query log on PostgreSQL: it satisfies
// serve.QueryLogger. Log and Feedback only append to a bounded in-memory
// queue (no I/O, no waiting: a full queue drops the record, counted); one
// goroutine writes the queue in batches with COPY, one transaction per
// batch, every FlushInterval or FlushRecords. When the database is
// unreachable the batch is kept and retried with backoff (its records
// still count against QueueRecords), so a restart loses nothing unless the
// queue fills up meanwhile; the drops are counted in Stats. A crash of the
// serving process loses what was queued (at most one FlushInterval's worth
// while the database is up). It is safe for concurrent use; Close flushes
// and stops the goroutine.
type QueryLog struct {
	db   *DB
	opts QueryLogOptions

	mu       sync.Mutex
	queue    []logItem
	inflight int // records taken by the writer and not yet written
	logged   uint64
	written  uint64 // the first written records of logged order are durable
	stats    dataset.LoggerStats
	closed   bool

	poke chan struct{}
	stop chan struct{}
	done chan struct{}
}

// logItem is one queued record: a query or a feedback.
type logItem struct {
	q  *dataset.Query
	fb *dataset.Feedback
}

// QueryLog starts the schema's query log writer.
func (db *DB) QueryLog(opts *QueryLogOptions) *QueryLog {
	var o QueryLogOptions
	if opts != nil {
		o = *opts
	}
	o.setDefaults()
	l := &QueryLog{db: db, opts: o, poke: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Log queues q. It fills an empty QueryID and a zero Timestamp; an empty
// Text is refused (dataset.ErrInvalid). It never waits: a full queue drops
// q and returns dataset.ErrQueueFull; after Close it returns
// dataset.ErrClosed.
func (l *QueryLog) Log(q dataset.Query) error {
	if strings.TrimSpace(q.Text) == "" {
		return fmt.Errorf("%w: empty text", dataset.ErrInvalid)
	}
	if q.QueryID == "" {
		q.QueryID = dataset.NewQueryID()
	}
	if q.Timestamp.IsZero() {
		q.Timestamp = l.opts.Now()
	}
	return l.enqueue(logItem{q: &q})
}

// Feedback queues f, as Log does; it needs a QueryID.
func (l *QueryLog) Feedback(f dataset.Feedback) error {
	if f.QueryID == "" {
		return fmt.Errorf("%w: feedback without a query id", dataset.ErrInvalid)
	}
	if f.Timestamp.IsZero() {
		f.Timestamp = l.opts.Now()
	}
	return l.enqueue(logItem{fb: &f})
}

func (l *QueryLog) enqueue(it logItem) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return dataset.ErrClosed
	}
	if len(l.queue)+l.inflight >= l.opts.QueueRecords {
		l.stats.Dropped++
		l.mu.Unlock()
		return dataset.ErrQueueFull
	}
	l.queue = append(l.queue, it)
	l.stats.Logged++
	l.logged++
	full := len(l.queue) >= l.opts.FlushRecords
	l.mu.Unlock()
	if full {
		select {
		case l.poke <- struct{}{}:
		default:
		}
	}
	return nil
}

// Stats returns the counters: Logged, Dropped (queue full), TooLarge,
// Written (committed to the database), Lost (unwritten at Close), Flushes
// (batches committed), Queued and the last write error.
func (l *QueryLog) Stats() dataset.LoggerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	s.Queued = len(l.queue) + l.inflight
	return s
}

// Flush waits until every record logged before the call is written, or ctx
// is done.
func (l *QueryLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	target := l.logged
	l.mu.Unlock()
	select {
	case l.poke <- struct{}{}:
	default:
	}
	for {
		l.mu.Lock()
		ok, closed := l.written >= target, l.closed
		l.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			select {
			case <-l.done:
				return dataset.ErrClosed
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// Close stops accepting records, keeps writing what is queued for at most
// CloseTimeout, then stops the writer; unwritten records are counted in
// Stats().Lost. It is safe to call more than once.
func (l *QueryLog) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.done
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.queue) + l.inflight; n > 0 {
		l.stats.Lost += uint64(n)
		l.queue, l.inflight = nil, 0
		return fmt.Errorf("pgstore: query log: %d records not written: %s", n, l.stats.LastError)
	}
	return nil
}

func (l *QueryLog) run() {
	defer close(l.done)
	t := time.NewTicker(l.opts.FlushInterval)
	defer t.Stop()
	var deadline time.Time // set once stop is closed
	for {
		stopping := !deadline.IsZero()
		if !stopping {
			select {
			case <-l.stop:
				deadline = time.Now().Add(l.opts.CloseTimeout)
			case <-t.C:
			case <-l.poke:
			}
		}
		l.mu.Lock()
		batch := l.queue
		l.queue = nil
		l.inflight += len(batch)
		l.mu.Unlock()
		if len(batch) > 0 {
			if !l.write(batch, deadline) {
				// Only when stopping and out of time: put it back for Close
				// to count.
				l.mu.Lock()
				l.inflight -= len(batch)
				l.queue = append(batch, l.queue...)
				l.mu.Unlock()
				return
			}
		}
		if !deadline.IsZero() {
			l.mu.Lock()
			empty := len(l.queue) == 0
			l.mu.Unlock()
			if empty || time.Now().After(deadline) {
				return
			}
		}
	}
}

// write commits batch, retrying with backoff until it succeeds, or until
// deadline once Close began (then it returns false).
func (l *QueryLog) write(batch []logItem, deadline time.Time) bool {
	queries, feedback, tooLarge := l.encode(batch)
	wait := 50 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if !deadline.IsZero() {
			ctx, cancel = context.WithDeadline(context.Background(), deadline)
		}
		err := pgx.BeginFunc(ctx, l.db.pool, func(tx pgx.Tx) error {
			// Shared with every other writer; exclusive for an instant when
			// an export draws its line (see DatasetStore.export).
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock_shared($1)", l.db.key("log")); err != nil {
				return err
			}
			if len(queries) > 0 {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"queries"}, []string{"query_id", "ts", "record"}, pgx.CopyFromRows(queries)); err != nil {
					return err
				}
			}
			if len(feedback) > 0 {
				if _, err := tx.CopyFrom(ctx, pgx.Identifier{"feedback"}, []string{"query_id", "ts", "positive", "success"}, pgx.CopyFromRows(feedback)); err != nil {
					return err
				}
			}
			return nil
		})
		cancel()
		l.mu.Lock()
		if err == nil {
			l.inflight -= len(batch)
			l.written += uint64(len(batch))
			l.stats.Written += uint64(len(batch) - tooLarge)
			l.stats.TooLarge += uint64(tooLarge)
			l.stats.Flushes++
			l.mu.Unlock()
			return true
		}
		l.stats.LastError = l.db.scrub(err).Error()
		l.mu.Unlock()
		if !deadline.IsZero() && time.Now().Add(wait).After(deadline) {
			return false
		}
		select {
		case <-time.After(wait):
		case <-l.stop:
			if deadline.IsZero() {
				deadline = time.Now().Add(l.opts.CloseTimeout)
			}
		}
		wait = min(2*wait, l.opts.RetryMax)
	}
}

// encode turns batch into COPY rows, leaving out records over MaxRecord.
func (l *QueryLog) encode(batch []logItem) (queries, feedback [][]any, tooLarge int) {
	for _, it := range batch {
		if it.q != nil {
			b, err := json.Marshal(it.q)
			if err != nil || len(b) > l.opts.MaxRecord {
				tooLarge++
				continue
			}
			queries = append(queries, []any{it.q.QueryID, it.q.Timestamp.UTC(), string(b)})
			continue
		}
		f := it.fb
		if len(f.QueryID) > 256 {
			tooLarge++
			continue
		}
		feedback = append(feedback, []any{f.QueryID, f.Timestamp.UTC(), f.Positive, f.Success})
	}
	return queries, feedback, tooLarge
}
