package model

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// synthCLINC builds an untrained classifier of CLINC150's shape (40,427
// features x 150 labels, a 25 MB file) with random finite weights, so the
// format benchmarks run without the shared data.
func synthCLINC(tb testing.TB) *Classifier { return synthModel(tb, 40427, 150) }

// synthModel builds an untrained V x K classifier with random finite
// weights (deterministic: a fixed seed).
func synthModel(tb testing.TB, V, K int) *Classifier {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	terms := make([]string, V)
	idf := make([]float64, V)
	for i := range terms {
		terms[i] = fmt.Sprintf("t%06d", i)
		idf[i] = 1 + rng.Float64()
	}
	labels := make([]string, K)
	for i := range labels {
		labels[i] = fmt.Sprintf("label_%03d", i)
	}
	w := make([]float32, V*K)
	for i := range w {
		w[i] = rng.Float32() - 0.5
	}
	b := make([]float64, K)
	for i := range b {
		b[i] = rng.Float64() - 0.5
	}
	cfg := tokenConfig{WordNGrams: 2, CharMin: 3, CharMax: 4}
	return &Classifier{
		vec:    *newVectorizer(cfg, terms, idf),
		labels: labels,
		w:      w,
		b:      b,
		info: Info{FormatVersion: formatVersion, VocabSize: V, CreatedBy: "bench",
			Config: Config{WordNGrams: 2, CharMin: 3, CharMax: 4, MinDF: 3, Epochs: 5}},
	}
}

// BenchmarkEncode times writing a CLINC150-sized model (to io.Discard):
// "first" is the first Encode of a classifier (a fresh one sharing the
// same weights each time), "again" a later one.
func BenchmarkEncode(b *testing.B) {
	c := synthCLINC(b)
	var buf bytes.Buffer
	if err := c.Encode(&buf); err != nil {
		b.Fatal(err)
	}
	b.Run("first", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		b.ReportAllocs()
		for b.Loop() {
			fresh := &Classifier{vec: c.vec, labels: c.labels, w: c.w, b: c.b, info: c.info}
			if err := fresh.Encode(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("again", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Encode(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecode times reading a CLINC150-sized model from a stream.
func BenchmarkDecode(b *testing.B) {
	var buf bytes.Buffer
	if err := synthCLINC(b).Encode(&buf); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(onlyReader{bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
}

// onlyReader hides WriterTo and other fast paths, as a file or a verifying
// store reader would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
