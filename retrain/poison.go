package retrain

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"moodfood/backup"
	"moodfood/dataset"
	"moodfood/internal/atomicfile"
	"moodfood/internal/jsonl"
	"moodfood/internal/nofollow"
	"moodfood/model"
	"moodfood/trigger"
)

// Poisoning resistance. Users' feedback becomes training data, so a run
// does not trust new samples blindly:
//
//   - a new sample from a user signal (source feedback or model) that the
//     deployed model contradicts with confidence at least StrongConfidence
//     and that trusted samples of the same text (base, llm, human, seed)
//     contradict too is quarantined instead of trained on;
//   - when the gate rejects a candidate, the run looks for what pulled it
//     down: it retrains without each of the largest groups of new samples
//     (by user-signal source, then by session; see groupsOf) in turn, and
//     when one removal restores
//     the gate it sets that group aside and goes on with that candidate, so
//     that a flood of bad samples does not block every later run;
//   - every candidate is also compared on the golden set with the best model
//     ever deployed on it (Gate.MaxBestEverDrop), so that a slow attack that
//     stays under the per-run tolerance cannot accumulate.
//
// Quarantined and set-aside samples go to Config.Quarantine (by default
// the JSONL file at Config.QuarantinePath: one line each, with the run id
// and the reason), for a person to review, and are left out of every later
// run.

// The reasons of quarantined samples.
const (
	QuarantineDisagreement = "disagreement"
	QuarantineSetAside     = "set_aside"
)

// StrongConfidence is how sure the deployed model must be of another label
// for a user-signal sample to be quarantined (with the trusted samples of
// the same text disagreeing too).
const StrongConfidence = 0.9

// maxSetAsideTries bounds the retrainings a rejected run tries. Each
// compares with the same reference as the rejected candidate (the deployed
// model, or its twin retrained on this run's data).
const maxSetAsideTries = 3

// Quarantine keeps the samples runs leave out of training (quarantined
// or set aside), for review, so that every later run leaves them out too,
// in any process. Config.Quarantine plugs one in: NewFileQuarantine (a
// JSONL file), NewMemQuarantine, or another backend's (package
// retrain/pgstore keeps them in a table). Implementations are safe for
// concurrent use; retraintest.TestQuarantine checks the contract.
type Quarantine interface {
	// Add keeps samples, left out by run runID at at for reason
	// (QuarantineDisagreement or QuarantineSetAside) and, when a group was
	// set aside, that group's name. It keeps all of them or, with an
	// error, may have kept some (each is left out of later runs).
	Add(ctx context.Context, at time.Time, runID, reason, group string, samples []dataset.Sample) error
	// Keys returns QuarantineKey of every sample kept.
	Keys(ctx context.Context) (map[string]bool, error)
	// Prune deletes the samples added before cutoff and returns how many
	// it deleted.
	Prune(ctx context.Context, cutoff time.Time) (int, error)
}

// QuarantineKey identifies a sample across runs: its query id, or its
// normalized text and labels. A later sample with the key of a quarantined
// one is left out.
func QuarantineKey(s *dataset.Sample) string {
	if s.QueryID != "" {
		return "q\x00" + s.QueryID
	}
	return "t\x00" + normalizeKey(s.Text) + "\x00" + strings.Join(s.Labels, "\x00")
}

// quarantineLine is one line of the quarantine file.
type quarantineLine struct {
	Time   string         `json:"quarantined_at"`
	RunID  string         `json:"retrain_id"`
	Reason string         `json:"reason"`
	Group  string         `json:"group,omitempty"`
	Sample dataset.Sample `json:"sample"`
}

// fileQuarantine is the quarantine file.
type fileQuarantine struct {
	path string
	mu   sync.Mutex
}

// NewFileQuarantine returns the Quarantine kept in the JSONL file at path
// (created on first Add): one line per sample with the time, the run id,
// the reason, the group and the sample, e.g.
//
//	{"quarantined_at":"...","retrain_id":"retrain_...","reason":"set_aside","group":"session=s1","sample":{...}}
//
// Damaged lines are skipped. Prune rewrites the file atomically; the
// caller keeps runs from appending meanwhile (Run holds the run lock).
func NewFileQuarantine(path string) Quarantine { return &fileQuarantine{path: path} }

// Keys returns the keys of every quarantined sample (damaged lines skipped).
func (q *fileQuarantine) Keys(ctx context.Context) (map[string]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]bool{}
	f, err := nofollow.Open(q.path)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, jsonl.DefaultMaxRecord)
	for sc.Scan() {
		var l quarantineLine
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Sample.Text != "" {
			out[QuarantineKey(&l.Sample)] = true
		}
	}
	return out, nil // a line over the limit ends the scan: what was read stays quarantined
}

// Add appends samples with their reason.
func (q *fileQuarantine) Add(ctx context.Context, at time.Time, runID, reason, group string, ss []dataset.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	a, err := jsonl.OpenAppender(q.path, nil)
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	ts := formatTime(at)
	for _, s := range ss {
		b, err := json.Marshal(quarantineLine{Time: ts, RunID: runID, Reason: reason, Group: group, Sample: s})
		if err == nil {
			err = a.Append(b)
		}
		if err != nil {
			a.Close()
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	err = a.Sync()
	if cerr := a.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("quarantine: %w", err)
	}
	return nil
}

// Prune deletes the lines quarantined before cutoff (user text kept no
// longer than the retention) and returns how many it deleted.
func (q *fileQuarantine) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	b, err := nofollow.ReadFile(q.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	var keep []byte
	n := 0
	for line := range bytes.Lines(b) {
		var l quarantineLine
		if json.Unmarshal(line, &l) == nil {
			if t, err := time.Parse(time.RFC3339Nano, l.Time); err == nil && t.Before(cutoff) {
				n++
				continue
			}
		}
		keep = append(keep, line...)
	}
	if n == 0 {
		return 0, nil
	}
	if err := atomicfile.WriteBytes(q.path, 0o600, keep); err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	return n, nil
}

// memQuarantine is a Quarantine in memory.
type memQuarantine struct {
	mu sync.Mutex
	at map[string]time.Time // key -> when it was last added
}

// NewMemQuarantine returns a Quarantine kept in memory, for the lifetime
// of the value: what it holds is lost with the process.
func NewMemQuarantine() Quarantine { return &memQuarantine{at: map[string]time.Time{}} }

// Add keeps the samples' keys.
func (q *memQuarantine) Add(ctx context.Context, at time.Time, _, _, _ string, ss []dataset.Sample) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range ss {
		q.at[QuarantineKey(&ss[i])] = at
	}
	return nil
}

// Keys returns the keys kept.
func (q *memQuarantine) Keys(ctx context.Context) (map[string]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]bool, len(q.at))
	for k := range q.at {
		out[k] = true
	}
	return out, nil
}

// Prune forgets the keys last added before cutoff.
func (q *memQuarantine) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for k, t := range q.at {
		if t.Before(cutoff) {
			delete(q.at, k)
			n++
		}
	}
	return n, nil
}

// dropQuarantined removes the samples quarantined by earlier runs from
// snap's old and new samples and returns how many it removed.
func (r *Retrainer) dropQuarantined(ctx context.Context, snap *dataset.Snapshot) (int, error) {
	keys, err := r.quarantine.Keys(ctx)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	n := 0
	drop := func(ss []dataset.Sample) []dataset.Sample {
		out := ss[:0:0]
		for i := range ss {
			if keys[QuarantineKey(&ss[i])] {
				n++
				continue
			}
			out = append(out, ss[i])
		}
		return out
	}
	snap.Old, snap.New = drop(snap.Old), drop(snap.New)
	return n, nil
}

// userSignal reports whether s came from a user's verdict or the model
// itself rather than from a teacher or a person.
func userSignal(s *dataset.Sample) bool {
	return s.Source == dataset.SourceFeedback || s.Source == dataset.SourceModel
}

// disagreeing splits snap.New into the samples to keep and those to
// quarantine (see the package's poisoning notes). Without a deployed model
// nothing is quarantined.
func disagreeing(ctx context.Context, dep Classifier, snap *dataset.Snapshot) (keep, bad []dataset.Sample, err error) {
	if dep == nil {
		return snap.New, nil, nil
	}
	trusted := map[string][]string{} // normalized text -> trusted labels
	for _, list := range [][]dataset.Sample{snap.Base, snap.Old, snap.New} {
		for i := range list {
			if s := &list[i]; !userSignal(s) {
				k := normalizeKey(s.Text)
				trusted[k] = append(trusted[k], s.Labels...)
			}
		}
	}
	for i := range snap.New {
		s := &snap.New[i]
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		labels, ok := trusted[normalizeKey(s.Text)]
		if !userSignal(s) || !ok || len(s.Labels) == 0 || slices.Contains(labels, s.Labels[0]) {
			keep = append(keep, *s)
			continue
		}
		p := dep.Predict(s.Text)
		if p.Confidence >= StrongConfidence && !slices.Contains(s.Labels, p.Label) && slices.Contains(labels, p.Label) {
			bad = append(bad, *s)
			continue
		}
		keep = append(keep, *s)
	}
	return keep, bad, nil
}

// sampleGroup is a set of new samples that may be set aside together.
type sampleGroup struct {
	name string
	idx  []int
}

// groupsOf returns the groups of new samples worth trying, largest first:
// one per user-signal source (feedback, model) and one per session, each
// with at least 5% of the new samples (and at least 5). Teacher and human
// labels (llm, human, seed) are not grouped by source: a gate rejection on
// a small evaluation set is often noise, and setting aside all of a run's
// LLM-labelled samples then always "restores" the gate (the candidate is
// back to the deployed model's data) while losing every honest sample of
// the month for good; rejected, they stay for the next run instead.
func groupsOf(news []dataset.Sample) []sampleGroup {
	by := map[string][]int{}
	for i := range news {
		if userSignal(&news[i]) {
			by["source="+string(news[i].Source)] = append(by["source="+string(news[i].Source)], i)
		}
		if news[i].SessionID != "" {
			k := "session=" + news[i].SessionID
			by[k] = append(by[k], i)
		}
	}
	min := max(5, len(news)/20)
	var out []sampleGroup
	for name, idx := range by {
		if len(idx) >= min && len(idx) < len(news) || strings.HasPrefix(name, "source=") && len(idx) == len(news) && len(news) >= min {
			out = append(out, sampleGroup{name, idx})
		}
	}
	slices.SortFunc(out, func(a, b sampleGroup) int {
		return cmp.Or(cmp.Compare(len(b.idx), len(a.idx)), strings.Compare(a.name, b.name))
	})
	return out
}

// without returns news minus the samples of g.
func without(news []dataset.Sample, g sampleGroup) (rest, removed []dataset.Sample) {
	drop := make(map[int]bool, len(g.idx))
	for _, i := range g.idx {
		drop[i] = true
	}
	for i := range news {
		if drop[i] {
			removed = append(removed, news[i])
		} else {
			rest = append(rest, news[i])
		}
	}
	return rest, removed
}

// attempt is a candidate and what the gate made of it.
type attempt struct {
	cand   Classifier
	sp     splitData
	ev     *evaluation
	checks []Check
	failed []string
}

// setAside is called when the gate rejected the candidate: it retrains
// without each of the largest groups of new samples in turn (at most
// maxSetAsideTries) and returns the first attempt the gate passes, with the
// group and its samples; ok is false when none passes.
func (run *run) setAside(ctx context.Context, snap dataset.Snapshot, dep *deployedModel, ref Classifier, twinDetail string) (at attempt, g sampleGroup, removed []dataset.Sample, ok bool, err error) {
	r := run.r
	groups := groupsOf(snap.New)
	for i, g := range groups {
		if i >= maxSetAsideTries {
			break
		}
		if err := ctx.Err(); err != nil {
			return attempt{}, g, nil, false, err
		}
		s2 := snap
		s2.New, removed = without(snap.New, g)
		a := attempt{sp: r.split(s2)}
		if len(a.sp.train) == 0 {
			continue
		}
		if a.cand, err = run.train(ctx, a.sp.train); err != nil {
			return attempt{}, g, nil, false, err
		}
		if a.ev, err = r.evaluate(ctx, a.cand, ref, dep, a.sp); err != nil {
			return attempt{}, g, nil, false, err
		}
		a.ev.twin, a.ev.twinDetail = twinDetail != "", twinDetail
		a.checks = r.gateChecks(ctx, a.ev, run)
		if a.failed = failedChecks(a.checks); len(a.failed) == 0 {
			return a, g, removed, true, nil
		}
		run.log.Info("setting a group aside does not restore the gate", "group", g.name, "samples", len(g.idx))
	}
	return attempt{}, sampleGroup{}, nil, false, nil
}

// gateChecks is the gate's checks plus the comparison with the best model
// ever deployed on this golden set (recorded in run.rec.BestEver).
func (r *Retrainer) gateChecks(ctx context.Context, ev *evaluation, run *run) []Check {
	cs := r.cfg.Gate.checks(ev)
	g := &r.cfg.Gate
	if g.MaxBestEverDrop < 0 || ev.golden == 0 || run.rec.GoldenFingerprint == "" {
		return cs
	}
	best, err := r.bestEver(ctx, run.rec.GoldenFingerprint)
	if err != nil {
		run.warn("reading the best model ever deployed: " + err.Error())
		return cs
	}
	if best == nil {
		return cs
	}
	run.rec.BestEver = best
	eps := g.Epsilon
	// The best-ever model's answers are not kept: the paired noise with the
	// deployed side stands in for it.
	tol, noise := g.tolerance(g.MaxBestEverDrop, ev.goldNoise)
	for _, c := range []Check{
		{Name: "golden_accuracy_vs_best", Value: ev.goldCand.Accuracy - best.GoldenAccuracy, Threshold: -tol},
		{Name: "golden_macro_f1_vs_best", Value: ev.goldCand.MacroF1 - best.GoldenMacroF1, Threshold: -tol},
	} {
		c.Op = ">="
		c.Passed = isFinite(c.Value) && c.Value >= c.Threshold-eps
		c.Detail = "best ever: " + string(best.Version)
		if noise != "" {
			c.Detail += "; " + noise
		}
		cs = append(cs, c)
	}
	return cs
}

// BestEver is the best model ever deployed by a run on the current golden
// set (same fingerprint), as Record.BestEver reports it.
type BestEver struct {
	RetrainID      string         `json:"retrain_id"`
	Version        backup.Version `json:"version"`
	GoldenAccuracy float64        `json:"golden_accuracy"`
	GoldenMacroF1  float64        `json:"golden_macro_f1"`
}

// bestEver scans the history for the deployed run with the highest golden
// accuracy on the golden set with fingerprint fp; nil when there is none.
func (r *Retrainer) bestEver(ctx context.Context, fp string) (*BestEver, error) {
	no := false
	page, err := r.hist.List(ctx, HistoryFilter{Outcomes: []trigger.Outcome{trigger.OutcomeDeployed}, Manual: &no})
	if err != nil {
		return nil, err
	}
	var best *BestEver
	for _, rec := range page.Records {
		acc, ok1 := rec.NewMetrics["golden_accuracy"]
		f1, ok2 := rec.NewMetrics["golden_macro_f1"]
		if rec.GoldenFingerprint != fp || !ok1 || !ok2 {
			continue
		}
		if best == nil || acc > best.GoldenAccuracy || acc == best.GoldenAccuracy && f1 > best.GoldenMacroF1 {
			best = &BestEver{RetrainID: rec.RetrainID, Version: rec.NewVersion, GoldenAccuracy: acc, GoldenMacroF1: f1}
		}
	}
	return best, nil
}

// goldenFingerprint identifies the golden set a run evaluated on.
func goldenFingerprint(golden []model.Example) string {
	if len(golden) == 0 {
		return ""
	}
	return model.Fingerprint(golden)
}

// DataRetention is an optional interface a DataStore may implement to delete
// the user text it keeps beyond its retention (dataset.FileStore does: old
// query-log segments and exported samples). Run calls it at the start of
// every run but a dry run, while it holds the run lock.
type DataRetention interface {
	ApplyRetention(ctx context.Context) (dataset.RetentionStats, error)
}

// applyRetention enforces the retention of user text: Data's (when it
// implements DataRetention) and the quarantine's
// (Config.UserTextRetention). Failures are warnings.
func (run *run) applyRetention(ctx context.Context) {
	r := run.r
	if dr, ok := r.cfg.Data.(DataRetention); ok {
		st, err := dr.ApplyRetention(ctx)
		if err != nil {
			run.warn("retention: " + err.Error())
		} else if st.Segments+st.Samples > 0 {
			run.log.Info("retention deleted old user text", "segments", st.Segments, "samples", st.Samples)
		}
	}
	if ret := r.cfg.UserTextRetention; ret > 0 {
		if n, err := r.quarantine.Prune(ctx, r.cfg.Now().Add(-ret)); err != nil {
			run.warn("retention: " + err.Error())
		} else if n > 0 {
			run.log.Info("retention deleted old quarantined samples", "samples", n)
		}
	}
}
