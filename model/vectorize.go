package model

import (
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"sync"
	"unicode/utf8"

	"github.com/james-bowman/nlp"
	"github.com/james-bowman/sparse"
)

// vectorizer is the fitted feature map: vocabulary and IDF weights. A vector
// is computed as v[t] = (1 + ln count(t)) * idf[t], then L2-normalized.
// It is immutable after fitting and safe for concurrent use.
type vectorizer struct {
	cfg   tokenConfig
	terms []string // feature index -> term, sorted
	// long maps the terms of more than 16 bytes to their feature index
	// (see short and medium for the others)
	long map[string]int32
	idf  []float64
	// nWords is the number of word features: they sort first, since they
	// start with a space.
	nWords int32
	// short indexes the terms of at most 8 bytes (most of them) by their
	// bytes packed into a uint64, medium those of 9 to 16 bytes by theirs
	// packed into two: exact, smaller than a map and much faster.
	short  packedIndex
	medium packedIndex16
}

// packedIndex is an open-addressing hash table from terms of 1 to 8 bytes,
// packed little-endian into a uint64 (normalized text has no NUL byte, so
// the packing is unambiguous and never 0), to feature indices. A key and its
// value share one 16-byte slot, so a probe touches one cache line.
type packedIndex struct {
	slots []packedSlot
	shift uint
}

type packedSlot struct {
	key uint64 // 0 = empty
	val int32
}

func pack(b []byte) uint64 {
	if len(b) == 8 {
		return binary.LittleEndian.Uint64(b)
	}
	var k uint64
	for i, c := range b {
		k |= uint64(c) << (8 * i)
	}
	return k
}

func newPackedIndex(terms []string) packedIndex {
	n := 0
	for _, t := range terms {
		if len(t) <= 8 {
			n++
		}
	}
	bits := uint(4)
	for 1<<bits < 2*n {
		bits++
	}
	p := packedIndex{slots: make([]packedSlot, 1<<bits), shift: 64 - bits}
	mask := uint64(len(p.slots) - 1)
	for i, t := range terms {
		if len(t) <= 8 {
			k := pack([]byte(t))
			h := (k * 0x9E3779B97F4A7C15) >> p.shift
			for p.slots[h].key != 0 {
				h = (h + 1) & mask
			}
			p.slots[h] = packedSlot{key: k, val: int32(i)}
		}
	}
	return p
}

// lookup finds the term whose packed bytes are k.
func (p *packedIndex) lookup(k uint64) (int32, bool) {
	mask := uint64(len(p.slots) - 1)
	h := (k * 0x9E3779B97F4A7C15) >> p.shift
	for {
		e := &p.slots[h&mask]
		switch e.key {
		case k:
			return e.val, true
		case 0:
			return 0, false
		}
		h++
	}
}

// packedIndex16 is packedIndex for terms of 9 to 16 bytes, packed into two
// uint64 (the first 8 bytes, then the rest, zero-filled): a 24-byte slot.
type packedIndex16 struct {
	slots []packedSlot16
	shift uint
}

type packedSlot16 struct {
	lo, hi uint64 // lo == 0: empty
	val    int32
}

func hash16(lo, hi uint64) uint64 { return (lo ^ hi*0xC2B2AE3D27D4EB4F) * 0x9E3779B97F4A7C15 }

func newPackedIndex16(terms []string) packedIndex16 {
	n := 0
	for _, t := range terms {
		if len(t) > 8 && len(t) <= 16 {
			n++
		}
	}
	bits := uint(4)
	for 1<<bits < 2*n {
		bits++
	}
	p := packedIndex16{slots: make([]packedSlot16, 1<<bits), shift: 64 - bits}
	mask := uint64(len(p.slots) - 1)
	for i, t := range terms {
		if len(t) > 8 && len(t) <= 16 {
			lo, hi := pack([]byte(t[:8])), pack([]byte(t[8:]))
			h := hash16(lo, hi) >> p.shift
			for p.slots[h].lo != 0 {
				h = (h + 1) & mask
			}
			p.slots[h] = packedSlot16{lo: lo, hi: hi, val: int32(i)}
		}
	}
	return p
}

// lookup finds the term whose packed bytes are lo, hi.
func (p *packedIndex16) lookup(lo, hi uint64) (int32, bool) {
	mask := uint64(len(p.slots) - 1)
	h := hash16(lo, hi) >> p.shift
	for {
		e := &p.slots[h&mask]
		if e.lo == lo && e.hi == hi {
			return e.val, true
		}
		if e.lo == 0 {
			return 0, false
		}
		h++
	}
}

// findLong returns the feature index of the term buf[i:j] of more than 8
// bytes, if known; buf must have 16 readable bytes from i (see keyPad).
// (Terms of up to 8 bytes, most of them, are looked up by find and, inline,
// by charFeatures.)
func (v *vectorizer) findLong(buf []byte, i, j int) (int32, bool) {
	if n := j - i; n <= 16 {
		lo := binary.LittleEndian.Uint64(buf[i:])
		hi := binary.LittleEndian.Uint64(buf[i+8:]) & (^uint64(0) >> (128 - 8*n))
		return v.medium.lookup(lo, hi)
	}
	f, ok := v.long[string(buf[i:j])]
	return f, ok
}

// lookup returns the feature index of term, if known.
func (v *vectorizer) lookup(term string) (int32, bool) {
	if len(term) == 0 {
		return 0, false
	}
	pad := append([]byte(term), make([]byte, keyPad)...)
	if len(term) <= 8 {
		return v.short.lookup(pack(pad[:len(term)]))
	}
	return v.findLong(pad, 0, len(term))
}

// keyPad is the zero padding features puts after the normalized text, so
// that 8 bytes (findLong: 16) can be loaded from any feature's start.
const keyPad = 16

// newVectorizer indexes terms (sorted, distinct) for cfg.
func newVectorizer(cfg tokenConfig, terms []string, idf []float64) *vectorizer {
	v := &vectorizer{cfg: cfg, terms: terms, idf: idf, long: map[string]int32{}}
	for i, t := range terms {
		if len(t) > 16 {
			v.long[t] = int32(i)
		}
		if t[0] == ' ' {
			v.nWords = int32(i + 1)
		}
	}
	v.short = newPackedIndex(terms)
	v.medium = newPackedIndex16(terms)
	return v
}

// scratch is the per-call working memory of the fast path.
type scratch struct {
	buf    []byte
	starts []int
	idx    []int32   // distinct features of the current text, first-seen order
	cnt    []float64 // their counts, then their final values
	// table is an open-addressing set of the current text's features: an
	// entry is stamp<<32 | position in idx, and entries with an older
	// stamp are empty, so it never needs clearing between texts
	table  []uint64
	stamp  uint32
	n      int       // features counted so far (features: idx and cnt are longer)
	seg    []byte    // "<word>" of a non-ASCII word, for charFeatures
	runes  []int     // its rune offsets
	alpha  []float32 // float32 copies of cnt, for addRows
	scores []float64
	z32    []float32
	order  []int
}

func newScratch() *scratch { return &scratch{} }

// features fills s.idx / s.cnt with the distinct known features of text and
// their raw counts, in order of first occurrence. It allocates nothing once s
// has warmed up. The features and their order are those of spans (which
// the tokeniser uses), generated here without storing their bounds: word
// n-grams, then each word's character n-grams, by length then position.
func (v *vectorizer) features(text string, s *scratch) {
	cfg := v.cfg
	var wordEnd int
	s.buf, wordEnd = normalize(s.buf, text, false)
	s.buf = append(s.buf, make([]byte, keyPad)...)
	pad := s.buf
	// size the set for the worst case so that it stays at most half full
	need := min(4*wordEnd*(1+max(cfg.CharMax-cfg.CharMin+1, cfg.WordNGrams)), 2*len(v.terms)+2)
	if len(s.table) < need {
		m := 256
		for m < need {
			m *= 2
		}
		s.table, s.stamp = make([]uint64, m), 0
	}
	if s.stamp++; s.stamp == 0 { // wrapped: old entries could look current
		clear(s.table)
		s.stamp = 1
	}
	// room for every feature, so that add needs no append
	s.idx = slices.Grow(s.idx[:0], need/2)[:need/2]
	s.cnt = slices.Grow(s.cnt[:0], need/2)[:need/2]
	s.n = 0
	// word n-grams: between the spaces that precede words
	starts := wordStarts(pad, wordEnd, s.starts[:0])
	nw := len(starts) - 1
	for g := 1; g <= cfg.WordNGrams; g++ {
		for w := 0; w+g <= nw; w++ {
			if f, ok := v.find(pad, starts[w], starts[w+g]+1); ok {
				s.add(f)
			}
		}
	}
	s.starts = starts
	if cfg.CharMin > 0 {
		v.charFeatures(s, starts)
	}
	s.idx, s.cnt = s.idx[:s.n], s.cnt[:s.n]
}

// charFeatures counts the character n-grams of each word of the word part
// of s.buf, whose spaces are at starts: those of "<word>", by length then
// position. For an ASCII word they are read from the word part itself, " word "
// with its first and last byte taken as '<' and '>'; other words are copied
// as "<word>" into s.seg and go through find.
func (v *vectorizer) charFeatures(s *scratch, starts []int) {
	cfg := v.cfg
	pad := s.buf
	const lt, gt = uint64(' ' ^ '<'), uint64(' ' ^ '>')
	for w := 0; w+1 < len(starts); w++ {
		i, e := starts[w], starts[w+1] // " word " is pad[i:e+1]
		ascii := true
		for _, c := range pad[i+1 : e] {
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii && cfg.CharMax <= 8 {
			L := e + 1 - i
			for g := cfg.CharMin; g <= cfg.CharMax && g <= L; g++ {
				mask := ^uint64(0) >> (64 - 8*g)
				last := e + 1 - g
				for k := i; k <= last; k++ {
					key := binary.LittleEndian.Uint64(pad[k:]) & mask
					if k == i {
						key ^= lt
					}
					if k == last {
						key ^= gt << (8 * (g - 1))
					}
					if f, ok := v.short.lookup(key); ok {
						s.add(f)
					}
				}
			}
			continue
		}
		// "<word>" and its rune offsets
		seg := append(s.seg[:0], '<')
		seg = append(seg, pad[i+1:e]...)
		seg = append(seg, '>')
		n := len(seg)
		seg = append(seg, make([]byte, keyPad)...)
		s.seg = seg
		runes := s.runes[:0]
		for k := 0; k < n; {
			runes = append(runes, k)
			_, w := utf8.DecodeRune(seg[k:n])
			k += w
		}
		runes = append(runes, n)
		s.runes = runes
		L := len(runes) - 1
		for g := cfg.CharMin; g <= cfg.CharMax && g <= L; g++ {
			for k := 0; k+g <= L; k++ {
				if f, ok := v.find(seg, runes[k], runes[k+g]); ok {
					s.add(f)
				}
			}
		}
	}
}

// find returns the feature index of the term pad[i:j] (i < j), if known;
// pad must have keyPad readable bytes after j.
func (v *vectorizer) find(pad []byte, i, j int) (int32, bool) {
	if j-i <= 8 {
		return v.short.lookup(binary.LittleEndian.Uint64(pad[i:]) & (^uint64(0) >> (64 - 8*(j-i))))
	}
	return v.findLong(pad, i, j)
}

// add counts feature f in s.idx / s.cnt: a new feature is appended with
// count 1, a known one has its count incremented.
func (s *scratch) add(f int32) {
	mask := uint32(len(s.table) - 1)
	stamp := uint64(s.stamp) << 32
	h := (uint32(f) * 0x9E3779B1) & mask
	for {
		e := s.table[h]
		if e&^(1<<32-1) != stamp {
			s.table[h] = stamp | uint64(s.n)
			s.idx[s.n], s.cnt[s.n] = f, 1
			s.n++
			return
		}
		if p := uint32(e); s.idx[p] == f {
			s.cnt[p]++
			return
		}
		h = (h + 1) & mask
	}
}

// vector computes the TF-IDF vector of text into s.idx / s.cnt (feature
// indices in first-seen order, values as weigh computes them), with float32
// copies of the values in s.alpha. Features with a zero weight are dropped.
func (v *vectorizer) vector(text string, s *scratch) {
	v.features(text, s)
	iw, ic := tfidf(s.idx, s.cnt, v.idf, v.nWords)
	idx, cnt := s.idx, s.cnt[:len(s.idx)]
	alpha := slices.Grow(s.alpha[:0], len(idx))[:len(idx)]
	n := 0
	for k, f := range idx {
		x := cnt[k]
		if f < v.nWords {
			x *= iw
		} else {
			x *= ic
		}
		idx[n], cnt[n], alpha[n] = f, x, float32(x)
		if x != 0 {
			n++
		}
	}
	s.idx, s.cnt, s.alpha = idx[:n], cnt[:n], alpha[:n]
}

// weigh turns raw counts into sublinear TF-IDF values: x = (1 + ln c) * idf.
// The word-feature block (indices below nWords) and the character n-gram
// block are L2-normalized separately, then the whole vector is L2-normalized,
// so each non-empty block carries the same weight (1/sqrt 2 each when both
// are present), whatever their sizes: a text has many more character n-grams
// than words.
func weigh(idx []int32, cnt []float64, idf []float64, nWords int32) {
	iw, ic := tfidf(idx, cnt, idf, nWords)
	for k, f := range idx {
		if f < nWords {
			cnt[k] *= iw
		} else {
			cnt[k] *= ic
		}
	}
}

// tfidf does weigh's first step: it replaces the counts by their unnormalized
// values and returns the factors that normalize the word block (iw) and the
// character block (ic).
func tfidf(idx []int32, cnt []float64, idf []float64, nWords int32) (iw, ic float64) {
	var ssw, ssc float64
	for k, f := range idx {
		x := idf[f]
		if c := cnt[k]; c != 1 {
			x *= 1 + math.Log(c)
		}
		cnt[k] = x
		if f < nWords {
			ssw += x * x
		} else {
			ssc += x * x
		}
	}
	switch {
	case ssw > 0 && ssc > 0:
		iw, ic = 1/math.Sqrt(2*ssw), 1/math.Sqrt(2*ssc)
	case ssw > 0:
		iw = 1 / math.Sqrt(ssw)
	case ssc > 0:
		ic = 1 / math.Sqrt(ssc)
	}
	return iw, ic
}

// csr is a compact row-major sparse matrix (documents x features).
type csr struct {
	ptr []int64
	idx []int32
	val []float32
}

func (m *csr) rows() int { return len(m.ptr) - 1 }

func (m *csr) row(i int) ([]int32, []float32) {
	a, b := m.ptr[i], m.ptr[i+1]
	return m.idx[a:b], m.val[a:b]
}

// fitVocabulary runs nlp.CountVectoriser.Fit with our tokeniser over texts,
// split in `workers` shards fitted concurrently, and returns the union of
// their vocabularies, sorted.
func fitVocabulary(texts []string, cfg tokenConfig, workers int) []string {
	workers = max(1, min(workers, len(texts)/2000+1))
	vocabs := make([]map[string]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(texts)/workers, (w+1)*len(texts)/workers
		wg.Go(func() {
			cv := &nlp.CountVectoriser{Vocabulary: map[string]int{}, Tokeniser: tokeniser{cfg}}
			cv.Fit(texts[lo:hi]...)
			vocabs[w] = cv.Vocabulary
		})
	}
	wg.Wait()
	union := vocabs[0]
	for _, v := range vocabs[1:] {
		for t := range v {
			union[t] = 0
		}
	}
	terms := make([]string, 0, len(union))
	for t := range union {
		terms = append(terms, t)
	}
	sort.Strings(terms)
	return terms
}

// countBlock is the size, in entries, of the blocks a countPart stores its
// rows in: blocks are filled and never grown, so no entry is copied before
// the final merge. A variable so that tests can use tiny blocks.
var countBlock = 1 << 20

// countPart holds the raw counts of a contiguous share of the documents:
// rows stored one after another in blocks (a row never straddles two), and
// the share's document frequency of every term.
type countPart struct {
	rowLen []int32
	idx    [][]int32
	val    [][]float32
	df     []int32
}

// countParts tokenizes every text with the fast path against v, in
// `workers` contiguous shares computed concurrently, with each row's
// features sorted.
func countParts(texts []string, v *vectorizer, workers int) []countPart {
	n := len(texts)
	workers = max(1, min(workers, n/500+1))
	parts := make([]countPart, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*n/workers, (w+1)*n/workers
		wg.Go(func() {
			s := newScratch()
			p := countPart{rowLen: make([]int32, 0, hi-lo), df: make([]int32, len(v.terms))}
			var idx []int32
			var val []float32
			for _, t := range texts[lo:hi] {
				v.features(t, s)
				// sort features of the row for locality and determinism
				sortPairs(s.idx, s.cnt)
				if len(idx)+len(s.idx) > cap(idx) {
					if idx != nil {
						p.idx, p.val = append(p.idx, idx), append(p.val, val)
					}
					c := max(countBlock, len(s.idx))
					idx, val = make([]int32, 0, c), make([]float32, 0, c)
				}
				idx = append(idx, s.idx...)
				for k, f := range s.idx {
					val = append(val, float32(s.cnt[k]))
					p.df[f]++
				}
				p.rowLen = append(p.rowLen, int32(len(s.idx)))
			}
			if idx != nil {
				p.idx, p.val = append(p.idx, idx), append(p.val, val)
			}
			parts[w] = p
		})
	}
	wg.Wait()
	return parts
}

// mergeParts returns the matrix of the parts' rows, in order, with each
// feature f renamed remap[f] and dropped where that is negative. Each part
// is pruned in place, then copied into the matrix, concurrently; its blocks
// are released once copied.
func mergeParts(parts []countPart, remap []int32) *csr {
	// walk calls row(r, b, off, l) for every non-empty row r of p: its
	// original entries are p.idx[b][off:off+l] (countParts starts a new block
	// exactly when a row does not fit in the current one's capacity, so a
	// row that overruns the current block's length is in the next one).
	walk := func(p *countPart, row func(r, b, off, l int)) {
		b, off := 0, 0
		for r, l32 := range p.rowLen {
			l := int(l32)
			if b < len(p.idx) && off+l > len(p.idx[b]) {
				b, off = b+1, 0
			}
			if l > 0 {
				row(r, b, off, l)
			}
			off += l
		}
	}
	keptLen := make([][]int32, len(parts))
	var wg sync.WaitGroup
	for w := range parts {
		p := &parts[w]
		wg.Go(func() {
			kl := make([]int32, len(p.rowLen))
			walk(p, func(r, b, off, l int) {
				idx, val := p.idx[b][off:off+l], p.val[b][off:off+l]
				m := 0
				for k, f := range idx {
					if g := remap[f]; g >= 0 {
						idx[m], val[m] = g, val[k]
						m++
					}
				}
				kl[r] = int32(m)
			})
			keptLen[w] = kl
		})
	}
	wg.Wait()
	rows := 0
	for _, kl := range keptLen {
		rows += len(kl)
	}
	m := &csr{ptr: make([]int64, rows+1)}
	r0 := 0
	for _, kl := range keptLen {
		for _, l := range kl {
			m.ptr[r0+1] = m.ptr[r0] + int64(l)
			r0++
		}
	}
	m.idx, m.val = make([]int32, m.ptr[rows]), make([]float32, m.ptr[rows])
	r0 = 0
	for w := range parts {
		p, first := &parts[w], r0
		r0 += len(p.rowLen)
		wg.Go(func() {
			kl := keptLen[w]
			last := -1
			walk(p, func(r, b, off, l int) {
				if b != last && last >= 0 {
					p.idx[last], p.val[last] = nil, nil
				}
				last = b
				at, n := m.ptr[first+r], int(kl[r])
				copy(m.idx[at:], p.idx[b][off:off+n])
				copy(m.val[at:], p.val[b][off:off+n])
			})
			*p = countPart{}
		})
	}
	wg.Wait()
	return m
}

// sortPairs sorts idx ascending, permuting val alongside (insertion sort:
// rows are short).
func sortPairs(idx []int32, val []float64) {
	for i := 1; i < len(idx); i++ {
		f, x := idx[i], val[i]
		j := i
		for j > 0 && idx[j-1] > f {
			idx[j], val[j] = idx[j-1], val[j-1]
			j--
		}
		idx[j], val[j] = f, x
	}
}

// maxIDFDocs caps how many documents the nlp.TfidfTransformer is fitted on:
// its input matrix costs 16 bytes per non-zero, so above this many documents
// IDF is fitted on a deterministic, evenly spaced sample of them.
const maxIDFDocs = 250_000

// fitIDF fits an nlp.TfidfTransformer on the term x document count matrix and
// returns the IDF weights used for features: its weights ln((1+n)/(1+df)),
// plus one, as scikit-learn's smooth IDF does, so that a term found in every
// document still counts.
func fitIDF(m *csr, nFeatures int) []float64 {
	rows := m.rows()
	step := 1
	if rows > maxIDFDocs {
		step = (rows + maxIDFDocs - 1) / maxIDFDocs
	}
	nd := (rows + step - 1) / step
	// build the terms x docs CSR directly (counting sort by term)
	ia := make([]int, nFeatures+1)
	for r := 0; r < rows; r += step {
		idx, _ := m.row(r)
		for _, f := range idx {
			ia[f+1]++
		}
	}
	for i := range nFeatures {
		ia[i+1] += ia[i]
	}
	ja := make([]int, ia[nFeatures])
	data := make([]float64, ia[nFeatures])
	pos := slices.Clone(ia[:nFeatures])
	for r, d := 0, 0; r < rows; r, d = r+step, d+1 {
		idx, val := m.row(r)
		for k, f := range idx {
			ja[pos[f]] = d
			data[pos[f]] = float64(val[k])
			pos[f]++
		}
	}
	tf := nlp.NewTfidfTransformer()
	tf.Fit(sparse.NewCSR(nFeatures, nd, ia, ja, data))
	return idfWeights(tf, nFeatures)
}

// idfWeights reads the weights of a fitted transformer by transforming a
// column of ones.
func idfWeights(tf *nlp.TfidfTransformer, n int) []float64 {
	ia := make([]int, n+1)
	ja := make([]int, n)
	ones := make([]float64, n)
	for i := range n {
		ia[i+1] = i + 1
		ones[i] = 1
	}
	out, err := tf.Transform(sparse.NewCSR(n, 1, ia, ja, ones))
	w := make([]float64, n)
	if err != nil {
		return w
	}
	for i := range n {
		w[i] = out.At(i, 0) + 1
	}
	return w
}
