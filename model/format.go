package model

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
)

// The model file format, version 1:
//
//	magic           8 bytes  "MOODMDL\x00"
//	format version  uint32, little-endian (1)
//	header length   uint32, little-endian (at most MaxHeaderBytes)
//	header          JSON: {"info": Info, "vocabulary": [...], "payload_bytes": n,
//	                       "payload_sha256": "hex", "layout": "..."}
//	payload         little-endian: idf[V] float64, weights[V*K] float32
//	                (feature-major), bias[K] float64; V = vocabulary size,
//	                K = number of labels
//
// Decode checks every size before trusting it, reads the payload
// incrementally (memory grows with the bytes actually present, never with a
// declared size), verifies the SHA-256 before decoding the weights and
// rejects non-finite values.
const (
	formatVersion = 1
	magic         = "MOODMDL\x00"
	layout        = "le f64 idf[V], f32 weights[V*K], f64 bias[K]"

	// MaxHeaderBytes caps the JSON header (labels and vocabulary) Decode reads.
	MaxHeaderBytes = 64 << 20
	// MaxVocab caps the vocabulary size Decode accepts.
	MaxVocab = 1 << 24
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

// writePayload streams the payload to w.
func (c *Classifier) writePayload(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var b [8]byte
	put := func(xs []float64) error {
		for _, x := range xs {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			if _, err := bw.Write(b[:]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := put(c.vec.idf); err != nil {
		return err
	}
	for _, x := range c.w {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(x))
		if _, err := bw.Write(b[:4]); err != nil {
			return err
		}
	}
	if err := put(c.b); err != nil {
		return err
	}
	return bw.Flush()
}

// Encode writes the classifier in the model file format. The output is a
// deterministic function of the classifier.
func (c *Classifier) Encode(w io.Writer) error {
	h := sha256.New()
	if err := c.writePayload(h); err != nil {
		return err
	}
	size, _ := payloadSize(len(c.vec.terms), len(c.labels))
	hd := header{
		Info:          c.Info(),
		Vocabulary:    c.vec.terms,
		Layout:        layout,
		PayloadBytes:  size,
		PayloadSHA256: hex.EncodeToString(h.Sum(nil)),
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
	return c.writePayload(w)
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
	if v := binary.LittleEndian.Uint32(pre[8:]); v != formatVersion {
		return nil, fmt.Errorf("%w: format version %d (this package reads %d)", ErrFormat, v, formatVersion)
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
	if err := checkHeader(&hd); err != nil {
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
	payload, err := io.ReadAll(io.LimitReader(r, size))
	if err != nil {
		return nil, err
	}
	if int64(len(payload)) != size {
		return nil, fmt.Errorf("%w: truncated payload (%d of %d bytes)", ErrCorrupt, len(payload), size)
	}
	if sum := sha256.Sum256(payload); !bytes.Equal(sum[:], want) {
		return nil, fmt.Errorf("%w: payload checksum mismatch", ErrCorrupt)
	}
	nonFinite := fmt.Errorf("%w: non-finite number in payload", ErrCorrupt)
	f64 := func(n int) ([]float64, bool) {
		out := make([]float64, n)
		for i := range out {
			x := math.Float64frombits(binary.LittleEndian.Uint64(payload))
			payload = payload[8:]
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return nil, false
			}
			out[i] = x
		}
		return out, true
	}
	idf, ok := f64(V)
	if !ok {
		return nil, nonFinite
	}
	w := make([]float32, V*K)
	for i := range w {
		x := math.Float32frombits(binary.LittleEndian.Uint32(payload))
		payload = payload[4:]
		if x != x || math.IsInf(float64(x), 0) {
			return nil, nonFinite
		}
		w[i] = x
	}
	bias, ok := f64(K)
	if !ok {
		return nil, nonFinite
	}
	payload = nil
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
	return c, nil
}

// checkHeader validates the header fields that the classifier relies on.
func checkHeader(hd *header) error {
	in := &hd.Info
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrCorrupt, what) }
	if in.FormatVersion != formatVersion {
		return bad("header format version")
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
