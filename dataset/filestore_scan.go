package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"moodfood/internal/jsonl"
	"moodfood/internal/nofollow"
)

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
		f, err := nofollow.Open(segs[i].path)
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
		dec := queryDecoder{session: true} // the export caps per session
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
		dec := queryDecoder{session: true}
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
