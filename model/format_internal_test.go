package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// TestEncode_Golden pins the file format: the encoding of a synthetic model
// must not change (its SHA-256 was taken from format version 2's first
// implementation).
func TestEncode_Golden(t *testing.T) {
	c := synthModel(t, 3001, 17)
	c.SetMetrics(map[string]float64{"accuracy": 0.75})
	const want = "eb53f95956e4d864b93b063a146260d1391b93d5029bf39541c6e5ed31016cae"
	for i := range 2 { // the first Encode computes the payload hash, the second reuses it
		if got := sha256.Sum256(encoded(t, c)); hex.EncodeToString(got[:]) != want {
			t.Fatalf("Encode #%d: sha256 %x, want %s", i+1, got, want)
		}
	}
	d, err := Decode(bytes.NewReader(encoded(t, c)))
	if err != nil {
		t.Fatal(err)
	}
	if got := sha256.Sum256(encoded(t, d)); hex.EncodeToString(got[:]) != want {
		t.Fatalf("Encode after Decode: sha256 %x, want %s", got, want)
	}
}

// TestEncode_Concurrent encodes a fresh classifier from several goroutines
// at once (run with -race): all outputs are identical.
func TestEncode_Concurrent(t *testing.T) {
	c := mustTrain(t, nil, toy())
	want := encoded(t, mustTrain(t, nil, toy()))
	var wg sync.WaitGroup
	out := make([][]byte, 4)
	for i := range out {
		wg.Go(func() {
			var buf bytes.Buffer
			if err := c.Encode(&buf); err != nil {
				t.Error(err)
			}
			out[i] = buf.Bytes()
		})
	}
	wg.Wait()
	for i, b := range out {
		if !bytes.Equal(b, want) {
			t.Errorf("goroutine %d: encoding differs", i)
		}
	}
}

// TestPayloadReader splits a payload at every kind of boundary, numbers
// straddling chunks included, and decodes it back.
func TestPayloadReader(t *testing.T) {
	c := mustTrain(t, nil, toy())
	var buf bytes.Buffer
	if err := c.writePayload(&buf, make([]byte, encodeChunk)); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	V, K := len(c.vec.terms), c.k()
	if n, _ := payloadSize(V, K); int64(len(raw)) != n {
		t.Fatalf("payload is %d bytes, want %d", len(raw), n)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, maxChunk := range []int{1, 3, 4, 5, 8, 12, 13, 64, len(raw)} {
		t.Run(fmt.Sprint(maxChunk), func(t *testing.T) {
			var chunks [][]byte
			for rest := raw; len(rest) > 0; {
				n := min(len(rest), 1+rng.IntN(maxChunk))
				chunks, rest = append(chunks, slices.Clone(rest[:n])), rest[n:]
			}
			p := payloadReader{chunks: chunks}
			idf, w, b := make([]float64, V), make([]float32, V*K), make([]float64, K)
			if !p.f64s(idf) || !p.f32s(w) || !p.f64s(b) {
				t.Fatal("decode failed")
			}
			if !slices.Equal(idf, c.vec.idf) || !slices.Equal(w, c.w) || !slices.Equal(b, c.b) {
				t.Fatal("decoded payload differs")
			}
			if len(p.next(1)) != 0 {
				t.Fatal("bytes left over")
			}
		})
	}
}

// TestDecode_LyingHeaderBoundedMemory gives Decode a header that declares
// a 2.5 GB payload followed by a few bytes: it must fail without
// allocating more than a read chunk beyond what it read.
func TestDecode_LyingHeaderBoundedMemory(t *testing.T) {
	c := mustTrain(t, nil, toy())
	raw := encoded(t, c)
	const V, K = 10000, 60000 // 4*V*K = 2.4 GB of weights
	lie := rewrite(t, raw, func(h map[string]any) {
		vocab := make([]any, V)
		for i := range vocab {
			vocab[i] = fmt.Sprintf("t%06d", i)
		}
		labels := make([]any, K)
		for i := range labels {
			labels[i] = fmt.Sprintf("l%06d", i)
		}
		info := h["info"].(map[string]any)
		info["labels"], info["vocab_size"] = labels, V
		h["vocabulary"] = vocab
		size, ok := payloadSize(V, K)
		if !ok {
			t.Fatal("test dimensions beyond the limits")
		}
		h["payload_bytes"] = size
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Decode(bytes.NewReader(lie))
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("Decode of a truncated payload succeeded")
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	if limit := uint64(8*len(lie)) + 2*readChunk; alloc > limit {
		t.Errorf("Decode allocated %d bytes for a %d-byte file (limit %d): %v", alloc, len(lie), limit, err)
	}
	t.Logf("%d bytes allocated for a %d-byte file: %v", alloc, len(lie), err)
}
