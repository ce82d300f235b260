package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"moodfood/internal/atomicfile"
	"moodfood/internal/flock"
	"moodfood/internal/jsonl"
)

// FileStoreOptions tunes a FileStore. The zero value (or nil) is a set of
// defaults.
type FileStoreOptions struct {
	// GoldenPath is the frozen golden set; relative paths are relative to
	// the root. Default data/golden_dataset.jsonl. A missing file means no
	// golden set.
	GoldenPath string
	// Policy is the export quality policy.
	Policy ExportPolicy
	// Logger tunes the Logger returned by FileStore.Logger.
	Logger LoggerOptions
	// MaxRecord is the record size limit for reading sample files and the
	// query log (default jsonl.DefaultMaxRecord, 1 MiB). Queries are
	// limited further by Logger.MaxRecord when written.
	MaxRecord int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// FileStore is the embedded dataset store on disk under one root
// (DESIGN.md §2):
//
//	ROOT/data/intent_dataset.jsonl            base set (JSONL or a JSON array)
//	ROOT/data/golden_dataset.jsonl            optional frozen golden set
//	ROOT/data/logs/query_logs.jsonl           query log (+ query_logs.NNNNNNNN.jsonl segments)
//	ROOT/data/logs/training_dataset.jsonl     exported samples
//	ROOT/data/logs/export_state.json          export watermark (segment, offset)
//	ROOT/data/logs/train_watermark.json       committed Mark
//	ROOT/data/logs/export.lock                serializes Export/Snapshot/Commit across processes
//
// Files are created 0600, directories 0700; local filesystems only (NFS is
// unsupported). A FileStore is safe for concurrent use by multiple
// goroutines, and several processes may use one root: the serving process
// logs through Logger while a retraining process calls Snapshot and Commit.
//
// The golden set never enters training: Snapshot removes every sample whose
// normalized text is in the golden set from Base, Old and New.
type FileStore struct {
	root   string
	opts   FileStoreOptions
	golden string

	mu     sync.Mutex
	logger *Logger
	closed bool
}

// OpenFileStore opens (creating directories as needed) the store under
// root. A relative root is made absolute once, here; later changes of the
// working directory do not matter. Stale temp files of the state files are
// removed.
func OpenFileStore(root string, opts *FileStoreOptions) (*FileStore, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("dataset: open %s: %w", root, err)
	}
	s := &FileStore{root: abs}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.Logger.Now == nil {
		s.opts.Logger.Now = s.opts.Now
	}
	s.golden = s.opts.GoldenPath
	if s.golden == "" {
		s.golden = filepath.Join("data", "golden_dataset.jsonl")
	}
	if !filepath.IsAbs(s.golden) {
		s.golden = filepath.Join(abs, s.golden)
	}
	if err := os.MkdirAll(s.logsDir(), 0o700); err != nil {
		return nil, fmt.Errorf("dataset: open: %w", err)
	}
	if ents, err := os.ReadDir(s.logsDir()); err == nil {
		for _, e := range ents {
			if atomicfile.IsTemp(e.Name()) && (bytes.HasPrefix([]byte(e.Name()), []byte(".export_state.json")) ||
				bytes.HasPrefix([]byte(e.Name()), []byte(".train_watermark.json"))) {
				os.Remove(filepath.Join(s.logsDir(), e.Name()))
			}
		}
	}
	return s, nil
}

func (s *FileStore) logsDir() string      { return filepath.Join(s.root, "data", "logs") }
func (s *FileStore) basePath() string     { return filepath.Join(s.root, "data", "intent_dataset.jsonl") }
func (s *FileStore) queryLogPath() string { return filepath.Join(s.logsDir(), "query_logs.jsonl") }
func (s *FileStore) trainingPath() string {
	return filepath.Join(s.logsDir(), "training_dataset.jsonl")
}
func (s *FileStore) exportState() string { return filepath.Join(s.logsDir(), "export_state.json") }
func (s *FileStore) markPath() string    { return filepath.Join(s.logsDir(), "train_watermark.json") }
func (s *FileStore) lockPath() string    { return filepath.Join(s.logsDir(), "export.lock") }

// Root is the store's absolute root directory.
func (s *FileStore) Root() string { return s.root }

// Logger returns the store's query Logger, opening it (and starting its
// goroutine) on first use. Close closes it.
func (s *FileStore) Logger() (*Logger, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.logger == nil {
		l, err := OpenLogger(s.queryLogPath(), &s.opts.Logger)
		if err != nil {
			return nil, err
		}
		s.logger = l
	}
	return s.logger, nil
}

// Log logs one served query through Logger: the serving side's entry point.
func (s *FileStore) Log(q Query) error {
	l, err := s.Logger()
	if err != nil {
		return err
	}
	return l.Log(q)
}

// Close closes the Logger, if one was opened, draining its queue. It is
// safe to call more than once.
func (s *FileStore) Close() error {
	s.mu.Lock()
	l := s.logger
	s.closed = true
	s.logger = nil
	s.mu.Unlock()
	if l != nil {
		return l.Close()
	}
	return nil
}

func (s *FileStore) checkOpen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// exportWatermark is export_state.json: where the next export starts in the
// query log, and how long training_dataset.jsonl was when it was saved.
type exportWatermark struct {
	Seq          int       `json:"seq"`
	Offset       int64     `json:"offset"`
	Line         int       `json:"line"`
	TrainingSize int64     `json:"training_size"`
	Updated      time.Time `json:"updated,omitzero"`
}

// committedMark is train_watermark.json.
type committedMark struct {
	Mark
	Committed time.Time `json:"committed,omitzero"`
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("dataset: %s: %w", filepath.Base(path), err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	if err := atomicfile.WriteBytes(path, 0o600, append(b, '\n')); err != nil {
		return fmt.Errorf("dataset: write %s: %w", filepath.Base(path), err)
	}
	return nil
}

func (s *FileStore) lock() (*flock.Lock, error) {
	l, err := flock.LockWait(s.lockPath())
	if err != nil {
		return nil, fmt.Errorf("dataset: lock: %w", err)
	}
	return l, nil
}

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

// feedbackInfo is the latest feedback seen for one query.
type feedbackInfo struct {
	positive bool
	success  *bool
	seg      int   // index into the segment list
	end      int64 // offset after the feedback line
	joined   bool
}

// feedbackIndex maps query ids to their latest feedback. A one-hash Bloom
// filter in front of the map answers most lookups (queries without
// feedback) from a small bit set that stays in cache.
type feedbackIndex struct {
	m    map[string]*feedbackInfo
	seed maphash.Seed
	bits []uint64 // grown with the map; rebuilt on growth
}

func newFeedbackIndex() *feedbackIndex {
	return &feedbackIndex{m: map[string]*feedbackInfo{}, seed: maphash.MakeSeed(), bits: make([]uint64, 1<<10)}
}

func (x *feedbackIndex) bit(id string) (int, uint64) {
	h := maphash.String(x.seed, id)
	n := uint64(len(x.bits)) * 64
	b := h % n
	return int(b / 64), 1 << (b % 64)
}

func (x *feedbackIndex) add(id string, f *feedbackInfo) {
	x.m[id] = f
	if len(x.m)*16 > len(x.bits)*64 {
		x.bits = make([]uint64, len(x.bits)*4)
		for k := range x.m {
			i, b := x.bit(k)
			x.bits[i] |= b
		}
		return
	}
	i, b := x.bit(id)
	x.bits[i] |= b
}

func (x *feedbackIndex) get(id string) *feedbackInfo {
	if len(x.m) == 0 {
		return nil
	}
	if i, b := x.bit(id); x.bits[i]&b == 0 {
		return nil
	}
	return x.m[id]
}

// position is a point in the query log.
type position struct {
	seg  int
	off  int64
	line int
}

func (p position) before(q position) bool {
	return p.seg < q.seg || (p.seg == q.seg && p.off < q.off)
}

// scanLog calls fn for every complete line of the query log from start on.
// fn returns false to stop. Offsets are absolute in each segment file.
func (s *FileStore) scanLog(ctx context.Context, segs []segment, start position,
	fn func(seg int, line []byte, lineNo int, begin, end int64) (bool, error)) (position, jsonl.Stats, error) {
	var total jsonl.Stats
	pos := start
	for i := start.seg; i < len(segs); i++ {
		off, lineNo := int64(0), 0
		if i == start.seg {
			off, lineNo = start.off, start.line
		}
		f, err := os.Open(segs[i].path)
		if errors.Is(err, os.ErrNotExist) {
			continue // pruned meanwhile
		}
		if err != nil {
			return pos, total, fmt.Errorf("dataset: %w", err)
		}
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			f.Close()
			return pos, total, fmt.Errorf("dataset: %w", err)
		}
		size := chunkSize
		if fi, err := f.Stat(); err == nil && fi.Size()-off < int64(size) {
			size = int(fi.Size() - off) // small file: small buffer
		}
		rd := jsonl.NewReaderSize(f, s.opts.MaxRecord, size)
		rd.SetLineNo(lineNo)
		stop := false
		begin := off
		for n := 0; ; n++ {
			line, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return pos, total, fmt.Errorf("dataset: %w", err)
			}
			if n&4095 == 0 {
				if err := ctx.Err(); err != nil {
					f.Close()
					return pos, total, err
				}
			}
			end := off + rd.End()
			// begin is the start of this line: just after the previous
			// complete line (blank and oversized lines included).
			ok, err := fn(i, line, rd.LineNo(), begin, end)
			if err != nil {
				f.Close()
				return pos, total, err
			}
			if !ok {
				stop = true
				pos = position{seg: i, off: begin, line: rd.LineNo() - 1}
				break
			}
			begin = off + rd.Stats().Offset
		}
		st := rd.Stats()
		f.Close()
		total.Lines += st.Lines
		total.Bad += st.Bad
		for _, n := range st.BadLines {
			if len(total.BadLines) < jsonl.MaxBadLines {
				total.BadLines = append(total.BadLines, n)
			}
		}
		if stop {
			return pos, total, nil
		}
		pos = position{seg: i, off: off + st.Offset, line: rd.LineNo()}
		if st.Torn {
			pos.line-- // the torn line is read again next time
		}
	}
	return pos, total, nil
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
	p.stop, err = s.judgeLog(ctx, segs, start, fb, recovered, pol, p.now, &p.st, func(smp *Sample) error {
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

var fbKey = []byte(`"feedback"`)

// collectFeedback reads the feedback records of the query log from start on:
// query id -> the latest feedback. It scans big chunks for the byte pattern
// "feedback" and decodes only the lines that hold it.
func (s *FileStore) collectFeedback(ctx context.Context, segs []segment, start position) (*feedbackIndex, error) {
	fb := newFeedbackIndex()
	var dec queryDecoder
	maxRec := s.opts.MaxRecord
	if maxRec <= 0 {
		maxRec = jsonl.DefaultMaxRecord
	}
	var r record
	for i := start.seg; i < len(segs); i++ {
		off := int64(0)
		if i == start.seg {
			off = start.off
		}
		err := scanChunks(ctx, segs[i].path, off, maxRec, func(buf []byte, base int64) error {
			for j := 0; j < len(buf); {
				// Search from 'f' (rare) rather than '"' (everywhere).
				k := bytes.Index(buf[j:], fbKey[1:])
				if k < 0 {
					break
				}
				if j+k == 0 || buf[j+k-1] != '"' {
					j += k + 1
					continue
				}
				ls, le := lineAt(buf, j+k)
				j = le
				line, ok := trimLine(buf[ls:le], maxRec)
				if !ok {
					continue
				}
				if !utf8.Valid(line) {
					continue
				}
				if !dec.decode(line, &r) && decodeRecord(line, &r) != nil {
					continue
				}
				if r.Type != TypeFeedback || r.QueryID == "" || r.Positive == nil {
					continue
				}
				var success *bool
				if r.Success != nil {
					success = new(bool)
					*success = *r.Success // r.Success may point into dec
				}
				fb.add(r.QueryID, &feedbackInfo{positive: *r.Positive, success: success, seg: i, end: base + int64(le)})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return fb, nil
}

// judgeLog reads the queries of the log from start on, joins feedback,
// applies the policy and calls emit for every accepted sample ("model"
// samples included: the caller applies the ModelShare cap). It fills st
// (except Exported) and returns where the next export starts.
func (s *FileStore) judgeLog(ctx context.Context, segs []segment, start position, fb *feedbackIndex,
	recovered map[string]bool, pol ExportPolicy, now time.Time, st *ExportStats, emit func(*Sample) error) (position, error) {
	settleBefore := now.Add(-pol.Settle)
	// judge handles one decoded line (derr != nil: damaged); false stops
	// the scan at this line (Settle).
	judge := func(seg, lineNo int, r *record, derr error) (bool, error) {
		if derr != nil || (r.Type == TypeQuery && (r.QueryID == "" || r.Text == "")) {
			st.Corrupt++
			if len(st.Lines) < jsonl.MaxBadLines {
				st.Lines = append(st.Lines, lineNo)
				st.CorruptAt = append(st.CorruptAt, filepath.Base(segs[seg].path)+":"+strconv.Itoa(lineNo))
			}
			return true, nil
		}
		if r.Type != TypeQuery {
			return true, nil
		}
		if pol.Settle > 0 && r.Timestamp.After(settleBefore) {
			return false, nil
		}
		st.Scanned++
		q := &r.Query
		var p bool
		if f := fb.get(q.QueryID); f != nil {
			f.joined = true
			p = f.positive
			q.Positive = &p
			if f.success != nil {
				q.Success = f.success
			}
		}
		if recovered[q.QueryID] {
			st.Recovered++
			return true, nil
		}
		smp, reason := pol.judge(q)
		if reason != "" {
			st.Rejected[reason]++
			return true, nil
		}
		return true, emit(&smp)
	}
	var stop position
	var rs jsonl.Stats
	var err error
	if pol.Settle > 0 || runtime.GOMAXPROCS(0) < 2 {
		var r record
		var dec queryDecoder
		stop, rs, err = s.scanLog(ctx, segs, start, func(seg int, line []byte, lineNo int, _, _ int64) (bool, error) {
			return judge(seg, lineNo, &r, decodeLine(&dec, line, &r))
		})
	} else {
		stop, rs, err = s.judgeParallel(ctx, segs, start, judge)
	}
	if err != nil {
		return stop, err
	}
	st.Corrupt += rs.Bad
	for _, n := range rs.BadLines {
		if len(st.Lines) < jsonl.MaxBadLines {
			st.Lines = append(st.Lines, n)
		}
	}
	return stop, nil
}

// decodeLine decodes a query-log line: the fast path, else decodeRecord.
func decodeLine(dec *queryDecoder, line []byte, r *record) error {
	if !utf8.Valid(line) {
		*r = record{}
		return errInvalidUTF8
	}
	if dec.decode(line, r) {
		return nil
	}
	return decodeRecord(line, r)
}

// lineBatch carries lines from the reader to the decoder and the decoded
// records on to the judge.
type lineBatch struct {
	buf       []byte
	ends      []int // end of each line in buf
	nos, segs []int
	recs      []record
	errs      []error
	flags     []bool // storage behind recs[i].Success/Positive: 2*i, 2*i+1
}

// judgeParallel is judgeLog's scan as a three-stage pipeline, so that
// decoding (the bulk of the CPU) runs on a second core: this goroutine
// reads lines in order and judges them in order, and one decoder goroutine
// decodes batches in between. Used without Settle only, so the scan never
// stops early. No goroutine outlives the call.
func (s *FileStore) judgeParallel(ctx context.Context, segs []segment, start position,
	judge func(seg, lineNo int, r *record, derr error) (bool, error)) (position, jsonl.Stats, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	const nBatch = 4
	free := make(chan *lineBatch, nBatch)
	for range nBatch {
		free <- &lineBatch{}
	}
	raw := make(chan *lineBatch, nBatch)
	done := make(chan *lineBatch, nBatch)
	var stop position
	var rs jsonl.Stats
	var rerr error
	go func() { // reader
		defer close(raw)
		b := <-free
		send := func() error {
			select {
			case raw <- b:
			case <-ctx.Done():
				return ctx.Err()
			}
			select {
			case b = <-free:
			case <-ctx.Done():
				return ctx.Err()
			}
			b.buf, b.ends, b.nos, b.segs = b.buf[:0], b.ends[:0], b.nos[:0], b.segs[:0]
			return nil
		}
		stop, rs, rerr = s.scanLog(ctx, segs, start, func(seg int, line []byte, lineNo int, _, _ int64) (bool, error) {
			b.buf = append(b.buf, line...)
			b.ends = append(b.ends, len(b.buf))
			b.nos = append(b.nos, lineNo)
			b.segs = append(b.segs, seg)
			if len(b.ends) >= 4096 || len(b.buf) >= 1<<20 {
				if err := send(); err != nil {
					return false, err
				}
			}
			return true, nil
		})
		if rerr == nil && len(b.ends) > 0 {
			select {
			case raw <- b:
			case <-ctx.Done():
			}
		}
	}()
	go func() { // decoder
		defer close(done)
		var dec queryDecoder
		for b := range raw {
			n := len(b.ends)
			b.recs = slices.Grow(b.recs[:0], n)[:n]
			b.errs = slices.Grow(b.errs[:0], n)[:n]
			b.flags = slices.Grow(b.flags[:0], 2*n)[:2*n]
			begin := 0
			for i, end := range b.ends {
				r := &b.recs[i]
				b.errs[i] = decodeLine(&dec, b.buf[begin:end], r)
				begin = end
				// Success and Positive may point into dec: give them
				// storage of their own.
				if r.Success != nil {
					b.flags[2*i] = *r.Success
					r.Success = &b.flags[2*i]
				}
				if r.Positive != nil {
					b.flags[2*i+1] = *r.Positive
					r.Positive = &b.flags[2*i+1]
				}
			}
			select {
			case done <- b:
			case <-ctx.Done():
			}
		}
	}()
	var jerr error
	for b := range done {
		for i := range b.ends {
			if jerr != nil {
				break
			}
			if _, err := judge(b.segs[i], b.nos[i], &b.recs[i], b.errs[i]); err != nil {
				jerr = err
				cancel()
			}
		}
		free <- b
	}
	// done is closed: the decoder has seen raw closed, so the reader has
	// returned and stop, rs and rerr are set.
	if jerr != nil {
		return stop, rs, jerr
	}
	return stop, rs, rerr
}

// readSampleTail calls fn for every sample in path from offset on.
func readSampleTail(path string, offset int64, maxRecord int, fn func(Sample)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	var scratch []byte
	_, err = jsonl.Read(f, maxRecord, func(line []byte, _ int) error {
		var smp Sample
		if decodeSample(line, &smp, &scratch) != nil {
			return jsonl.ErrSkip
		}
		fn(smp)
		return nil
	})
	if err != nil {
		return fmt.Errorf("dataset: %w", err)
	}
	return nil
}

// readSamples reads a sample file: JSONL, or a JSON array when accept is
// set and the first non-space byte is '['. A missing file is empty. Damaged
// lines are skipped and counted. split, when >= 0, is an offset: samples
// ending at or before it go to old, the rest to new.
func readSamples(path string, maxRecord int, array bool, fn func(s Sample, end int64)) (jsonl.Stats, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return jsonl.Stats{}, nil
	}
	if err != nil {
		return jsonl.Stats{}, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return readSamplesFrom(f, filepath.Base(path), maxRecord, array, fn)
}

// readSamplesFrom is readSamples over r; name is the file's name for errors.
func readSamplesFrom(r io.Reader, name string, maxRecord int, array bool, fn func(s Sample, end int64)) (jsonl.Stats, error) {
	br := bufio.NewReaderSize(r, chunkSize)
	if array {
		for {
			c, err := br.ReadByte()
			if err != nil {
				return jsonl.Stats{}, nil
			}
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == 0xEF || c == 0xBB || c == 0xBF {
				continue
			}
			br.UnreadByte()
			if c == '[' {
				return readArray(br, fn)
			}
			break
		}
	}
	rd := jsonl.NewReader(br, maxRecord)
	rd.AllowUnterminated = array
	var scratch []byte
	for {
		line, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return rd.Stats(), nil
		}
		if err != nil {
			return rd.Stats(), fmt.Errorf("dataset: %s: %w", name, err)
		}
		var smp Sample
		if decodeSample(line, &smp, &scratch) != nil || smp.Text == "" {
			rd.Skip()
			continue
		}
		fn(smp, rd.End())
	}
}

// readArray reads a JSON array of samples. A damaged element ends the read
// (a JSON array cannot be resynchronized); it is counted as one bad record.
func readArray(r io.Reader, fn func(s Sample, end int64)) (jsonl.Stats, error) {
	var st jsonl.Stats
	dec := json.NewDecoder(r)
	if _, err := dec.Token(); err != nil {
		st.Bad++
		return st, nil
	}
	for dec.More() {
		var smp Sample
		if err := dec.Decode(&smp); err != nil {
			st.Bad++
			st.BadLines = append(st.BadLines, st.Lines+1)
			return st, nil
		}
		st.Lines++
		if smp.Text == "" {
			st.Bad++
			continue
		}
		fn(smp, 0)
	}
	return st, nil
}

// Snapshot exports new good samples from the query log, then reads the base
// set, the exported samples (split at the committed Mark into Old and New)
// and the golden set. Samples whose normalized text is in the golden set are
// removed from Base, Old and New (Snapshot.GoldenExcluded). The returned
// Mark covers every exported sample read; pass it to Commit after a deploy.
// Preview returns the same without exporting.
func (s *FileStore) Snapshot(ctx context.Context) (Snapshot, error) {
	var snap Snapshot
	if err := s.checkOpen(); err != nil {
		return snap, err
	}
	l, err := s.lock()
	if err != nil {
		return snap, err
	}
	defer l.Unlock()
	snap.Export, err = s.exportLocked(ctx)
	if err != nil {
		return snap, err
	}
	training, done, err := s.openTraining()
	if err != nil {
		return snap, err
	}
	defer done()
	return snap, s.readSnapshot(ctx, &snap, training, training.Size())
}

// openTraining opens the training file for reading, as it is now (a
// missing file is empty); done closes it.
func (s *FileStore) openTraining() (training *io.SectionReader, done func(), err error) {
	f, err := os.Open(s.trainingPath())
	if errors.Is(err, os.ErrNotExist) {
		return io.NewSectionReader(bytes.NewReader(nil), 0, 0), func() {}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("dataset: %w", err)
	}
	return io.NewSectionReader(f, 0, fi.Size()), func() { f.Close() }, nil
}

// readSnapshot fills in everything of snap but Export: the committed mark,
// the base set, the exported samples split at the mark, the golden set and
// the golden exclusion. training is the content of the training file and
// size its length; the caller holds the export lock (exclusive or shared).
func (s *FileStore) readSnapshot(ctx context.Context, snap *Snapshot, training io.Reader, size int64) error {
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return err
	}
	if cm.Offset > size {
		cm.Mark = Mark{} // the training file was replaced: everything is new
	}
	st, err := readSamples(s.basePath(), s.opts.MaxRecord, true, func(x Sample, _ int64) {
		snap.Base = append(snap.Base, x)
	})
	if err != nil {
		return err
	}
	snap.Corrupt += st.Bad
	if size > 0 {
		// Presize from the file size (exported samples are ~170 bytes).
		n := int(min(size/160, 1<<24))
		old := int(min(cm.Offset/160, int64(n)))
		snap.Old = make([]Sample, 0, old+16)
		snap.New = make([]Sample, 0, n-old+16)
	}
	st, err = readSamplesFrom(training, filepath.Base(s.trainingPath()), s.opts.MaxRecord, false, func(x Sample, end int64) {
		if end <= cm.Offset {
			snap.Old = append(snap.Old, x)
		} else {
			snap.New = append(snap.New, x)
		}
	})
	if err != nil {
		return err
	}
	snap.Corrupt += st.Bad
	snap.Mark = Mark{Offset: st.Offset, Count: len(snap.Old) + len(snap.New)}
	if err := ctx.Err(); err != nil {
		return err
	}
	st, err = readSamples(s.golden, s.opts.MaxRecord, true, func(x Sample, _ int64) {
		snap.Golden = append(snap.Golden, x)
	})
	if err != nil {
		return err
	}
	snap.Corrupt += st.Bad
	excludeGolden(snap)
	return nil
}

// excludeGolden drops golden keys from Base, Old and New.
func excludeGolden(snap *Snapshot) {
	if len(snap.Golden) == 0 {
		return
	}
	keys := make(map[string]bool, len(snap.Golden))
	for _, g := range snap.Golden {
		keys[Normalize(g.Text)] = true
	}
	filter := func(in []Sample) []Sample {
		out := in[:0:0]
		for _, x := range in {
			if keys[Normalize(x.Text)] {
				snap.GoldenExcluded++
				continue
			}
			out = append(out, x)
		}
		return out
	}
	snap.Base, snap.Old, snap.New = filter(snap.Base), filter(snap.Old), filter(snap.New)
}

// Commit advances the committed mark to m, after a model trained on the
// snapshot that returned m was deployed. Committing a mark at or before the
// committed one is a no-op; a mark beyond the exported data returns an error
// matching ErrBadMark.
func (s *FileStore) Commit(ctx context.Context, m Mark) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	l, err := s.lock()
	if err != nil {
		return err
	}
	defer l.Unlock()
	var cm committedMark
	if err := readJSON(s.markPath(), &cm); err != nil {
		return err
	}
	if m.Offset <= cm.Offset {
		return nil
	}
	fi, err := os.Stat(s.trainingPath())
	if err != nil || m.Offset > fi.Size() {
		return fmt.Errorf("dataset: commit offset %d: %w", m.Offset, ErrBadMark)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeJSON(s.markPath(), committedMark{Mark: m, Committed: s.opts.Now().UTC()})
}
