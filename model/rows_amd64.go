//go:build amd64 && !purego

package model

// useAVX2 selects the AVX2 and FMA kernels of rows_amd64.s. A variable, so
// that a test can compare them with the portable code.
var useAVX2 = hasAVX2FMA()

// hasAVX2FMA reports whether the CPU has AVX2 and FMA and the OS saves the
// YMM registers (CPUID.1:ECX.OSXSAVE, AVX and FMA, XCR0 bits 1-2,
// CPUID.7:EBX.AVX2). With FMA, math.Exp takes the path expShiftAVX2
// reproduces.
func hasAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if c1&fma == 0 || c1&osxsave == 0 || c1&avx == 0 || xgetbv()&6 != 6 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

func xgetbv() (eax uint32)

//go:noescape
func addRowsAVX2(z, w *float32, k int, idx *int32, alpha *float32, n, m, pf int)

//go:noescape
func addToRowsAVX2(w *float32, k int, idx *int32, alpha *float32, n int, grad *float32)

//go:noescape
func expShiftAVX2(z *float64, n int, m float64) (sum float64)

//go:noescape
func maxAVX2(z *float64, n int) float64

//go:noescape
func scaleAVX2(z *float64, n int, a float64)

//go:noescape
func biasScaleAVX2(z *float32, b, out *float64, n int, s float64) (max float64)

//go:noescape
func affineAVX2(z *float64, n int, inv, a, u float64)

//go:noescape
func skipAVX2(z *float64, n int, t float64) int
