//go:build amd64 && !purego

#include "textflag.h"

// func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL eaxArg+0(FP), AX
	MOVL ecxArg+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// func xgetbv() (eax uint32)
TEXT ·xgetbv(SB), NOSPLIT, $0-4
	MOVL $0, CX
	XGETBV
	MOVL AX, eax+0(FP)
	RET

// tailmask<>+4*(8-t) holds the mask of the first t of 8 lanes.
DATA tailmask<>+0(SB)/8, $0xffffffffffffffff
DATA tailmask<>+8(SB)/8, $0xffffffffffffffff
DATA tailmask<>+16(SB)/8, $0xffffffffffffffff
DATA tailmask<>+24(SB)/8, $0xffffffffffffffff
DATA tailmask<>+32(SB)/8, $0
DATA tailmask<>+40(SB)/8, $0
DATA tailmask<>+48(SB)/8, $0
DATA tailmask<>+56(SB)/8, $0
GLOBL tailmask<>(SB), RODATA|NOPTR, $64

// func addRowsAVX2(z, w *float32, k int, idx *int32, alpha *float32, n, m, pf int)
//
// Adds alpha[j] times elements 0..m-1 (m <= 96) of row idx[j] (rows of k
// floats from w) to the m floats at z, for each j in order, each element as
// y + round(alpha*x). The m sums stay in registers across all rows: Y0-Y11
// for the m/8 full vectors, Y12 for the m%8 tail (masked by Y13), so a row
// costs one multiply and one add per 8 floats and nothing is stored until
// the end. While a row is added, the first pf bytes of the next one (from
// this chunk's start, rounded up to 128) are prefetched. A row whose alpha
// is +-0 is skipped, as saxpy skips it.
TEXT ·addRowsAVX2(SB), NOSPLIT, $0-64
	MOVQ  z+0(FP), DI
	MOVQ  w+8(FP), SI
	MOVQ  k+16(FP), R11
	SHLQ  $2, R11 // row stride in bytes
	MOVQ  idx+24(FP), R8
	MOVQ  alpha+32(FP), R9
	MOVQ  n+40(FP), R10
	MOVQ  m+48(FP), R12
	MOVQ  pf+56(FP), DX
	TESTQ R10, R10
	JLE   gdone
	MOVQ  R12, R13
	ANDQ  $7, R13 // tail elements
	SHRQ  $3, R12 // full vectors
	CMPQ    R12, $1
	JLT     gloadtail
	VMOVUPS 0(DI), Y0
	CMPQ    R12, $2
	JLT     gloadtail
	VMOVUPS 32(DI), Y1
	CMPQ    R12, $3
	JLT     gloadtail
	VMOVUPS 64(DI), Y2
	CMPQ    R12, $4
	JLT     gloadtail
	VMOVUPS 96(DI), Y3
	CMPQ    R12, $5
	JLT     gloadtail
	VMOVUPS 128(DI), Y4
	CMPQ    R12, $6
	JLT     gloadtail
	VMOVUPS 160(DI), Y5
	CMPQ    R12, $7
	JLT     gloadtail
	VMOVUPS 192(DI), Y6
	CMPQ    R12, $8
	JLT     gloadtail
	VMOVUPS 224(DI), Y7
	CMPQ    R12, $9
	JLT     gloadtail
	VMOVUPS 256(DI), Y8
	CMPQ    R12, $10
	JLT     gloadtail
	VMOVUPS 288(DI), Y9
	CMPQ    R12, $11
	JLT     gloadtail
	VMOVUPS 320(DI), Y10
	CMPQ    R12, $12
	JLT     gloadtail
	VMOVUPS 352(DI), Y11

gloadtail:
	TESTQ      R13, R13
	JEQ        grow
	LEAQ       tailmask<>(SB), AX
	MOVQ       $8, BX
	SUBQ       R13, BX
	VMOVDQU    (AX)(BX*4), Y13
	MOVQ       R12, AX
	SHLQ       $5, AX
	VMASKMOVPS (DI)(AX*1), Y13, Y12

grow:
	CMPQ    R10, $1 // prefetch the next row while this one is added
	JEQ     gskip
	TESTQ   DX, DX
	JEQ     gskip
	MOVLQSX 4(R8), AX
	IMULQ   R11, AX
	LEAQ    (SI)(AX*1), AX
	MOVQ    DX, BX

gpf:
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	ADDQ       $128, AX
	SUBQ       $128, BX
	JGT        gpf

gskip:
	MOVL  (R9), AX
	TESTL $0x7fffffff, AX // alpha == +-0: skipped (a NaN is not)
	JEQ   gnext
	VBROADCASTSS (R9), Y14
	MOVLQSX      (R8), AX
	IMULQ        R11, AX
	LEAQ         (SI)(AX*1), BX // this row's chunk
	CMPQ         R12, $12
	JNE          gladder
	VMULPS  0(BX), Y14, Y15
	VADDPS  Y15, Y0, Y0
	VMULPS  32(BX), Y14, Y15
	VADDPS  Y15, Y1, Y1
	VMULPS  64(BX), Y14, Y15
	VADDPS  Y15, Y2, Y2
	VMULPS  96(BX), Y14, Y15
	VADDPS  Y15, Y3, Y3
	VMULPS  128(BX), Y14, Y15
	VADDPS  Y15, Y4, Y4
	VMULPS  160(BX), Y14, Y15
	VADDPS  Y15, Y5, Y5
	VMULPS  192(BX), Y14, Y15
	VADDPS  Y15, Y6, Y6
	VMULPS  224(BX), Y14, Y15
	VADDPS  Y15, Y7, Y7
	VMULPS  256(BX), Y14, Y15
	VADDPS  Y15, Y8, Y8
	VMULPS  288(BX), Y14, Y15
	VADDPS  Y15, Y9, Y9
	VMULPS  320(BX), Y14, Y15
	VADDPS  Y15, Y10, Y10
	VMULPS  352(BX), Y14, Y15
	VADDPS  Y15, Y11, Y11
	JMP     gnext

gladder:
	CMPQ    R12, $1
	JLT     growtail
	VMULPS  0(BX), Y14, Y15
	VADDPS  Y15, Y0, Y0
	CMPQ    R12, $2
	JLT     growtail
	VMULPS  32(BX), Y14, Y15
	VADDPS  Y15, Y1, Y1
	CMPQ    R12, $3
	JLT     growtail
	VMULPS  64(BX), Y14, Y15
	VADDPS  Y15, Y2, Y2
	CMPQ    R12, $4
	JLT     growtail
	VMULPS  96(BX), Y14, Y15
	VADDPS  Y15, Y3, Y3
	CMPQ    R12, $5
	JLT     growtail
	VMULPS  128(BX), Y14, Y15
	VADDPS  Y15, Y4, Y4
	CMPQ    R12, $6
	JLT     growtail
	VMULPS  160(BX), Y14, Y15
	VADDPS  Y15, Y5, Y5
	CMPQ    R12, $7
	JLT     growtail
	VMULPS  192(BX), Y14, Y15
	VADDPS  Y15, Y6, Y6
	CMPQ    R12, $8
	JLT     growtail
	VMULPS  224(BX), Y14, Y15
	VADDPS  Y15, Y7, Y7
	CMPQ    R12, $9
	JLT     growtail
	VMULPS  256(BX), Y14, Y15
	VADDPS  Y15, Y8, Y8
	CMPQ    R12, $10
	JLT     growtail
	VMULPS  288(BX), Y14, Y15
	VADDPS  Y15, Y9, Y9
	CMPQ    R12, $11
	JLT     growtail
	VMULPS  320(BX), Y14, Y15
	VADDPS  Y15, Y10, Y10

growtail:
	TESTQ      R13, R13
	JEQ        gnext
	MOVQ       R12, AX
	SHLQ       $5, AX
	VMASKMOVPS (BX)(AX*1), Y13, Y15
	VMULPS     Y15, Y14, Y15
	VADDPS     Y15, Y12, Y12

gnext:
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ R10
	JNZ  grow
	CMPQ    R12, $1
	JLT     gstoretail
	VMOVUPS Y0, 0(DI)
	CMPQ    R12, $2
	JLT     gstoretail
	VMOVUPS Y1, 32(DI)
	CMPQ    R12, $3
	JLT     gstoretail
	VMOVUPS Y2, 64(DI)
	CMPQ    R12, $4
	JLT     gstoretail
	VMOVUPS Y3, 96(DI)
	CMPQ    R12, $5
	JLT     gstoretail
	VMOVUPS Y4, 128(DI)
	CMPQ    R12, $6
	JLT     gstoretail
	VMOVUPS Y5, 160(DI)
	CMPQ    R12, $7
	JLT     gstoretail
	VMOVUPS Y6, 192(DI)
	CMPQ    R12, $8
	JLT     gstoretail
	VMOVUPS Y7, 224(DI)
	CMPQ    R12, $9
	JLT     gstoretail
	VMOVUPS Y8, 256(DI)
	CMPQ    R12, $10
	JLT     gstoretail
	VMOVUPS Y9, 288(DI)
	CMPQ    R12, $11
	JLT     gstoretail
	VMOVUPS Y10, 320(DI)
	CMPQ    R12, $12
	JLT     gstoretail
	VMOVUPS Y11, 352(DI)

gstoretail:
	TESTQ      R13, R13
	JEQ        gend
	MOVQ       R12, AX
	SHLQ       $5, AX
	VMASKMOVPS Y12, Y13, (DI)(AX*1)

gend:
	VZEROUPPER

gdone:
	RET

// func addToRowsAVX2(w *float32, k int, idx *int32, alpha *float32, n int, grad *float32)
TEXT ·addToRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ    w+0(FP), SI
	MOVQ    k+8(FP), DX
	MOVQ    idx+16(FP), R8
	MOVQ    alpha+24(FP), R9
	MOVQ    n+32(FP), R10
	MOVQ    grad+40(FP), DI
	TESTQ   R10, R10
	JLE     sdone
	MOVQ    DX, R11
	SHLQ    $2, R11
	VXORPS  X14, X14, X14

sfeat:
	CMPQ       R10, $1 // prefetch the next row while this one is added
	JEQ        sgo
	MOVLQSX    4(R8), AX
	IMULQ      R11, AX
	LEAQ       (SI)(AX*1), AX
	MOVQ       R11, BX

spf:
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	SUBQ       $64, BX
	JGT        spf

sgo:
	VMOVSS   (R9), X0
	VUCOMISS X14, X0
	JNE      snonzero
	JPS      snonzero
	JMP      snext

snonzero:
	VBROADCASTSS X0, Y0
	MOVLQSX      (R8), AX
	IMULQ        R11, AX
	LEAQ         (SI)(AX*1), CX // y = row idx[j]
	MOVQ         DI, BX         // x = grad
	MOVQ         DX, AX

srow32:
	CMPQ    AX, $32
	JLT     srow8
	VMULPS  (BX), Y0, Y1
	VMULPS  32(BX), Y0, Y2
	VMULPS  64(BX), Y0, Y3
	VMULPS  96(BX), Y0, Y4
	VADDPS  (CX), Y1, Y1
	VADDPS  32(CX), Y2, Y2
	VADDPS  64(CX), Y3, Y3
	VADDPS  96(CX), Y4, Y4
	VMOVUPS Y1, (CX)
	VMOVUPS Y2, 32(CX)
	VMOVUPS Y3, 64(CX)
	VMOVUPS Y4, 96(CX)
	ADDQ    $128, BX
	ADDQ    $128, CX
	SUBQ    $32, AX
	JMP     srow32

srow8:
	CMPQ    AX, $8
	JLT     srow1
	VMULPS  (BX), Y0, Y1
	VADDPS  (CX), Y1, Y1
	VMOVUPS Y1, (CX)
	ADDQ    $32, BX
	ADDQ    $32, CX
	SUBQ    $8, AX
	JMP     srow8

srow1:
	TESTQ  AX, AX
	JEQ    snext
	VMULSS (BX), X0, X1
	VADDSS (CX), X1, X1
	VMOVSS X1, (CX)
	ADDQ   $4, BX
	ADDQ   $4, CX
	DECQ   AX
	JMP    srow1

snext:
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ R10
	JNZ  sfeat
	VZEROUPPER

sdone:
	RET

// Constants of math.Exp's amd64 kernel (exp_amd64.s), four copies each.
DATA expc<>+0(SB)/8, $1.4426950408889634073599246810018920 // log2(e)
DATA expc<>+8(SB)/8, $1.4426950408889634073599246810018920
DATA expc<>+16(SB)/8, $1.4426950408889634073599246810018920
DATA expc<>+24(SB)/8, $1.4426950408889634073599246810018920
DATA expc<>+32(SB)/8, $0.69314718055966295651160180568695068359375 // ln(2), upper half
DATA expc<>+40(SB)/8, $0.69314718055966295651160180568695068359375
DATA expc<>+48(SB)/8, $0.69314718055966295651160180568695068359375
DATA expc<>+56(SB)/8, $0.69314718055966295651160180568695068359375
DATA expc<>+64(SB)/8, $0.28235290563031577122588448175013436025525412068e-12 // ln(2), lower half
DATA expc<>+72(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA expc<>+80(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA expc<>+88(SB)/8, $0.28235290563031577122588448175013436025525412068e-12
DATA expc<>+96(SB)/8, $0.0625
DATA expc<>+104(SB)/8, $0.0625
DATA expc<>+112(SB)/8, $0.0625
DATA expc<>+120(SB)/8, $0.0625
DATA expc<>+128(SB)/8, $2.4801587301587301587e-5 // Taylor coefficients, 1/8! down to 1/2!
DATA expc<>+136(SB)/8, $2.4801587301587301587e-5
DATA expc<>+144(SB)/8, $2.4801587301587301587e-5
DATA expc<>+152(SB)/8, $2.4801587301587301587e-5
DATA expc<>+160(SB)/8, $1.9841269841269841270e-4
DATA expc<>+168(SB)/8, $1.9841269841269841270e-4
DATA expc<>+176(SB)/8, $1.9841269841269841270e-4
DATA expc<>+184(SB)/8, $1.9841269841269841270e-4
DATA expc<>+192(SB)/8, $1.3888888888888888889e-3
DATA expc<>+200(SB)/8, $1.3888888888888888889e-3
DATA expc<>+208(SB)/8, $1.3888888888888888889e-3
DATA expc<>+216(SB)/8, $1.3888888888888888889e-3
DATA expc<>+224(SB)/8, $8.3333333333333333333e-3
DATA expc<>+232(SB)/8, $8.3333333333333333333e-3
DATA expc<>+240(SB)/8, $8.3333333333333333333e-3
DATA expc<>+248(SB)/8, $8.3333333333333333333e-3
DATA expc<>+256(SB)/8, $4.1666666666666666667e-2
DATA expc<>+264(SB)/8, $4.1666666666666666667e-2
DATA expc<>+272(SB)/8, $4.1666666666666666667e-2
DATA expc<>+280(SB)/8, $4.1666666666666666667e-2
DATA expc<>+288(SB)/8, $1.6666666666666666667e-1
DATA expc<>+296(SB)/8, $1.6666666666666666667e-1
DATA expc<>+304(SB)/8, $1.6666666666666666667e-1
DATA expc<>+312(SB)/8, $1.6666666666666666667e-1
DATA expc<>+320(SB)/8, $0.5
DATA expc<>+328(SB)/8, $0.5
DATA expc<>+336(SB)/8, $0.5
DATA expc<>+344(SB)/8, $0.5
DATA expc<>+352(SB)/8, $1.0
DATA expc<>+360(SB)/8, $1.0
DATA expc<>+368(SB)/8, $1.0
DATA expc<>+376(SB)/8, $1.0
DATA expc<>+384(SB)/8, $2.0
DATA expc<>+392(SB)/8, $2.0
DATA expc<>+400(SB)/8, $2.0
DATA expc<>+408(SB)/8, $2.0
DATA expc<>+416(SB)/8, $-40.0 // the cut-off: exp of anything lower counts as 0
DATA expc<>+424(SB)/8, $-40.0
DATA expc<>+432(SB)/8, $-40.0
DATA expc<>+440(SB)/8, $-40.0
DATA expc<>+448(SB)/8, $0x3FF // exponent bias
DATA expc<>+456(SB)/8, $0x3FF
DATA expc<>+464(SB)/8, $0x3FF
DATA expc<>+472(SB)/8, $0x3FF
GLOBL expc<>(SB), RODATA|NOPTR, $480

// func expShiftAVX2(z *float64, n int, m float64) (sum float64)
//
// For i < n (a multiple of 4) it replaces z[i] by exp(z[i]-m), or by 0 when
// z[i]-m < -40, and returns their sum, added in index order. Each exp is
// computed by the same operations as math.Exp's FMA path (exp_amd64.s), four
// at a time, so it is bit-identical to it; the arguments are at most 0 and
// at least -40, so none of its special cases apply.
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-32
	MOVQ         z+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSD m+16(FP), Y5
	VXORPD       X6, X6, X6 // sum
	LEAQ         expc<>(SB), R8
	SHRQ         $2, CX
	JEQ          edone

eloop:
	VMOVUPD      (DI), Y0
	VSUBPD       Y5, Y0, Y0         // d = z - m
	VCMPPD       $0x1d, 416(R8), Y0, Y4 // keep = d >= -40
	VMAXPD       416(R8), Y0, Y0    // clamp, so the exponent stays small
	VMULPD       0(R8), Y0, Y1      // d*log2(e)
	VCVTPD2DQY   Y1, X2             // k, rounded to nearest
	VCVTDQ2PD    X2, Y1
	VFNMADD231PD 32(R8), Y1, Y0     // d -= k*ln2hi
	VFNMADD231PD 64(R8), Y1, Y0     // d -= k*ln2lo
	VMULPD       96(R8), Y0, Y0     // /16
	VMOVUPD      128(R8), Y1
	VFMADD213PD  160(R8), Y0, Y1
	VFMADD213PD  192(R8), Y0, Y1
	VFMADD213PD  224(R8), Y0, Y1
	VFMADD213PD  256(R8), Y0, Y1
	VFMADD213PD  288(R8), Y0, Y1
	VFMADD213PD  320(R8), Y0, Y1
	VFMADD213PD  352(R8), Y0, Y1
	VMULPD       Y1, Y0, Y0
	VADDPD       384(R8), Y0, Y1    // square four times: e^(16r) from e^r - 1
	VMULPD       Y1, Y0, Y0
	VADDPD       384(R8), Y0, Y1
	VMULPD       Y1, Y0, Y0
	VADDPD       384(R8), Y0, Y1
	VMULPD       Y1, Y0, Y0
	VADDPD       384(R8), Y0, Y1
	VFMADD213PD  352(R8), Y1, Y0
	VPMOVSXDQ    X2, Y3             // 2^k
	VPADDQ       448(R8), Y3, Y3
	VPSLLQ       $52, Y3, Y3
	VMULPD       Y3, Y0, Y0
	VANDPD       Y4, Y0, Y0
	VMOVUPD      Y0, (DI)
	VADDSD       (DI), X6, X6       // the sum, in index order
	VADDSD       8(DI), X6, X6
	VADDSD       16(DI), X6, X6
	VADDSD       24(DI), X6, X6
	ADDQ         $32, DI
	DECQ         CX
	JNZ          eloop
	VZEROUPPER

edone:
	VMOVSD X6, sum+24(FP)
	RET

// func maxAVX2(z *float64, n int) float64
//
// The largest of z[:n], n a positive multiple of 4 (finite values).
TEXT ·maxAVX2(SB), NOSPLIT, $0-24
	MOVQ         z+0(FP), DI
	MOVQ         n+8(FP), CX
	VMOVUPD      (DI), Y0
	ADDQ         $32, DI
	SUBQ         $4, CX
	JEQ          mreduce

mloop:
	VMAXPD (DI), Y0, Y0
	ADDQ   $32, DI
	SUBQ   $4, CX
	JNE    mloop

mreduce:
	VEXTRACTF128 $1, Y0, X1
	VMAXPD       X1, X0, X0
	VPERMILPD    $1, X0, X1
	VMAXPD       X1, X0, X0
	VZEROUPPER
	VMOVSD       X0, ret+16(FP)
	RET

// func scaleAVX2(z *float64, n int, a float64)
//
// Multiplies z[:n] by a, n a multiple of 4.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	MOVQ         z+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSD a+16(FP), Y1
	SHRQ         $2, CX
	JEQ          sdone2

sloop:
	VMULPD  (DI), Y1, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sloop
	VZEROUPPER

sdone2:
	RET

// func biasScaleAVX2(z *float32, b, out *float64, n int, s float64) (max float64)
//
// Sets out[i] = (float64(z[i]) + b[i]) * s for i < n, n a positive multiple
// of 4, and returns the largest, as maxAVX2 would find it.
TEXT ·biasScaleAVX2(SB), NOSPLIT, $0-48
	MOVQ         z+0(FP), SI
	MOVQ         b+8(FP), BX
	MOVQ         out+16(FP), DI
	MOVQ         n+24(FP), CX
	VBROADCASTSD s+32(FP), Y5
	VCVTPS2PD    (SI), Y0
	VADDPD       (BX), Y0, Y0
	VMULPD       Y5, Y0, Y0
	VMOVUPD      Y0, (DI)
	VMOVAPD      Y0, Y6
	JMP          bnext

bloop:
	VCVTPS2PD (SI), Y0
	VADDPD    (BX), Y0, Y0
	VMULPD    Y5, Y0, Y0
	VMOVUPD   Y0, (DI)
	VMAXPD    Y0, Y6, Y6

bnext:
	ADDQ $16, SI
	ADDQ $32, BX
	ADDQ $32, DI
	SUBQ $4, CX
	JNE  bloop
	VEXTRACTF128 $1, Y6, X1
	VMAXPD       X1, X6, X6
	VPERMILPD    $1, X6, X1
	VMAXPD       X1, X6, X6
	VZEROUPPER
	VMOVSD       X6, max+40(FP)
	RET

// func affineAVX2(z *float64, n int, inv, a, u float64)
//
// Sets z[i] = a*(z[i]*inv) + u for i < n, n a multiple of 4, each product
// rounded (no fused multiply-add).
TEXT ·affineAVX2(SB), NOSPLIT, $0-40
	MOVQ         z+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSD inv+16(FP), Y1
	VBROADCASTSD a+24(FP), Y2
	VBROADCASTSD u+32(FP), Y3
	SHRQ         $2, CX
	JEQ          adone

aloop:
	VMULPD  (DI), Y1, Y0
	VMULPD  Y2, Y0, Y0
	VADDPD  Y3, Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ    $32, DI
	DECQ    CX
	JNZ     aloop
	VZEROUPPER

adone:
	RET

// func skipAVX2(z *float64, n int, t float64) int
//
// Returns 4 times the number of leading groups of four among z[:n] (n a
// multiple of 4) with no element greater than t (a NaN is not greater).
TEXT ·skipAVX2(SB), NOSPLIT, $0-32
	MOVQ         z+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSD t+16(FP), Y1
	XORQ         AX, AX

kloop:
	CMPQ      AX, CX
	JGE       kdone
	VMOVUPD   (DI)(AX*8), Y0
	VCMPPD    $0x1e, Y1, Y0, Y2 // z > t, ordered
	VMOVMSKPD Y2, BX
	TESTL     BX, BX
	JNE       kdone
	ADDQ      $4, AX
	JMP       kloop

kdone:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
