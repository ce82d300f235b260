package report

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/retrain"
	"moodfood/retrain/serve"
)

// Data is everything the page shows, read at one moment.
type Data struct {
	// Generated is when the data was read.
	Generated time.Time
	// Title names the root or service on the page.
	Title string
	// Runs are the history's records, oldest first; HistoryDamaged counts
	// unreadable ones and Unrecorded the runs whose record could not be
	// written yet (see retrain.HistoryPage).
	Runs           []retrain.Record
	HistoryDamaged int
	Unrecorded     int
	// Deployed is the deployed version's manifest (nil when none) and
	// Backups every stored version, newest first.
	Deployed *backup.Manifest
	Backups  []backup.Manifest
	// Pending is the number of new samples waiting (-1 when unknown).
	Pending int
	// Days are the query log's per-day counts, oldest first; nil when the
	// Loader has no LoaderConfig.Days.
	Days []dataset.DayStats
	// Serving is the serving process's stats (nil outside one).
	Serving *serve.Stats
	// Problems lists what could not be read, one line each.
	Problems []string
}

// ModelLister is what Loader needs of a model store (retrain.ModelStore
// has it).
type ModelLister interface {
	List(ctx context.Context) ([]backup.Manifest, error)
	Current(ctx context.Context) (backup.Version, error)
}

// LoaderConfig says where a Loader reads. History and Models are required.
type LoaderConfig struct {
	History retrain.History
	Models  ModelLister
	// Pending counts the new samples (nil = unknown). Its result is cached
	// for PendingTTL and refreshed in the background after that, so that
	// Load stays fast on a big query log (dataset.FileStore.Pending may
	// scan the unexported tail).
	Pending    func(ctx context.Context) (int, error)
	PendingTTL time.Duration // 0 = 1 minute
	// Days returns the query log's per-day counts from since on (nil =
	// none); dataset.LogStats.Refresh reads only what is new each time.
	Days func(ctx context.Context, since time.Time) ([]dataset.DayStats, error)
	// DaysShown is how many days of the query log the page charts (0 = 30).
	DaysShown int
	// Serving returns the serving stats (nil = not a serving process).
	Serving func() serve.Stats
	Title   string
	Now     func() time.Time // nil = time.Now
}

// Loader reads Data and keeps what is costly between calls: the parsed
// history (read again only when its newest record changed), the pending
// count (see LoaderConfig.Pending). It is safe for concurrent use. Close
// waits for a background refresh in flight.
type Loader struct {
	cfg LoaderConfig

	mu      sync.Mutex
	newest  string // newest record's id + unrecorded count, the cache key
	runs    []retrain.Record
	damaged int
	unrec   int

	pmu      sync.Mutex
	pending  int
	pendAt   time.Time
	pendErr  error
	pendBusy bool
	wg       sync.WaitGroup
	closed   bool
}

// NewLoader returns a Loader; it reads nothing yet.
func NewLoader(cfg LoaderConfig) (*Loader, error) {
	var errs []error
	if cfg.History == nil {
		errs = append(errs, errors.New("report: LoaderConfig.History is required"))
	}
	if cfg.Models == nil {
		errs = append(errs, errors.New("report: LoaderConfig.Models is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.PendingTTL <= 0 {
		cfg.PendingTTL = time.Minute
	}
	if cfg.DaysShown <= 0 {
		cfg.DaysShown = 30
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Loader{cfg: cfg}, nil
}

// Close waits for a background pending count in flight; Load must not be
// called after it.
func (l *Loader) Close() error {
	l.pmu.Lock()
	l.closed = true
	l.pmu.Unlock()
	l.wg.Wait()
	return nil
}

// Load reads the Data. What cannot be read goes to Data.Problems; the error
// is non-nil only when ctx is done.
func (l *Loader) Load(ctx context.Context) (*Data, error) {
	now := l.cfg.Now()
	d := &Data{Generated: now.UTC(), Title: l.cfg.Title, Pending: -1}
	problem := func(what string, err error) { d.Problems = append(d.Problems, what+": "+err.Error()) }

	if err := l.loadRuns(ctx, d); err != nil {
		problem("history", err)
	}
	if ms, err := l.cfg.Models.List(ctx); err != nil {
		problem("model versions", err)
	} else {
		d.Backups = ms
		cur, err := l.cfg.Models.Current(ctx)
		switch {
		case errors.Is(err, backup.ErrNoCurrent):
		case err != nil:
			problem("deployed version", err)
		default:
			for i := range ms {
				if ms[i].Version == cur {
					d.Deployed = &ms[i]
				}
			}
			if d.Deployed == nil {
				d.Deployed = &backup.Manifest{Version: cur}
			}
		}
	}
	if l.cfg.Pending != nil {
		n, err := l.pendingCount(ctx, now)
		if err != nil {
			problem("pending samples", err)
		} else {
			d.Pending = n
		}
	}
	if l.cfg.Days != nil {
		since := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(l.cfg.DaysShown - 1))
		days, err := l.cfg.Days(ctx, since)
		if err != nil {
			problem("query log", err)
		}
		d.Days = append([]dataset.DayStats{}, days...) // non-nil: the store has counts
	}
	if l.cfg.Serving != nil {
		st := l.cfg.Serving()
		d.Serving = &st
	}
	return d, ctx.Err()
}

// loadRuns fills d's runs, from the cache when the newest record is the
// one cached.
func (l *Loader) loadRuns(ctx context.Context, d *Data) error {
	top, err := l.cfg.History.List(ctx, retrain.HistoryFilter{Limit: 1})
	if err != nil {
		return err
	}
	key := ""
	if len(top.Records) > 0 {
		r := top.Records[0]
		key = r.RetrainID + "|" + r.Timestamp.String() + "|" + string(r.Status) + "|" + strconv.Itoa(top.Unrecorded)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if key != l.newest || l.runs == nil {
		p, err := l.cfg.History.List(ctx, retrain.HistoryFilter{})
		if err != nil {
			return err
		}
		runs := make([]retrain.Record, len(p.Records))
		for i, r := range p.Records {
			runs[len(runs)-1-i] = r
		}
		l.runs, l.damaged, l.unrec, l.newest = runs, p.Damaged, p.Unrecorded, key
	}
	d.Runs, d.HistoryDamaged, d.Unrecorded = l.runs, l.damaged, l.unrec
	return nil
}

// pendingCount returns the cached count, computing it the first time and
// refreshing it in the background once it is older than PendingTTL.
func (l *Loader) pendingCount(ctx context.Context, now time.Time) (int, error) {
	l.pmu.Lock()
	if l.pendAt.IsZero() {
		l.pmu.Unlock()
		n, err := l.cfg.Pending(ctx)
		l.pmu.Lock()
		l.pending, l.pendErr, l.pendAt = n, err, now
		l.pmu.Unlock()
		return n, err
	}
	if now.Sub(l.pendAt) >= l.cfg.PendingTTL && !l.pendBusy && !l.closed {
		l.pendBusy = true
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			bctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			n, err := l.cfg.Pending(bctx)
			l.pmu.Lock()
			l.pending, l.pendErr, l.pendAt, l.pendBusy = n, err, l.cfg.Now(), false
			l.pmu.Unlock()
		}()
	}
	n, err := l.pending, l.pendErr
	l.pmu.Unlock()
	return n, err
}
