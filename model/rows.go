package model

import "gonum.org/v1/gonum/blas/gonum"

// The two kernels of the linear model, on a feature-major weight matrix w of
// rows of k float32 (row f is w[f*k : f*k+k]):
//
//	addRows:   z += Σ_j alpha[j] * row(idx[j])     (scores of a sparse vector)
//	addToRows: row(idx[j]) += alpha[j] * g, each j (a rank-one SGD update)
//
// Both process the features in order and compute each element as
// y + float32(alpha*x), rounding the product before the sum, as BLAS saxpy
// does, and skip a zero alpha as it does; so the AVX2 kernels (amd64, when
// the CPU has AVX2) and the portable loop over gonum's saxpy give
// bit-identical results, and the result never depends on which one ran.
// One call covers every feature of a text, so the per-feature cost is a few
// instructions rather than a function call with argument checks.

// rowChunk is the most columns addRowsAVX2 sums in one pass over the rows
// (twelve 8-float registers).
const rowChunk = 96

// addRows adds alpha[j] times row idx[j] of w to z, for each j in order.
// It panics if an index is out of range or the lengths disagree.
func addRows(z, w []float32, k int, idx []int32, alpha []float32) {
	checkRows(len(z), w, k, idx, alpha)
	if len(idx) == 0 || k == 0 {
		return
	}
	if useAVX2 {
		// in column chunks of up to rowChunk floats, whose sums the kernel
		// keeps in registers; the first pass prefetches whole rows
		for off := 0; off < k; off += rowChunk {
			pf := 0
			if off == 0 {
				pf = 4 * k
			}
			addRowsAVX2(&z[off], &w[off], k, &idx[0], &alpha[0], len(idx), min(rowChunk, k-off), pf)
		}
		return
	}
	for j, f := range idx {
		saxpy(alpha[j], w[int(f)*k:int(f)*k+k], z[:k])
	}
}

// addToRows adds alpha[j] times g to row idx[j] of w, for each j in order.
// It panics if an index is out of range or the lengths disagree.
func addToRows(w []float32, k int, idx []int32, alpha []float32, g []float32) {
	checkRows(len(g), w, k, idx, alpha)
	if len(idx) == 0 || k == 0 {
		return
	}
	if useAVX2 {
		addToRowsAVX2(&w[0], k, &idx[0], &alpha[0], len(idx), &g[0])
		return
	}
	for j, f := range idx {
		saxpy(alpha[j], g[:k], w[int(f)*k:int(f)*k+k])
	}
}

// checkRows panics unless every index names a row of w and the vector and
// alpha are long enough: the assembly kernels do no bounds checks.
func checkRows(vec int, w []float32, k int, idx []int32, alpha []float32) {
	if k < 0 || vec < k || len(alpha) < len(idx) {
		panic("model: kernel dimensions")
	}
	if k == 0 {
		return
	}
	rows := len(w) / k
	for _, f := range idx {
		if uint(f) >= uint(rows) {
			panic("model: feature index out of range")
		}
	}
}

// saxpy computes y += alpha*x with gonum's kernel (which skips alpha == 0).
func saxpy(alpha float32, x, y []float32) {
	gonum.Implementation{}.Saxpy(len(x), alpha, x, 1, y, 1)
}
