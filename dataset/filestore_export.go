package dataset

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"moodfood/internal/jsonl"
)

// Export appends the good samples among queries logged since the last export
// to training_dataset.jsonl, according to FileStoreOptions.Policy, and
// advances the export watermark (segment, offset), which survives restarts:
// each query is exported at most once.
//
// Crash safety: samples are appended and fsynced first, then the watermark is
// replaced atomically together with the training file's size. If a crash
// falls between the two, the next Export finds the training file longer than
// recorded, reads the query ids of that tail, and skips those queries
// (counted in ExportStats.Recovered), so nothing is duplicated or lost.
//
// Damaged query-log lines are skipped and counted (ExportStats.Corrupt), never
// exported. A torn last line (a write in progress) is left for the next
// export.
func (s *FileStore) Export(ctx context.Context) (ExportStats, error) {
	if err := s.checkOpen(); err != nil {
		return ExportStats{}, err
	}
	l, err := s.lock()
	if err != nil {
		return ExportStats{}, err
	}
	defer l.Unlock()
	return s.exportLocked(ctx)
}

// exportPlan is what an export does apart from writing, as planExport
// computes it.
type exportPlan struct {
	wm   exportWatermark // the watermark it started from
	segs []segment       // the query-log files; none means no log
	stop position        // where the next export starts
	st   ExportStats     // Exported counts the emitted samples
	now  time.Time       // the clock reading the policy's Settle used
}

// planExport is the read side of Export, shared by Export, Pending's dry
// run and Preview, so that the three cannot disagree: it reads the export
// watermark, finds the samples an export that crashed before saving its
// watermark already appended (recovery), reads the feedback and then the
// queries of the log from the watermark on, joins them, applies the policy
// and the ModelShare cap, and counts late feedback. It calls emit with
// every sample Export appends, in the order Export appends them: the other
// samples in log order as they are found, then the "model" samples up to
// the cap. It creates, writes and locks nothing; the caller holds the
// export lock (exclusive or shared) when the result must be consistent.
func (s *FileStore) planExport(ctx context.Context, emit func(*Sample) error) (exportPlan, error) {
	p := exportPlan{st: ExportStats{Rejected: map[string]int{}}}
	pol := s.opts.Policy.withDefaults()
	p.now = s.opts.Now()
	if err := readJSON(s.exportState(), &p.wm); err != nil {
		return p, err
	}
	// Recovery: samples beyond the recorded training size were appended by
	// an export that crashed before saving its watermark.
	recovered := map[string]bool{}
	if fi, err := os.Stat(s.trainingPath()); err == nil {
		switch {
		case fi.Size() > p.wm.TrainingSize:
			err := readSampleTail(s.trainingPath(), p.wm.TrainingSize, s.opts.MaxRecord, func(smp Sample) {
				if smp.QueryID != "" {
					recovered[smp.QueryID] = true
				}
			})
			if err != nil {
				return p, err
			}
		case fi.Size() < p.wm.TrainingSize:
			p.wm.TrainingSize = fi.Size() // replaced by hand; start over from here
		}
	}
	segs, err := allSegments(s.queryLogPath())
	if err != nil {
		return p, err
	}
	start, ok := startPosition(segs, p.wm)
	if !ok {
		return p, nil
	}
	p.segs = segs

	// Pass 1: feedback, joined to queries by id (the latest wins).
	fb, err := s.collectFeedback(ctx, segs, start)
	if err != nil {
		return p, err
	}
	// Pass 2: queries. "model" samples wait for the cap, which depends on
	// how many other samples the export finds.
	var models []Sample
	caps := newCapper(&pol)
	p.stop, err = s.judgeLog(ctx, segs, start, fb, recovered, pol, p.now, &p.st, func(smp *Sample) error {
		if why := caps.reject(smp); why != "" {
			p.st.Rejected[why]++
			return nil
		}
		if smp.Source == SourceModel {
			models = append(models, *smp)
			return nil
		}
		p.st.Exported++
		return emit(smp)
	})
	if err != nil {
		return p, err
	}
	if len(models) > 0 {
		allowed := modelAllowance(pol, p.st.Exported, len(models))
		for i := range models {
			if i >= allowed {
				p.st.Rejected[ReasonModelCap] += len(models) - i
				break
			}
			p.st.Exported++
			if err := emit(&models[i]); err != nil {
				return p, err
			}
		}
	}
	for _, f := range fb.m {
		if !f.joined && (position{seg: f.seg, off: f.end - 1}).before(p.stop) {
			p.st.LateFeedback++
		}
	}
	return p, nil
}

// appendSampleLine appends the training-file line of smp (without its
// newline) to out: the encoding Export writes.
func appendSampleLine(out []byte, smp *Sample) ([]byte, error) {
	n := len(out)
	out, ok := appendSample(out, smp)
	if ok {
		return out, nil
	}
	b, err := json.Marshal(smp)
	if err != nil {
		return out[:n], fmt.Errorf("dataset: export: %w", err)
	}
	return append(out[:n], b...), nil
}

// exportLocked is Export for a caller holding the exclusive export lock:
// planExport, with the samples appended to the training file in 1 MiB
// batches. The training file is opened on the first sample, so an export
// that finds nothing to add creates and writes no training file.
func (s *FileStore) exportLocked(ctx context.Context) (ExportStats, error) {
	var app *jsonl.Appender
	defer func() {
		if app != nil {
			app.Close()
		}
	}()
	out := make([]byte, 0, 1<<20+4096)
	flush := func() error {
		if len(out) == 0 {
			return nil
		}
		if app == nil {
			var err error
			if app, err = jsonl.OpenAppender(s.trainingPath(), &jsonl.AppenderOptions{MaxRecord: s.opts.MaxRecord}); err != nil {
				return fmt.Errorf("dataset: export: %w", err)
			}
		}
		if err := app.WriteBatch(out); err != nil {
			return fmt.Errorf("dataset: export: %w", err)
		}
		out = out[:0]
		return nil
	}
	p, err := s.planExport(ctx, func(smp *Sample) error {
		var err error
		if out, err = appendSampleLine(out, smp); err != nil {
			return err
		}
		out = append(out, '\n')
		if len(out) >= 1<<20 {
			return flush()
		}
		return nil
	})
	if err != nil || len(p.segs) == 0 {
		return p.st, err
	}
	if err := flush(); err != nil {
		return p.st, err
	}
	if app != nil {
		if err := app.Sync(); err != nil {
			return p.st, fmt.Errorf("dataset: export: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return p.st, err
	}
	size := int64(0)
	if fi, err := os.Stat(s.trainingPath()); err == nil {
		size = fi.Size()
	}
	wm := p.wm
	next := exportWatermark{Seq: p.segs[p.stop.seg].seq, Offset: p.stop.off, Line: p.stop.line,
		TrainingSize: size, Updated: p.now.UTC()}
	if next.Seq == wm.Seq && next.Offset == wm.Offset && next.TrainingSize == wm.TrainingSize {
		return p.st, nil
	}
	return p.st, writeJSON(s.exportState(), next)
}

// modelAllowance is how many "model" samples an export of exported other
// samples may add (ExportPolicy.ModelShare).
func modelAllowance(pol ExportPolicy, exported, models int) int {
	if pol.ModelShare >= 1 {
		return models
	}
	return int(pol.ModelShare * float64(exported) / (1 - pol.ModelShare))
}
