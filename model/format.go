package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
	"slices"
)

// The model file format, version 2 (version 1, which lacks the
// calibration, is still read: its calibration is the identity):
//
//	magic           8 bytes  "MOODMDL\x00"
//	format version  uint32, little-endian (1)
//	header length   uint32, little-endian (at most MaxHeaderBytes)
//	header          JSON: {"info": Info (with its calibration), "vocabulary": [...], "payload_bytes": n,
//	                       "payload_sha256": "hex", "layout": "..."}
//	payload         little-endian: idf[V] float64, weights[V*K] float32
//	                (feature-major), bias[K] float64; V = vocabulary size,
//	                K = number of labels
//
// Decode checks every size before trusting it, reads the payload in exactly
// sized chunks of at most 8 MiB (memory grows with the bytes actually
// present, never with a declared size), verifies the SHA-256 before decoding
// the weights and rejects non-finite values. Encode computes the payload's
// SHA-256 once per classifier (a decoded one has it already).
const (
	formatVersion = 2
	// minFormatVersion is the oldest format version Decode reads.
	minFormatVersion = 1
	magic            = "MOODMDL\x00"
	layout           = "le f64 idf[V], f32 weights[V*K], f64 bias[K]"

	// MaxHeaderBytes caps the JSON header (labels and vocabulary) Decode reads.
	MaxHeaderBytes = 16 << 20
	// MaxVocab caps the vocabulary size Decode accepts.
	MaxVocab = 1 << 21
	// MaxLabels caps the number of labels Decode accepts.
	MaxLabels = 1 << 16
	// maxPayload caps the payload: 4 GiB of weights.
	maxPayload = 4 << 30
)

type header struct {
	Info          Info     `json:"info"`
	Vocabulary    []string `json:"vocabulary"`
	Layout        string   `json:"layout"`
	PayloadBytes  int64    `json:"payload_bytes"`
	PayloadSHA256 string   `json:"payload_sha256"`
}

// payloadSize returns 8*V + 4*V*K + 8*K, or false on overflow or beyond
// maxPayload.
func payloadSize(v, k int) (int64, bool) {
	if v < 0 || k < 0 {
		return 0, false
	}
	hi, vk := bits.Mul64(uint64(v), uint64(k))
	if hi != 0 {
		return 0, false
	}
	if vk > maxPayload/4 || uint64(v)+uint64(k) > maxPayload/8 {
		return 0, false
	}
	n := 4*vk + 8*(uint64(v)+uint64(k))
	if n > maxPayload {
		return 0, false
	}
	return int64(n), true
}

// encodeChunk is the size of the buffer the payload is converted in.
const encodeChunk = 64 << 10

// writePayload streams the payload to w, converting it into buf
// (len(buf) == encodeChunk, a multiple of 8) and writing each full buffer.
func (c *Classifier) writePayload(w io.Writer, buf []byte) error {
	n := 0 // bytes pending in buf
	flushIfFull := func() error {
		if len(buf)-n >= 8 {
			return nil
		}
		_, err := w.Write(buf[:n])
		n = 0
		return err
	}
	f64 := func(xs []float64) error {
		for len(xs) > 0 {
			k := min(len(xs), (len(buf)-n)/8)
			p := buf[n : n+8*k]
			for i, x := range xs[:k] {
				binary.LittleEndian.PutUint64(p[8*i:], math.Float64bits(x))
			}
			n, xs = n+8*k, xs[k:]
			if err := flushIfFull(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := f64(c.vec.idf); err != nil {
		return err
	}
	for xs := c.w; len(xs) > 0; {
		k := min(len(xs), (len(buf)-n)/4)
		p := buf[n : n+4*k]
		for i, x := range xs[:k] {
			binary.LittleEndian.PutUint32(p[4*i:], math.Float32bits(x))
		}
		n, xs = n+4*k, xs[k:]
		if err := flushIfFull(); err != nil {
			return err
		}
	}
	if err := f64(c.b); err != nil {
		return err
	}
	if n > 0 {
		_, err := w.Write(buf[:n])
		return err
	}
	return nil
}

// payloadSum returns the SHA-256 of the payload, computing it on first use
// (the payload never changes, so it is hashed at most once per classifier;
// a decoded classifier already has it).
func (c *Classifier) payloadSum(buf []byte) [32]byte {
	c.sumOnce.Do(func() {
		h := sha256.New()
		c.writePayload(h, buf) // a hash.Hash never fails to write
		h.Sum(c.sum[:0])
	})
	return c.sum
}

// Encode writes the classifier in the model file format. The output is a
// deterministic function of the classifier. The header carries the payload's
// SHA-256, which is computed by the first Encode of a trained classifier
// (one extra pass over the payload, into the hash only) and remembered;
// later calls, and every call on a decoded classifier, convert and write the
// payload once. Encode is safe for concurrent use.
func (c *Classifier) Encode(w io.Writer) error {
	buf := make([]byte, encodeChunk)
	sum := c.payloadSum(buf)
	size, _ := payloadSize(len(c.vec.terms), len(c.labels))
	in := c.Info()
	if in.Calibration.Method == "" { // a classifier built without one
		in.Calibration = identityCal()
	}
	in.FormatVersion = formatVersion
	hd := header{
		Info:          in,
		Vocabulary:    c.vec.terms,
		Layout:        layout,
		PayloadBytes:  size,
		PayloadSHA256: hex.EncodeToString(sum[:]),
	}
	js, err := json.Marshal(hd)
	if err != nil {
		return fmt.Errorf("model: encode header: %w", err)
	}
	if len(js) > MaxHeaderBytes {
		return fmt.Errorf("%w: header is %d bytes", ErrTooLarge, len(js))
	}
	var pre [16]byte
	copy(pre[:8], magic)
	binary.LittleEndian.PutUint32(pre[8:], formatVersion)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(js)))
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	return c.writePayload(w, buf)
}

// Decode reads a classifier written by Encode. Foreign data or an unknown
// version gives an error matching ErrFormat; declared sizes beyond the
// limits give ErrTooLarge; truncation, checksum mismatch, inconsistent
// dimensions or non-finite numbers give ErrCorrupt. Decode never panics on
// bad input and allocates in proportion to the bytes actually read.
func Decode(r io.Reader) (*Classifier, error) {
	var pre [16]byte
	if n, err := io.ReadFull(r, pre[:]); err != nil {
		if n < 8 || string(pre[:8]) != magic {
			return nil, fmt.Errorf("%w: short or foreign data", ErrFormat)
		}
		return nil, fmt.Errorf("%w: truncated preamble", ErrCorrupt)
	}
	if string(pre[:8]) != magic {
		return nil, fmt.Errorf("%w: bad magic number", ErrFormat)
	}
	version := binary.LittleEndian.Uint32(pre[8:])
	if version < minFormatVersion || version > formatVersion {
		return nil, fmt.Errorf("%w: format version %d (this package reads %d to %d)", ErrFormat, version, minFormatVersion, formatVersion)
	}
	hl := binary.LittleEndian.Uint32(pre[12:])
	if hl > MaxHeaderBytes {
		return nil, fmt.Errorf("%w: header of %d bytes", ErrTooLarge, hl)
	}
	js, err := io.ReadAll(io.LimitReader(r, int64(hl)))
	if err != nil {
		return nil, err
	}
	if len(js) != int(hl) {
		return nil, fmt.Errorf("%w: truncated header", ErrCorrupt)
	}
	var hd header
	if err := json.Unmarshal(js, &hd); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	js = nil
	V, K := len(hd.Vocabulary), len(hd.Info.Labels)
	if V > MaxVocab || K > MaxLabels {
		return nil, fmt.Errorf("%w: %d features, %d labels", ErrTooLarge, V, K)
	}
	if err := checkHeader(&hd, int(version)); err != nil {
		return nil, err
	}
	if err := checkLimits(&hd); err != nil {
		return nil, err
	}
	size, ok := payloadSize(V, K)
	if !ok {
		return nil, fmt.Errorf("%w: %d features x %d labels", ErrTooLarge, V, K)
	}
	if hd.PayloadBytes != size {
		return nil, fmt.Errorf("%w: payload is %d bytes, dimensions need %d", ErrCorrupt, hd.PayloadBytes, size)
	}
	want, err := hex.DecodeString(hd.PayloadSHA256)
	if err != nil || len(want) != sha256.Size {
		return nil, fmt.Errorf("%w: bad payload checksum field", ErrCorrupt)
	}
	chunks, err := readPayload(r, size, want)
	if err != nil {
		return nil, err
	}
	pr := payloadReader{chunks: chunks}
	idf := make([]float64, V)
	w := make([]float32, V*K)
	bias := make([]float64, K)
	if !pr.f64s(idf) || !pr.f32s(w) || !pr.f64s(bias) {
		return nil, fmt.Errorf("%w: non-finite number in payload", ErrCorrupt)
	}
	if err := checkValues(idf, w, bias); err != nil {
		return nil, err
	}
	c := &Classifier{
		labels: hd.Info.Labels,
		multi:  hd.Info.MultiLabel,
		info:   hd.Info,
		vec: *newVectorizer(tokenConfig{WordNGrams: hd.Info.Config.WordNGrams, CharMin: hd.Info.Config.CharMin,
			CharMax: hd.Info.Config.CharMax}, hd.Vocabulary, idf),
		w: w,
		b: bias,
	}
	c.info.Labels = nil
	if version < 2 || hd.Info.Calibration.Method == "" {
		c.info.Calibration = identityCal()
	}
	c.cal = c.info.Calibration
	c.sumOnce.Do(func() { copy(c.sum[:], want) })
	return c, nil
}

// readChunk is the most Decode reads ahead of the bytes actually present: the
// payload is read into exactly sized chunks of at most readChunk bytes (a
// multiple of 8), so a header that declares a huge payload on a short file
// costs at most readChunk of memory beyond the file's size, and a true one
// is read without a growing buffer's zeroing and copying.
const readChunk = 8 << 20

// readPayload reads size bytes from r in chunks while hashing them, and
// checks their SHA-256 against want.
func readPayload(r io.Reader, size int64, want []byte) ([][]byte, error) {
	h := sha256.New()
	chunks := make([][]byte, 0, (size+readChunk-1)/readChunk)
	var got int64
	for got < size {
		b := make([]byte, min(size-got, readChunk))
		n, err := io.ReadFull(r, b)
		got += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, fmt.Errorf("%w: truncated payload (%d of %d bytes)", ErrCorrupt, got, size)
		}
		if err != nil {
			return nil, err
		}
		h.Write(b)
		chunks = append(chunks, b)
	}
	if sum := h.Sum(nil); !bytes.Equal(sum, want) {
		return nil, fmt.Errorf("%w: payload checksum mismatch", ErrCorrupt)
	}
	return chunks, nil
}

// payloadReader decodes little-endian numbers from the payload's chunks,
// dropping each chunk once it is used. A number may straddle two chunks
// (the bias follows 4-byte weights, so it may start off an 8-byte
// boundary).
type payloadReader struct {
	chunks [][]byte
	cur    []byte
}

// next returns the unread bytes of the current chunk if there are at least n
// of them; otherwise it gathers n bytes across chunks and returns just
// those. It returns fewer than n bytes only at the end of the payload.
func (p *payloadReader) next(n int) []byte {
	pop := func() bool {
		if len(p.chunks) == 0 {
			return false
		}
		p.cur, p.chunks[0], p.chunks = p.chunks[0], nil, p.chunks[1:]
		return true
	}
	for len(p.cur) == 0 && pop() {
	}
	if len(p.cur) >= n || len(p.chunks) == 0 {
		return p.cur
	}
	b := make([]byte, 0, n)
	for len(b) < n && (len(p.cur) > 0 || pop()) {
		k := min(n-len(b), len(p.cur))
		b, p.cur = append(b, p.cur[:k]...), p.cur[k:]
	}
	if len(p.cur) > 0 {
		p.chunks = slices.Insert(p.chunks, 0, p.cur)
	}
	p.cur = b
	return b
}

// f64s fills out and reports whether every number is finite. The payload
// size was checked against the dimensions, so the bytes are there.
func (p *payloadReader) f64s(out []float64) bool {
	for len(out) > 0 {
		b := p.next(8)
		k := min(len(out), len(b)/8)
		if k == 0 { // short payload; its size was checked, so unreachable
			return false
		}
		for i := range out[:k] {
			u := binary.LittleEndian.Uint64(b[8*i:])
			if u&0x7ff0000000000000 == 0x7ff0000000000000 { // Inf or NaN
				return false
			}
			out[i] = math.Float64frombits(u)
		}
		out, p.cur = out[k:], b[8*k:]
	}
	return true
}

// f32s is f64s for float32.
func (p *payloadReader) f32s(out []float32) bool {
	for len(out) > 0 {
		b := p.next(4)
		k := min(len(out), len(b)/4)
		if k == 0 {
			return false
		}
		for i := range out[:k] {
			u := binary.LittleEndian.Uint32(b[4*i:])
			if u&0x7f800000 == 0x7f800000 { // Inf or NaN
				return false
			}
			out[i] = math.Float32frombits(u)
		}
		out, p.cur = out[k:], b[4*k:]
	}
	return true
}

// checkHeader validates the header fields that the classifier relies on.
func checkHeader(hd *header, version int) error {
	in := &hd.Info
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }
	if in.FormatVersion != version {
		return bad("header format version")
	}
	if version >= 2 {
		cal := in.Calibration
		switch cal.Method {
		case "none", "temperature", "platt":
		default:
			return bad("calibration method")
		}
		// finite, positive and bounded: fitting searches scales in [e^-6, e^6]
		if !(cal.Scale > 0 && cal.Scale <= 1e4) || !(cal.Bias >= -1e4 && cal.Bias <= 1e4) || !(cal.Mix >= 0 && cal.Mix < 1) {
			return bad("calibration parameters")
		}
		if n := len(cal.LabelBias); n != 0 && (n != len(in.Labels) || !in.MultiLabel) {
			return bad("calibration label biases")
		}
		for _, x := range cal.LabelBias {
			if !(x >= -1e4 && x <= 1e4) {
				return bad("calibration label biases")
			}
		}
	}
	if hd.Layout != layout {
		return fmt.Errorf("%w: payload layout %q", ErrFormat, hd.Layout)
	}
	if in.VocabSize != len(hd.Vocabulary) {
		return bad("vocabulary size")
	}
	if len(in.Labels) == 0 || (!in.MultiLabel && len(in.Labels) < 2) {
		return bad("too few labels")
	}
	for i, l := range in.Labels {
		if checkLabel(l) != nil {
			return bad("invalid label")
		}
		if i > 0 && in.Labels[i-1] >= l {
			return bad("labels not sorted and unique")
		}
	}
	for i, t := range hd.Vocabulary {
		if t == "" || (i > 0 && hd.Vocabulary[i-1] >= t) {
			return bad("vocabulary not sorted and unique")
		}
	}
	cf := in.Config
	if cf.WordNGrams < 1 || cf.WordNGrams > 16 || cf.CharMin < 0 || cf.CharMin > 64 ||
		cf.CharMax < cf.CharMin || cf.CharMax > 64 {
		return bad("feature configuration")
	}
	if in.MultiLabel && !(cf.Threshold > 0 && cf.Threshold < 1) {
		return bad("decision threshold")
	}
	return nil
}
