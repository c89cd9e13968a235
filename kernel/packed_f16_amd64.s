//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"
#include "hsum_amd64.h"

// Packed F16 kernels (packed_f16.go): one 8-lane accumulator per output, reduced with hsum8 —
// the DotF16 order. Go operand order is reversed from Intel's: VOP src2, src1, dst.

// FROW1 adds row r's products of the current record with the widened activations Y8 to Y(r).
#define FROW1(r, yw, acc) \
	VCVTPH2PS   (16*r)(SI), yw; \
	VFMADD231PS Y8, yw, acc

// func gemvF16x8(w *byte, x *uint16, nb, groups int, out *float32)
// groups packed groups (nb records each, one after another) × one F16 activation row:
// out[8g + r].
TEXT ·gemvF16x8(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX

fgvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	ZERO8

fgvloop:
	VCVTPH2PS (DI), Y8
	FROW1(0, Y9, Y0)
	FROW1(1, Y10, Y1)
	FROW1(2, Y11, Y2)
	FROW1(3, Y12, Y3)
	FROW1(4, Y13, Y4)
	FROW1(5, Y14, Y5)
	FROW1(6, Y9, Y6)
	FROW1(7, Y10, Y7)
	ADDQ      $128, SI
	ADDQ      $16, DI
	DECQ      CX
	JNZ       fgvloop

	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	HSUM8(Y4, X4, X8)
	HSUM8(Y5, X5, X8)
	HSUM8(Y6, X6, X8)
	HSUM8(Y7, X7, X8)
	VMOVSS X0, 0(DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VMOVSS X4, 16(DX)
	VMOVSS X5, 20(DX)
	VMOVSS X6, 24(DX)
	VMOVSS X7, 28(DX)
	ADDQ   $32, DX
	DECQ   BX
	JNZ    fgvgroup
	VZEROUPPER
	RET

// FROW2 adds row r's products with activation rows 0 (Y16) and 1 (Y17) to Y(r) and Y(8+r)
// (EVEX: AVX512VL).
#define FROW2(r, yw, a0, a1) \
	VCVTPH2PS   (16*r)(SI), yw; \
	VFMADD231PS Y16, yw, a0;    \
	VFMADD231PS Y17, yw, a1

// func gemmF16x8x2(w *byte, x *uint16, nb int, out *float32, os int)
// One packed group (nb records) × two F16 activation rows (8·nb values each, one after the
// other): out[c·os + r] for r < 8, c < 2 (os in float32s).
TEXT ·gemmF16x8x2(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	MOVQ   CX, DX
	SHLQ   $4, DX
	ADDQ   DI, DX // activation row 1
	ZERO8
	ZERO8HI

fgmloop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	VCVTPH2PS (DI), Y16
	VCVTPH2PS (DX), Y17
	FROW2(0, Y18, Y0, Y8)
	FROW2(1, Y19, Y1, Y9)
	FROW2(2, Y18, Y2, Y10)
	FROW2(3, Y19, Y3, Y11)
	FROW2(4, Y18, Y4, Y12)
	FROW2(5, Y19, Y5, Y13)
	FROW2(6, Y18, Y6, Y14)
	FROW2(7, Y19, Y7, Y15)
	ADDQ      $128, SI
	ADDQ      $16, DI
	ADDQ      $16, DX
	DECQ      CX
	JNZ       fgmloop

	MOVQ    out+24(FP), DI
	MOVQ    os+32(FP), AX
	LEAQ    (DI)(AX*4), DX
	VMOVAPS Y15, Y31 // free X15 as the VEX reductions' scratch
	HSUM8(Y0, X0, X15)
	HSUM8(Y1, X1, X15)
	HSUM8(Y2, X2, X15)
	HSUM8(Y3, X3, X15)
	HSUM8(Y4, X4, X15)
	HSUM8(Y5, X5, X15)
	HSUM8(Y6, X6, X15)
	HSUM8(Y7, X7, X15)
	HSUM8(Y8, X8, X15)
	HSUM8(Y9, X9, X15)
	HSUM8(Y10, X10, X15)
	HSUM8(Y11, X11, X15)
	HSUM8(Y12, X12, X15)
	HSUM8(Y13, X13, X15)
	HSUM8(Y14, X14, X15)
	VMOVSS  X0, 0(DI)
	VMOVSS  X1, 4(DI)
	VMOVSS  X2, 8(DI)
	VMOVSS  X3, 12(DI)
	VMOVSS  X4, 16(DI)
	VMOVSS  X5, 20(DI)
	VMOVSS  X6, 24(DI)
	VMOVSS  X7, 28(DI)
	VMOVSS  X8, 0(DX)
	VMOVSS  X9, 4(DX)
	VMOVSS  X10, 8(DX)
	VMOVSS  X11, 12(DX)
	VMOVSS  X12, 16(DX)
	VMOVSS  X13, 20(DX)
	VMOVSS  X14, 24(DX)
	VMOVAPS Y31, Y0
	HSUM8(Y0, X0, X1)
	VMOVSS  X0, 28(DX)
	VZEROUPPER
	RET

// FROW4(r, yw, c0, c1) adds row r's products with activation rows 0 (Y8) and 1 (Y9) to c0 and
// c1 (AVX2: sixteen registers).
#define FROW4(r, yw, c0, c1) \
	VCVTPH2PS   (16*r)(SI), yw; \
	VFMADD231PS Y8, yw, c0;     \
	VFMADD231PS Y9, yw, c1

// F16HALF runs one pass of gemmF16x8x2AVX2 over rows r0 … r0+3 (SI at their first record,
// DI and R9 at activation rows 0 and 1, CX records) and stores out[c·os + r0 + j] from
// DX (AX = os in bytes).
#define F16HALF(lbl) \
	ZERO8; \
lbl:; \
	VCVTPH2PS (DI), Y8;        \
	VCVTPH2PS (R9), Y9;        \
	FROW4(0, Y10, Y0, Y4);     \
	FROW4(1, Y11, Y1, Y5);     \
	FROW4(2, Y12, Y2, Y6);     \
	FROW4(3, Y13, Y3, Y7);     \
	ADDQ      $128, SI;        \
	ADDQ      $16, DI;         \
	ADDQ      $16, R9;         \
	DECQ      CX;              \
	JNZ       lbl;             \
	HSUM8(Y0, X0, X8);         \
	HSUM8(Y1, X1, X8);         \
	HSUM8(Y2, X2, X8);         \
	HSUM8(Y3, X3, X8);         \
	HSUM8(Y4, X4, X8);         \
	HSUM8(Y5, X5, X8);         \
	HSUM8(Y6, X6, X8);         \
	HSUM8(Y7, X7, X8);         \
	VMOVSS    X0, 0(DX);       \
	VMOVSS    X1, 4(DX);       \
	VMOVSS    X2, 8(DX);       \
	VMOVSS    X3, 12(DX);      \
	VMOVSS    X4, 0(DX)(AX*1); \
	VMOVSS    X5, 4(DX)(AX*1); \
	VMOVSS    X6, 8(DX)(AX*1); \
	VMOVSS    X7, 12(DX)(AX*1)

// func gemmF16x8x2AVX2(w *byte, x *uint16, nb int, out *float32, os int)
// gemmF16x8x2 in sixteen registers: two passes of four rows × two activation rows (the
// second over the records' upper 64 bytes, from L1/L2), same order and bits.
TEXT ·gemmF16x8x2AVX2(SB), NOSPLIT, $0-40
	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ CX, R9
	SHLQ $4, R9
	ADDQ DI, R9 // activation row 1
	F16HALF(fa2lo)
	MOVQ w+0(FP), SI
	ADDQ $64, SI // rows 4…7
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVQ CX, R9
	SHLQ $4, R9
	ADDQ DI, R9
	ADDQ $16, DX
	F16HALF(fa2hi)
	VZEROUPPER
	RET
