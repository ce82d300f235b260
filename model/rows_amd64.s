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

// The loop below adds Y0 (alpha, broadcast; X0 its low lane) times the AX
// floats at BX to the floats at CX, each element as y + round(alpha*x), 32,
// then 8, then 1 at a time.

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

// func addRowsAVX2(z, w *float32, k int, idx *int32, alpha *float32, n int)
//
// The last k%8 elements of z stay in Y8 across all rows (masked loads of
// each row's tail), so no row needs a scalar loop.
TEXT ·addRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ   z+0(FP), DI
	MOVQ   w+8(FP), SI
	MOVQ   k+16(FP), DX
	MOVQ   idx+24(FP), R8
	MOVQ   alpha+32(FP), R9
	MOVQ   n+40(FP), R10
	TESTQ  R10, R10
	JLE    gdone
	MOVQ   DX, R11
	SHLQ   $2, R11      // row stride in bytes
	MOVQ   DX, R12
	ANDQ   $~7, R12     // elements done 8 at a time
	MOVQ   DX, R13
	ANDQ   $7, R13      // tail elements
	VXORPS X14, X14, X14
	VXORPS Y8, Y8, Y8
	JEQ    gfeat
	LEAQ   tailmask<>(SB), AX
	MOVQ   $8, BX
	SUBQ   R13, BX
	VMOVDQU (AX)(BX*4), Y7
	VMASKMOVPS (DI)(R12*4), Y7, Y8

gfeat:
	CMPQ       R10, $1 // prefetch the next row while this one is added
	JEQ        ggo
	MOVLQSX    4(R8), AX
	IMULQ      R11, AX
	LEAQ       (SI)(AX*1), AX
	MOVQ       R11, BX

gpf:
	PREFETCHT0 (AX)
	ADDQ       $64, AX
	SUBQ       $64, BX
	JGT        gpf

ggo:
	VMOVSS   (R9), X0
	VUCOMISS X14, X0
	JNE      gnonzero
	JPS      gnonzero // NaN: not skipped (saxpy skips only alpha == 0)
	JMP      gnext

gnonzero:
	VBROADCASTSS X0, Y0
	MOVLQSX      (R8), AX
	IMULQ        R11, AX
	LEAQ         (SI)(AX*1), BX // x = row idx[j]
	MOVQ         DI, CX         // y = z
	MOVQ         R12, AX

grow32:
	CMPQ    AX, $32
	JLT     grow8
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
	JMP     grow32

grow8:
	TESTQ   AX, AX
	JEQ     growtail
	VMULPS  (BX), Y0, Y1
	VADDPS  (CX), Y1, Y1
	VMOVUPS Y1, (CX)
	ADDQ    $32, BX
	ADDQ    $32, CX
	SUBQ    $8, AX
	JMP     grow8

growtail:
	TESTQ      R13, R13
	JEQ        gnext
	VMASKMOVPS (BX), Y7, Y1
	VMULPS     Y1, Y0, Y1
	VADDPS     Y1, Y8, Y8

gnext:
	ADDQ $4, R8
	ADDQ $4, R9
	DECQ R10
	JNZ  gfeat
	TESTQ R13, R13
	JEQ   gend
	VMASKMOVPS Y8, Y7, (DI)(R12*4)

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
