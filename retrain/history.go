package retrain

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"moodfood/trigger"
)

// History keeps the Record of every run, one per run, in the order they
// were appended.
//   - Append stores one record durably: when it returns nil the record
//     survives a crash. A failed Append must not leave anything List would
//     return as a record other than rec itself (a torn write is repaired, or
//     skipped and counted by readers), and should keep rec visible to List
//     when it can (see FileHistory's side record).
//   - List returns the records that match the filter, newest (last
//     appended) first, at most HistoryFilter.Limit of them. Records it could
//     not read are skipped and counted in HistoryPage.Damaged, never fatal.
//
// Implementations must be safe for concurrent use, also by several processes
// sharing the store. Tail reads the few records Run and Status need through
// List, or through Tailer when the History has it. FileHistory is the default
// of Open; MemHistory keeps records in memory.
type History interface {
	Append(ctx context.Context, rec Record) error
	List(ctx context.Context, f HistoryFilter) (HistoryPage, error)
}

// HistoryFilter selects records. The zero value selects every record.
type HistoryFilter struct {
	// Outcomes keeps records whose Status is one of these (empty = all).
	Outcomes []trigger.Outcome
	// Since and Until keep records with Since <= Timestamp < Until (a zero
	// bound is no bound).
	Since, Until time.Time
	// Manual keeps only manual rollbacks (true) or everything else (false);
	// nil keeps both.
	Manual *bool
	// Limit is the most records returned, the newest (0 = no limit).
	Limit int
}

// Match reports whether rec passes the filter (Limit aside). History
// implementations use it so that every backend filters alike.
func (f *HistoryFilter) Match(rec *Record) bool {
	if len(f.Outcomes) > 0 && !slices.Contains(f.Outcomes, rec.Status) {
		return false
	}
	if !f.Since.IsZero() && rec.Timestamp.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !rec.Timestamp.Before(f.Until) {
		return false
	}
	if f.Manual != nil && rec.Manual != *f.Manual {
		return false
	}
	return true
}

// HistoryPage is what List found.
type HistoryPage struct {
	// Records match the filter, newest first.
	Records []Record
	// Damaged counts stored records List skipped because they could not be
	// read (torn or corrupt lines of a file), among those it examined.
	Damaged int
	// Unrecorded counts records of Records that are not in the history
	// proper yet: runs whose Append failed (a full disk) and that the
	// History kept aside until the next Append succeeds (FileHistory's side
	// record).
	Unrecorded int
}

// HistoryTail is what Run and Status need from the end of the history.
type HistoryTail struct {
	// Last is the most recent record, LastSuccess the most recent deployed
	// one, LastAttempt the most recent one that trained (not skipped, not a
	// manual rollback), LastRollback the most recent manual rollback after
	// LastSuccess (nil if none).
	Last, LastSuccess, LastAttempt, LastRollback *Record
	// Damaged counts unreadable records met on the way back; Unrecorded
	// the kept-aside records among those read (see HistoryPage).
	Damaged    int
	Unrecorded int
}

// Tailer is an optional interface a History may implement to read its
// HistoryTail in one pass (FileHistory reads its file backwards once).
// Tail uses it when present.
type Tailer interface {
	Tail(ctx context.Context) (HistoryTail, error)
}

// Tail returns the end of h that Run and Status need: with Tailer when h has
// it, otherwise with four short Lists.
func Tail(ctx context.Context, h History) (HistoryTail, error) {
	if t, ok := h.(Tailer); ok {
		return t.Tail(ctx)
	}
	var t HistoryTail
	no, yes := false, true
	first := func(f HistoryFilter) (*Record, error) {
		f.Limit = 1
		p, err := h.List(ctx, f)
		if err != nil {
			return nil, err
		}
		t.Damaged = max(t.Damaged, p.Damaged)
		t.Unrecorded = max(t.Unrecorded, p.Unrecorded)
		if len(p.Records) == 0 {
			return nil, nil
		}
		return &p.Records[0], nil
	}
	var err error
	if t.Last, err = first(HistoryFilter{}); err != nil || t.Last == nil {
		return t, err
	}
	if t.LastSuccess, err = first(HistoryFilter{Outcomes: []trigger.Outcome{trigger.OutcomeDeployed}, Manual: &no}); err != nil {
		return t, err
	}
	attempts := []trigger.Outcome{trigger.OutcomeFailed, trigger.OutcomeRejected, trigger.OutcomeDeployed, trigger.OutcomeRolledBack}
	if t.LastAttempt, err = first(HistoryFilter{Outcomes: attempts, Manual: &no}); err != nil {
		return t, err
	}
	f := HistoryFilter{Manual: &yes, Outcomes: []trigger.Outcome{trigger.OutcomeRolledBack}}
	if t.LastSuccess != nil {
		f.Since = t.LastSuccess.Timestamp
	}
	if t.LastRollback, err = first(f); err != nil {
		return t, err
	}
	return t, nil
}

// tailer accumulates a HistoryTail from records met newest first; add
// reports when nothing older can change it.
type tailer struct{ t HistoryTail }

func (tl *tailer) add(r *Record) (done bool) {
	t := &tl.t
	if t.Last == nil {
		t.Last = r
	}
	if r.Manual {
		// A manual rollback (or another operator action, Retrainer.Control)
		// trained nothing: not an attempt for the trigger (see
		// Retrainer.Rollback).
		if t.LastRollback == nil && t.LastSuccess == nil && r.Status == trigger.OutcomeRolledBack {
			t.LastRollback = r
		}
		return false
	}
	if t.LastAttempt == nil && r.Status != trigger.OutcomeSkipped {
		t.LastAttempt = r
	}
	if t.LastSuccess == nil && r.Status == trigger.OutcomeDeployed {
		t.LastSuccess = r
	}
	return t.LastAttempt != nil && t.LastSuccess != nil
}

// MemHistory is a History in memory, for tests and for a Retrainer without a
// history file (Config.HistoryPath empty). It is safe for concurrent use.
type MemHistory struct {
	mu   sync.Mutex
	recs []Record
}

var (
	_ History = (*MemHistory)(nil)
	_ Tailer  = (*MemHistory)(nil)
)

// NewMemHistory returns an empty MemHistory.
func NewMemHistory() *MemHistory { return &MemHistory{} }

// Append adds a copy of rec.
func (h *MemHistory) Append(ctx context.Context, rec Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h.mu.Lock()
	h.recs = append(h.recs, *rec.clone())
	h.mu.Unlock()
	return nil
}

// List returns copies of the matching records, newest first.
func (h *MemHistory) List(ctx context.Context, f HistoryFilter) (HistoryPage, error) {
	if err := ctx.Err(); err != nil {
		return HistoryPage{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var p HistoryPage
	for i := len(h.recs) - 1; i >= 0 && (f.Limit <= 0 || len(p.Records) < f.Limit); i-- {
		if f.Match(&h.recs[i]) {
			p.Records = append(p.Records, *h.recs[i].clone())
		}
	}
	return p, nil
}

// Tail reads the tail in one pass.
func (h *MemHistory) Tail(ctx context.Context) (HistoryTail, error) {
	if err := ctx.Err(); err != nil {
		return HistoryTail{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var tl tailer
	for i := len(h.recs) - 1; i >= 0; i-- {
		if tl.add(h.recs[i].clone()) {
			break
		}
	}
	return tl.t, nil
}

// unrecordedRun is a run whose record the History refused.
type unrecordedRun struct {
	rec Record
	err error
}

// History returns the History the Retrainer writes to, for readers (a
// history page, a monitor).
func (r *Retrainer) History() History { return r.hist }

// record appends rec to the history. A failure is logged, not returned (the
// run's outcome stands), and the record is remembered so that Status still
// shows the run (the History may also keep it aside; see FileHistory).
func (r *Retrainer) record(ctx context.Context, rec *Record, log *slog.Logger) {
	err := r.hist.Append(ctx, *rec)
	r.unrecMu.Lock()
	defer r.unrecMu.Unlock()
	if err != nil {
		log.Error("writing the history line failed", "err", err.Error())
		r.unrecorded = &unrecordedRun{rec: *rec.clone(), err: err}
		return
	}
	r.unrecorded = nil
}

// lastUnrecorded returns the last run this Retrainer could not record, if
// no record was appended since.
func (r *Retrainer) lastUnrecorded() *unrecordedRun {
	r.unrecMu.Lock()
	defer r.unrecMu.Unlock()
	return r.unrecorded
}

// Models returns the ModelStore the Retrainer deploys to, for readers (a
// status page, a dashboard).
func (r *Retrainer) Models() ModelStore { return r.cfg.Models }

// Data returns the DatasetStore the Retrainer trains from, for readers.
func (r *Retrainer) Data() DatasetStore { return r.cfg.Data }
