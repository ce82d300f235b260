package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRows_KernelsMatchSaxpy checks that the kernels, whichever runs on this
// machine, give bit-identical results to a loop over gonum's saxpy, for row
// lengths around every unrolling and column-chunk boundary, zero and negative alphas and
// repeated rows.
func TestRows_KernelsMatchSaxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 2, 7, 8, 9, 31, 32, 33, 40, 63, 88, 95, 96, 97, 104, 150, 151, 192, 200} {
		const rows = 50
		w := make([]float32, rows*k)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		n := 1 + rng.IntN(80)
		idx := make([]int32, n)
		alpha := make([]float32, n)
		for j := range idx {
			idx[j] = int32(rng.IntN(rows))
			alpha[j] = float32(rng.NormFloat64())
			if j%7 == 3 {
				alpha[j] = 0
			}
		}
		z0 := make([]float32, k)
		for i := range z0 {
			z0[i] = float32(rng.NormFloat64())
		}
		// addRows
		want := slices.Clone(z0)
		for j, f := range idx {
			saxpy(alpha[j], w[int(f)*k:int(f)*k+k], want)
		}
		got := slices.Clone(z0)
		addRows(got, w, k, idx, alpha)
		if !bitsEqual(got, want) {
			t.Errorf("addRows k=%d (avx2 %v): differs from saxpy", k, useAVX2)
		}
		// addToRows
		wantW := slices.Clone(w)
		for j, f := range idx {
			saxpy(alpha[j], z0, wantW[int(f)*k:int(f)*k+k])
		}
		gotW := slices.Clone(w)
		addToRows(gotW, k, idx, alpha, z0)
		if !bitsEqual(gotW, wantW) {
			t.Errorf("addToRows k=%d (avx2 %v): differs from saxpy", k, useAVX2)
		}
	}
}

// TestRows_BadIndexPanics checks that an out-of-range feature index panics
// instead of reaching the unchecked assembly.
func TestRows_BadIndexPanics(t *testing.T) {
	for _, f := range []int32{-1, 4} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("index %d: no panic", f)
				}
			}()
			addRows(make([]float32, 3), make([]float32, 12), 3, []int32{0, f}, []float32{1, 1})
		}()
	}
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestExpShift_MatchesMathExp checks expShift against math.Exp bit for bit
// (whichever kernel runs), including the cut-off below -40 and the sum's
// order of addition.
func TestExpShift_MatchesMathExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 3, 4, 5, 8, 150, 151} {
		z := make([]float64, n)
		for i := range z {
			z[i] = 5 - 50*rng.Float64()
		}
		z[rng.IntN(n)] = 5
		m := 5.0
		want := slices.Clone(z)
		var sum float64
		for i, v := range want {
			if v-m < -40 {
				want[i] = 0
				continue
			}
			want[i] = math.Exp(v - m)
			sum += want[i]
		}
		got := slices.Clone(z)
		gotSum := expShift(got, m)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Errorf("n=%d: exp(%v) = %v, math.Exp gives %v", n, z[i]-m, got[i], want[i])
			}
		}
		if math.Float64bits(gotSum) != math.Float64bits(sum) {
			t.Errorf("n=%d: sum %v, want %v", n, gotSum, sum)
		}
	}
}

// TestMaxScale checks maxOf and scale against plain loops, bit for bit.
func TestMaxScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 4, 5, 8, 9, 150} {
		for _, at := range []int{0, n / 2, n - 1} {
			z := make([]float64, n)
			for i := range z {
				z[i] = -10 * rng.Float64()
			}
			z[at] = 3
			if m := maxOf(z); m != 3 {
				t.Errorf("n=%d, max at %d: maxOf = %v", n, at, m)
			}
			want := slices.Clone(z)
			for i := range want {
				want[i] *= 0.37
			}
			scale(z, 0.37)
			for i := range z {
				if math.Float64bits(z[i]) != math.Float64bits(want[i]) {
					t.Errorf("n=%d: scale[%d] = %v, want %v", n, i, z[i], want[i])
				}
			}
		}
	}
}

// TestSoftmaxCalibrated_SameAsApply checks Predict's fused softmax against
// the raw scores z+b put through Calibration.apply, bit for bit, with the
// kernels and with the portable code, for label counts around the kernels'
// 4-wide boundary, with and without a scale and a mix, and with scores far
// enough apart to hit the cut-off below -40.
func TestSoftmaxCalibrated_SameAsApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cals := []Calibration{{}, {Scale: 1}, {Scale: 0.904, Mix: 0.005}, {Scale: 2.5, Mix: 0.03}, {Scale: 0.5}}
	avx := useAVX2
	defer func() { useAVX2 = avx }()
	for _, kernels := range []bool{avx, false} {
		useAVX2 = kernels
		for _, K := range []int{1, 2, 3, 4, 5, 7, 8, 9, 150, 151} {
			for ci, cal := range cals {
				z := make([]float32, K)
				b := make([]float64, K)
				for k := range z {
					z[k] = float32(30 * rng.NormFloat64())
					b[k] = rng.NormFloat64()
				}
				want := make([]float64, K)
				for k := range z {
					want[k] = float64(z[k]) + b[k]
				}
				cal.apply(want, false)
				got := make([]float64, K)
				softmaxCalibrated(z, b, got, cal)
				for k := range got {
					if math.Float64bits(got[k]) != math.Float64bits(want[k]) {
						t.Errorf("kernels %v, K=%d, calibration %d: p[%d] = %v, apply gives %v", kernels, K, ci, k, got[k], want[k])
						break
					}
				}
			}
		}
	}
}
