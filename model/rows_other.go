//go:build !amd64 || purego

package model

// useAVX2 is false where there is no assembly kernel.
var useAVX2 = false

func addRowsAVX2(z, w *float32, k int, idx *int32, alpha *float32, n, m, pf int) {
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

func biasScaleAVX2(z *float32, b, out *float64, n int, s float64) (max float64) {
	panic("model: no AVX2 kernel")
}

func affineAVX2(z *float64, n int, inv, a, u float64) { panic("model: no AVX2 kernel") }

func skipAVX2(z *float64, n int, t float64) int { panic("model: no AVX2 kernel") }
