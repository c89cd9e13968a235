//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"
#include "hsum_amd64.h"

// Batched F16 kernels in the DotF16 order: each output keeps one 8-lane accumulator (lane l
// sums elements i ≡ l mod 8 in order), reduced with hsum8 at the end, so each output equals
// dotF16AVX2 bit for bit (products of F16 values are exact in float32, so the fused
// multiply-add equals mul+add). The tiles only share the F16→F32 conversions: each weight
// 8-element group is widened once for all columns, each activation group once for all rows.
// Go operand order is reversed from Intel's: VOP src2, src1, dst.

// func dotF16x4AVX2(w *byte, ws int, x *uint16, n8 int, out *float32)
// Four weight rows (stride ws bytes) × one activation row: out[r] for r < 4; n8 a multiple of 8.
TEXT ·dotF16x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   n8+24(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   BX, BX
	SHRQ   $3, CX
	JZ     f4done

f4loop:
	VCVTPH2PS   (DI)(BX*1), Y8
	VCVTPH2PS   (SI)(BX*1), Y4
	VCVTPH2PS   (R9)(BX*1), Y5
	VCVTPH2PS   (R10)(BX*1), Y6
	VCVTPH2PS   (R11)(BX*1), Y7
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y8, Y5, Y1
	VFMADD231PS Y8, Y6, Y2
	VFMADD231PS Y8, Y7, Y3
	ADDQ        $16, BX
	DECQ        CX
	JNZ         f4loop

f4done:
	MOVQ   out+32(FP), DX
	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	VMOVSS X0, 0(DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VZEROUPPER
	RET

// F16ROW widens row wr's group into Y16 and adds its products with the four widened columns
// (Y20…Y23) to accumulators a0…a3 (EVEX: AVX512VL).
#define F16ROW(wr, a0, a1, a2, a3) \
	VCVTPH2PS   (wr)(BX*1), Y16; \
	VFMADD231PS Y20, Y16, a0;    \
	VFMADD231PS Y21, Y16, a1;    \
	VFMADD231PS Y22, Y16, a2;    \
	VFMADD231PS Y23, Y16, a3

// func dotF16x4x4AVX512(w *byte, ws int, x *uint16, xs int, n8 int, out *float32, os int)
// Four weight rows (stride ws bytes) × four activation rows (stride xs bytes):
// out[c·os + r] for r, c < 4 (os in float32s). Needs AVX512VL (32 vector registers):
// accumulator (r, c) is Y(4r+c).
TEXT ·dotF16x4x4AVX512(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   xs+24(FP), AX
	MOVQ   n8+32(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	LEAQ   (DI)(AX*1), DX
	LEAQ   (DX)(AX*1), R12
	LEAQ   (R12)(AX*1), R13
	ZERO8
	ZERO8HI
	XORQ   BX, BX
	SHRQ   $3, CX
	JZ     f44done

f44loop:
	VCVTPH2PS (DI)(BX*1), Y20
	VCVTPH2PS (DX)(BX*1), Y21
	VCVTPH2PS (R12)(BX*1), Y22
	VCVTPH2PS (R13)(BX*1), Y23
	F16ROW(SI, Y0, Y1, Y2, Y3)
	F16ROW(R9, Y4, Y5, Y6, Y7)
	F16ROW(R10, Y8, Y9, Y10, Y11)
	F16ROW(R11, Y12, Y13, Y14, Y15)
	ADDQ      $16, BX
	DECQ      CX
	JNZ       f44loop

f44done:
	MOVQ    out+40(FP), DI
	MOVQ    os+48(FP), AX
	SHLQ    $2, AX
	VMOVAPS Y15, Y31 // free a low register for the VEX reductions
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
	// Y(4r+c) → out[c·os + r]
	MOVQ    DI, DX
	VMOVSS  X0, 0(DX)
	VMOVSS  X4, 4(DX)
	VMOVSS  X8, 8(DX)
	VMOVSS  X12, 12(DX)
	ADDQ    AX, DX
	VMOVSS  X1, 0(DX)
	VMOVSS  X5, 4(DX)
	VMOVSS  X9, 8(DX)
	VMOVSS  X13, 12(DX)
	ADDQ    AX, DX
	VMOVSS  X2, 0(DX)
	VMOVSS  X6, 4(DX)
	VMOVSS  X10, 8(DX)
	MOVQ    DX, R14 // column 2, for (3,2)
	ADDQ    AX, DX
	VMOVSS  X3, 0(DX)
	VMOVSS  X7, 4(DX)
	VMOVSS  X11, 8(DX)
	VMOVAPS Y31, Y1 // accumulator (3,3)
	HSUM8(Y14, X14, X0)
	HSUM8(Y1, X1, X0)
	VMOVSS  X14, 12(R14)
	VMOVSS  X1, 12(DX)
	VZEROUPPER
	RET
