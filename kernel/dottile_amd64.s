//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"
#include "hsum_amd64.h"

// Tile kernels for batched matmul: four weight rows (stride ws bytes) against two activation
// rows (stride xs bytes), eight outputs. Each output keeps its own accumulator and follows the
// single-row order of dot_amd64.s exactly (per block: 8 int32 lanes, converted, times
// float32(d_w·d_x), added; HSUM8 at the end), so it equals dotQ8_0AVX2's result bit for bit.
// The tile only shares work between outputs: each weight block's |w| and d_w are computed once
// for both activation rows, and each activation block's quants and d_x once for the four weight
// rows. Go operand order is reversed from Intel's: VOP src2, src1, dst.
//
// Registers: Y0..Y7 accumulators (row r, column c in Y(2r+c)), Y8/Y9 x quants of columns 0/1,
// Y10/Y11 their d_x broadcast, Y12 |w| of the current row, Y13 its d_w, Y14/Y15 scratch. The
// int16 ones for VPMADDWD come from memory (no register left).

DATA tileones<>+0x00(SB)/8, $0x0001000100010001
DATA tileones<>+0x08(SB)/8, $0x0001000100010001
DATA tileones<>+0x10(SB)/8, $0x0001000100010001
DATA tileones<>+0x18(SB)/8, $0x0001000100010001
GLOBL tileones<>(SB), RODATA|NOPTR, $32

// Q80PAIR adds the block product of the current row (w quants at wbase, |w| in Y12, d_w in
// Y13) and one column (x quants xq, d_x dx) to acc: the same operations as dotQ8_0AVX2.
#define Q80PAIR(wbase, xq, dx, acc) \
	VPSIGNB    2(wbase), xq, Y14;        \ // x·sign(w)
	VPMADDUBSW Y14, Y12, Y14;            \ // |w|·x·sign(w), int16 pair sums
	VPMADDWD   tileones<>(SB), Y14, Y14; \ // 8 int32 lanes of 4 elements
	VCVTDQ2PS  Y14, Y14;                 \
	VMULPS     dx, Y13, Y15;             \ // d = d_w·d_x
	VMULPS     Y15, Y14, Y14;            \
	VADDPS     Y14, acc, acc

// Q80TROW loads row wbase's |w| and d_w and adds its products with both columns.
#define Q80TROW(wbase, acc0, acc1) \
	VMOVDQU      2(wbase), Y12;  \
	VPSIGNB      Y12, Y12, Y12;  \ // |w| (−128 → 0x80, read as unsigned 128)
	VPBROADCASTW 0(wbase), X13;  \
	VCVTPH2PS    X13, Y13;       \
	Q80PAIR(wbase, Y8, Y10, acc0); \
	Q80PAIR(wbase, Y9, Y11, acc1)

// func dotQ8_0x4x2AVX2(w *byte, ws int, x *byte, xs int, nb int, out *float32, os int)
// out[r] = w_r·x_0 and out[os+r] = w_r·x_1 for r < 4 (os in float32s).
TEXT ·dotQ8_0x4x2AVX2(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   xs+24(FP), DX
	ADDQ   DI, DX
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	ZERO8
	TESTQ  CX, CX
	JZ     q80t42done

q80t42loop:
	VMOVDQU      2(DI), Y8
	VMOVDQU      2(DX), Y9
	VPBROADCASTW 0(DI), X10
	VCVTPH2PS    X10, Y10
	VPBROADCASTW 0(DX), X11
	VCVTPH2PS    X11, Y11
	Q80TROW(SI, Y0, Y1)
	Q80TROW(R9, Y2, Y3)
	Q80TROW(R10, Y4, Y5)
	Q80TROW(R11, Y6, Y7)
	ADDQ $34, SI
	ADDQ $34, R9
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  q80t42loop

q80t42done:
	MOVQ out+40(FP), DI
	MOVQ os+48(FP), DX
	LEAQ (DI)(DX*4), DX
	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	HSUM8(Y4, X4, X8)
	HSUM8(Y5, X5, X8)
	HSUM8(Y6, X6, X8)
	HSUM8(Y7, X7, X8)
	VMOVSS X0, 0(DI)
	VMOVSS X2, 4(DI)
	VMOVSS X4, 8(DI)
	VMOVSS X6, 12(DI)
	VMOVSS X1, 0(DX)
	VMOVSS X3, 4(DX)
	VMOVSS X5, 8(DX)
	VMOVSS X7, 12(DX)
	VZEROUPPER
	RET
