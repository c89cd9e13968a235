//go:build !purego

#include "textflag.h"
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
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
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

// VNNI variant of dotQ8_0x4x2AVX2 (AVX512-VNNI + AVX512VL, 256-bit EVEX): VPDPBUSD forms the
// same exact int32 lanes (lane l = Σ of the 4 products of elements 4l..4l+3) in one instruction.
// It multiplies unsigned by signed bytes, so x is offset to x+128 (x ∈ [−127, 127], so x XOR 0x80
// as unsigned) and the lanes corrected by 128·Σw, formed once per weight block:
// Σ w·(x+128) − 128·Σ w = Σ w·x exactly (|lane| ≤ 4·128·255 fits int32). The float part is
// unchanged, so results equal dotQ8_0AVX2's bit for bit.
//
// Registers: Y0..Y7 accumulators, Y8/Y9 x+128 of columns 0/1, Y10/Y11 their d_x, Y12 128·Σw
// lanes of the current row negated, Y13 its d_w, Y14/Y15 scratch, Y16 0x80 bytes, Y17 zero.
// Each pair starts from a copy of the −128·Σw lanes, so the correction costs no extra operation
// per pair.

#define Q80VPAIR(wbase, xu, dx, acc) \
	VMOVDQA32  Y12, Y14;       \ // −128·Σ w
	VPDPBUSD   2(wbase), xu, Y14; \ // + Σ (x+128)·w = Σ w·x per lane
	VCVTDQ2PS  Y14, Y14;       \
	VMULPS     dx, Y13, Y15;   \ // d = d_w·d_x
	VMULPS     Y15, Y14, Y14;  \
	VADDPS     Y14, acc, acc

#define Q80VROW(wbase, acc0, acc1) \
	VPXORD       Y12, Y12, Y12;    \
	VPDPBUSD     2(wbase), Y16, Y12; \ // 128·Σ w per lane
	VPSUBD       Y12, Y17, Y12;    \ // negated (Y17 = 0)
	VPBROADCASTW 0(wbase), X13;    \
	VCVTPH2PS    X13, Y13;         \
	Q80VPAIR(wbase, Y8, Y10, acc0); \
	Q80VPAIR(wbase, Y9, Y11, acc1)

// func dotQ8_0x4x2VNNI(w *byte, ws int, x *byte, xs int, nb int, out *float32, os int)
TEXT ·dotQ8_0x4x2VNNI(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   xs+24(FP), DX
	ADDQ   DI, DX
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVL         $0x80808080, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU32    Y14, Y16
	VPXORD       Y17, Y17, Y17
	TESTQ  CX, CX
	JZ     q80v42done

q80v42loop:
	VPXORD       2(DI), Y16, Y8
	VPXORD       2(DX), Y16, Y9
	VPBROADCASTW 0(DI), X10
	VCVTPH2PS    X10, Y10
	VPBROADCASTW 0(DX), X11
	VCVTPH2PS    X11, Y11
	Q80VROW(SI, Y0, Y1)
	Q80VROW(R9, Y2, Y3)
	Q80VROW(R10, Y4, Y5)
	Q80VROW(R11, Y6, Y7)
	ADDQ $34, SI
	ADDQ $34, R9
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, DI
	ADDQ $34, DX
	DECQ CX
	JNZ  q80v42loop

q80v42done:
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

// Four weight rows × four activation rows with VNNI: the EVEX encoding's 32 registers hold 16
// accumulators, so each weight block's −128·Σw and d_w serve four columns. Pairs as Q80VPAIR.
//
// Registers: accumulators Y(2r+c) for columns 0/1 and Y(16+2r+c−2) for columns 2/3; x+128 of
// columns 0..3 in Y8, Y9, Y24, Y25 and their d_x in Y10, Y11, Y26, Y27; Y12/Y13 the row's
// −128·Σw and d_w; Y14/Y15 scratch; Y28 0x80 bytes; Y29 zero.

#define Q80V4ROW(wbase, a0, a1, a2, a3) \
	VPXORD       Y12, Y12, Y12;      \
	VPDPBUSD     2(wbase), Y28, Y12; \
	VPSUBD       Y12, Y29, Y12;      \
	VPBROADCASTW 0(wbase), X13;      \
	VCVTPH2PS    X13, Y13;           \
	Q80VPAIR(wbase, Y8, Y10, a0);    \
	Q80VPAIR(wbase, Y9, Y11, a1);    \
	Q80VPAIR(wbase, Y24, Y26, a2);   \
	Q80VPAIR(wbase, Y25, Y27, a3)

// XCOL loads column xbase's block: x+128 into xu, d_x broadcast into ydx (via xdx).
#define XCOL(xbase, xu, xdx, ydx) \
	VPXORD       2(xbase), Y28, xu; \
	VPBROADCASTW 0(xbase), xdx;     \
	VCVTPH2PS    xdx, ydx

// func dotQ8_0x4x4VNNI(w *byte, ws int, x *byte, xs int, nb int, out *float32, os int)
// out[c·os+r] = w_r·x_c for r, c < 4 (os in float32s).
TEXT ·dotQ8_0x4x4VNNI(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   xs+24(FP), AX
	LEAQ   (DI)(AX*1), DX
	LEAQ   (DX)(AX*1), R12
	LEAQ   (R12)(AX*1), R13
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	VPXORD Y29, Y29, Y29
	MOVL         $0x80808080, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU32    Y14, Y28
	TESTQ  CX, CX
	JZ     q80v44done

q80v44loop:
	XCOL(DI, Y8, X10, Y10)
	XCOL(DX, Y9, X11, Y11)
	XCOL(R12, Y24, X26, Y26)
	XCOL(R13, Y25, X27, Y27)
	Q80V4ROW(SI, Y0, Y1, Y16, Y17)
	Q80V4ROW(R9, Y2, Y3, Y18, Y19)
	Q80V4ROW(R10, Y4, Y5, Y20, Y21)
	Q80V4ROW(R11, Y6, Y7, Y22, Y23)
	ADDQ $34, SI
	ADDQ $34, R9
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, DI
	ADDQ $34, DX
	ADDQ $34, R12
	ADDQ $34, R13
	DECQ CX
	JNZ  q80v44loop

q80v44done:
	MOVQ out+40(FP), DI
	MOVQ os+48(FP), AX
	LEAQ (DI)(AX*4), DX
	LEAQ (DX)(AX*4), R12
	LEAQ (R12)(AX*4), R13
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
	// columns 2 and 3: move to low registers for the VEX-only reduction
	VMOVAPS Y16, Y0
	VMOVAPS Y17, Y1
	VMOVAPS Y18, Y2
	VMOVAPS Y19, Y3
	VMOVAPS Y20, Y4
	VMOVAPS Y21, Y5
	VMOVAPS Y22, Y6
	VMOVAPS Y23, Y7
	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	HSUM8(Y4, X4, X8)
	HSUM8(Y5, X5, X8)
	HSUM8(Y6, X6, X8)
	HSUM8(Y7, X7, X8)
	VMOVSS X0, 0(R12)
	VMOVSS X2, 4(R12)
	VMOVSS X4, 8(R12)
	VMOVSS X6, 12(R12)
	VMOVSS X1, 0(R13)
	VMOVSS X3, 4(R13)
	VMOVSS X5, 8(R13)
	VMOVSS X7, 12(R13)
	VZEROUPPER
	RET

// Q4_0 four weight rows × four activation rows with VNNI. VPDPBUSD takes the unsigned nibbles q
// (0..15) against the signed x quants; each pair starts from the column's −8·Σx lanes, formed
// once per activation block, so a lane holds Σ (q−8)·x exactly, the same int32 as dotQ4_0AVX2's
// VPMADDUBSW pair sums; the float part is unchanged (bit-identical results).
//
// Registers: accumulators as dotQ8_0x4x4VNNI; −8·Σx of columns 0..3 in Y8, Y9, Y24, Y25 and
// their d_x in Y10, Y11, Y26, Y27; Y12 the row's nibbles, Y13 its d_w; Y14/Y15 scratch;
// Y28 0x0f bytes, Y29 0x08 bytes, Y30 zero.

#define Q40VPAIR(xbase, m, dx, acc) \
	VMOVDQA32 m, Y14;              \
	VPDPBUSD  2(xbase), Y12, Y14;  \ // + Σ q·x
	VCVTDQ2PS Y14, Y14;            \
	VMULPS    dx, Y13, Y15;        \ // d = d_w·d_x
	VMULPS    Y15, Y14, Y14;       \
	VADDPS    Y14, acc, acc

#define Q40V4ROW(wbase, a0, a1, a2, a3) \
	VMOVDQU      2(wbase), X12;      \
	VPSRLW       $4, X12, X14;       \
	VINSERTI128  $1, X14, Y12, Y12;  \
	VPANDD       Y28, Y12, Y12;      \ // elements 0..15 low nibbles, 16..31 high nibbles
	VPBROADCASTW 0(wbase), X13;      \
	VCVTPH2PS    X13, Y13;           \
	Q40VPAIR(DI, Y8, Y10, a0);       \
	Q40VPAIR(DX, Y9, Y11, a1);       \
	Q40VPAIR(R12, Y24, Y26, a2);     \
	Q40VPAIR(R13, Y25, Y27, a3)

// X40COL forms column xbase's −8·Σx lanes in m and its d_x in ydx (via xdx).
#define X40COL(xbase, m, xdx, ydx) \
	VPXORD       m, m, m;            \
	VPDPBUSD     2(xbase), Y29, m;   \
	VPSUBD       m, Y30, m;          \
	VPBROADCASTW 0(xbase), xdx;      \
	VCVTPH2PS    xdx, ydx

// func dotQ4_0x4x4VNNI(w *byte, ws int, x *byte, xs int, nb int, out *float32, os int)
TEXT ·dotQ4_0x4x4VNNI(SB), NOSPLIT, $0-56
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   xs+24(FP), AX
	LEAQ   (DI)(AX*1), DX
	LEAQ   (DX)(AX*1), R12
	LEAQ   (R12)(AX*1), R13
	MOVQ   nb+32(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	VPXORD Y30, Y30, Y30
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU32    Y14, Y28
	MOVL         $0x08080808, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	VMOVDQU32    Y14, Y29
	TESTQ  CX, CX
	JZ     q40v44done

q40v44loop:
	X40COL(DI, Y8, X10, Y10)
	X40COL(DX, Y9, X11, Y11)
	X40COL(R12, Y24, X26, Y26)
	X40COL(R13, Y25, X27, Y27)
	Q40V4ROW(SI, Y0, Y1, Y16, Y17)
	Q40V4ROW(R9, Y2, Y3, Y18, Y19)
	Q40V4ROW(R10, Y4, Y5, Y20, Y21)
	Q40V4ROW(R11, Y6, Y7, Y22, Y23)
	ADDQ $18, SI
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $34, DI
	ADDQ $34, DX
	ADDQ $34, R12
	ADDQ $34, R13
	DECQ CX
	JNZ  q40v44loop

q40v44done:
	MOVQ out+40(FP), DI
	MOVQ os+48(FP), AX
	LEAQ (DI)(AX*4), DX
	LEAQ (DX)(AX*4), R12
	LEAQ (R12)(AX*4), R13
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
	VMOVAPS Y16, Y0
	VMOVAPS Y17, Y1
	VMOVAPS Y18, Y2
	VMOVAPS Y19, Y3
	VMOVAPS Y20, Y4
	VMOVAPS Y21, Y5
	VMOVAPS Y22, Y6
	VMOVAPS Y23, Y7
	HSUM8(Y0, X0, X8)
	HSUM8(Y1, X1, X8)
	HSUM8(Y2, X2, X8)
	HSUM8(Y3, X3, X8)
	HSUM8(Y4, X4, X8)
	HSUM8(Y5, X5, X8)
	HSUM8(Y6, X6, X8)
	HSUM8(Y7, X7, X8)
	VMOVSS X0, 0(R12)
	VMOVSS X2, 4(R12)
	VMOVSS X4, 8(R12)
	VMOVSS X6, 12(R12)
	VMOVSS X1, 0(R13)
	VMOVSS X3, 4(R13)
	VMOVSS X5, 8(R13)
	VMOVSS X7, 12(R13)
	VZEROUPPER
	RET
