package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"runtime"
	"testing"
)

// weightsSum is the SHA-256 of a classifier's weights and biases.
func weightsSum(c *Classifier) string {
	h := sha256.New()
	var b [8]byte
	for _, x := range c.w {
		binary.LittleEndian.PutUint32(b[:4], math.Float32bits(x))
		h.Write(b[:4])
	}
	for _, x := range c.b {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestTrainer_WeightsGolden pins the trained numbers: the hashes were taken
// from the trainer before its AVX2 kernels and parallel SGD, which must
// reproduce its float32 arithmetic exactly (same operations, same order).
// A deliberate change of the training arithmetic updates them.
func TestTrainer_WeightsGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts *TrainerOptions
		data []Example
		want string
	}{
		{"toy", nil, toy(), "aa8fcb3a20521bf1aa13f34ece98f0870dc5cc1d1dd247d739f67c70989e6b6e"},
		{"toy-multi", nil, toyMulti(), "3f36ad9674b9620fa77540a01f3cd7ca2f3e63a93f85e4da11c42b81e88d3fbc"},
		{"toy-words-batch5", &TrainerOptions{Seed: 3, NoCharNGrams: true, BatchSize: 5}, toy(), "fde336441e08599e16672954a05e45be4e650880fdaa0dbb6582e7ee4c3e242d"},
		{"37-labels", nil, synthetic(37, 12, 1), "aaf0064d82305715a1f371e498add972df6017bb456d8f2aeb496ce7bb07638f"},
		{"37-labels-multi", &TrainerOptions{Mode: ModeMulti}, synthetic(37, 12, 1), "54c0221b2af415245255458618ae16a3f69d840ba13c0075ce7d29b42735b4da"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := weightsSum(mustTrain(t, tc.opts, tc.data)); got != tc.want {
				t.Errorf("weights sha256 %s, want %s", got, tc.want)
			}
		})
	}
}

// TestTrainer_WeightsGolden_CLINC150 is TestTrainer_WeightsGolden on
// CLINC150 (skipped without the data, or under -short).
func TestTrainer_WeightsGolden_CLINC150(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	const want = "e467512c196defe040329d5b9ed6f3fe8d440ea56b878e277131ee6b5f30061c"
	if got := weightsSum(mustTrain(t, nil, clinc(t, "train"))); got != want {
		t.Errorf("weights sha256 %s, want %s", got, want)
	}
}

// TestTrainer_SameFileAnyGOMAXPROCS trains with two SGD goroutines (the
// threshold lowered to every data size) under GOMAXPROCS 1, 2 and 4, and
// with one worker: the model files are byte-identical and the weights are
// the golden ones.
func TestTrainer_SameFileAnyGOMAXPROCS(t *testing.T) {
	defer func(n int) { parallelSGDMin = n }(parallelSGDMin)
	parallelSGDMin = 0
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct {
		name string
		opts TrainerOptions
		data []Example
		want string
	}{
		{"37-labels", TrainerOptions{NoCalibration: true}, synthetic(37, 12, 1), "aaf0064d82305715a1f371e498add972df6017bb456d8f2aeb496ce7bb07638f"},
		{"37-labels-multi", TrainerOptions{Mode: ModeMulti, NoCalibration: true}, synthetic(37, 12, 1), "54c0221b2af415245255458618ae16a3f69d840ba13c0075ce7d29b42735b4da"},
		{"toy-calibrated", TrainerOptions{}, toy(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var first []byte
			for _, procs := range []int{1, 2, 4, 0} {
				opts := tc.opts
				if procs == 0 {
					opts.Workers = 1 // no helper at all
				} else {
					runtime.GOMAXPROCS(procs)
				}
				c := mustTrain(t, &opts, tc.data)
				if tc.want != "" {
					if got := weightsSum(c); got != tc.want {
						t.Errorf("GOMAXPROCS %d: weights sha256 %s, want %s", procs, got, tc.want)
					}
				}
				var buf bytes.Buffer
				if err := c.Encode(&buf); err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = buf.Bytes()
				} else if !bytes.Equal(buf.Bytes(), first) {
					t.Errorf("GOMAXPROCS %d (workers %d): a different model file", procs, opts.Workers)
				}
			}
		})
	}
}
