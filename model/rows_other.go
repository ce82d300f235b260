//go:build !amd64 || purego

package model

// useAVX2 is false where there is no assembly kernel.
var useAVX2 = false

func addRowsAVX2(z, w *float32, k int, idx *int32, alpha *float32, n int) {
	panic("model: no AVX2 kernel")
}

func addToRowsAVX2(w *float32, k int, idx *int32, alpha *float32, n int, grad *float32) {
	panic("model: no AVX2 kernel")
}

func expShiftAVX2(z *float64, n int, m float64) (sum float64) {
	panic("model: no AVX2 kernel")
}

func maxAVX2(z *float64, n int) float64 { panic("model: no AVX2 kernel") }

func scaleAVX2(z *float64, n int, a float64) { panic("model: no AVX2 kernel") }
