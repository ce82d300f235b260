package dataset

import (
	"bytes"
	"context"
	"hash/maphash"
	"unicode/utf8"

	"moodfood/internal/jsonl"
)

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
