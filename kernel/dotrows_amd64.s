//go:build !purego

#include "textflag.h"

// Four-row kernels: four weight rows (stride ws bytes) against one activation row. Each row
// keeps its own accumulator and follows exactly the single-row order of dot_amd64.s, so every
// output equals the single-row kernel's bit for bit; the rows only share the activation loads
// (and, for Q4_0, the Σ 8·x term), and their four independent add chains hide the VADDPS latency
// that bounds a single row.

// HSUMR reduces acc (Y) as HSUM8 into lane 0 of xacc, using xt as scratch.
#define HSUMR(yacc, xacc, xt) \
	VEXTRACTF128 $1, yacc, xt; \
	VADDPS       xt, xacc, xacc; \
	VMOVHLPS     xacc, xacc, xt; \
	VADDPS       xt, xacc, xacc; \
	VMOVSHDUP    xacc, xt;       \
	VADDSS       xt, xacc, xacc

// DSCALE broadcasts float32(f16 at wmem)·dx (X12, lane 0) into yd (clobbers AX, xd).
#define DSCALE(wmem, xd, yd) \
	MOVWLZX      wmem, AX;   \
	VMOVD        AX, xd;     \
	VCVTPH2PS    xd, xd;     \
	VMULSS       X12, xd, xd; \
	VBROADCASTSS xd, yd

// Q80ROW adds row r's block (weights at wbase, x quants in Y5) to acc.
#define Q80ROW(wbase, acc) \
	DSCALE(0(wbase), X7, Y7); \
	VMOVDQU    2(wbase), Y4;  \
	VPSIGNB    Y4, Y4, Y6;    \
	VPSIGNB    Y4, Y5, Y4;    \
	VPMADDUBSW Y4, Y6, Y6;    \
	VPMADDWD   Y15, Y6, Y6;   \
	VCVTDQ2PS  Y6, Y6;        \
	VMULPS     Y7, Y6, Y6;    \
	VADDPS     Y6, acc, acc

// func dotQ8_0x4AVX2(w *byte, ws int, x *byte, nb int, out *float32)
TEXT ·dotQ8_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   nb+24(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	TESTQ  CX, CX
	JZ     q80x4done

q80x4loop:
	MOVWLZX   0(DI), AX
	VMOVD     AX, X12
	VCVTPH2PS X12, X12 // d_x
	VMOVDQU   2(DI), Y5
	Q80ROW(SI, Y0)
	Q80ROW(R9, Y1)
	Q80ROW(R10, Y2)
	Q80ROW(R11, Y3)
	ADDQ $34, SI
	ADDQ $34, R9
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $34, DI
	DECQ CX
	JNZ  q80x4loop

q80x4done:
	MOVQ out+32(FP), DX
	HSUMR(Y0, X0, X8)
	HSUMR(Y1, X1, X8)
	HSUMR(Y2, X2, X8)
	HSUMR(Y3, X3, X8)
	VMOVSS X0, 0(DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VZEROUPPER
	RET

// Q40ROW adds row r's Q4_0 block to acc; x quants in Y5, Σ 8·x pairs in Y13, 0x0f bytes in Y14.
// d_w·d_x multiplies in the order of dotQ4_0AVX2's F16PAIR (d_w then d_x: VMULSS is exact
// either way, the product being commutative).
#define Q40ROW(wbase, acc) \
	DSCALE(0(wbase), X7, Y7); \
	VMOVDQU     2(wbase), X4;  \
	VPSRLW      $4, X4, X6;    \
	VINSERTI128 $1, X6, Y4, Y4; \
	VPAND       Y14, Y4, Y4;   \
	VPMADDUBSW  Y5, Y4, Y6;    \
	VPSUBW      Y13, Y6, Y6;   \
	VPMADDWD    Y15, Y6, Y6;   \
	VCVTDQ2PS   Y6, Y6;        \
	VMULPS      Y7, Y6, Y6;    \
	VADDPS      Y6, acc, acc

// func dotQ4_0x4AVX2(w *byte, ws int, x *byte, nb int, out *float32)
TEXT ·dotQ4_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   ws+8(FP), R8
	MOVQ   x+16(FP), DI
	MOVQ   nb+24(FP), CX
	LEAQ   (SI)(R8*1), R9
	LEAQ   (R9)(R8*1), R10
	LEAQ   (R10)(R8*1), R11
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X14
	VPBROADCASTD X14, Y14
	MOVL         $0x08080808, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	TESTQ  CX, CX
	JZ     q40x4done

q40x4loop:
	MOVWLZX    0(DI), AX
	VMOVD      AX, X12
	VCVTPH2PS  X12, X12
	VMOVDQU    2(DI), Y5
	VPMADDUBSW Y5, Y11, Y13 // Σ 8·x pairs, shared by the four rows
	Q40ROW(SI, Y0)
	Q40ROW(R9, Y1)
	Q40ROW(R10, Y2)
	Q40ROW(R11, Y3)
	ADDQ $18, SI
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $34, DI
	DECQ CX
	JNZ  q40x4loop

q40x4done:
	MOVQ out+32(FP), DX
	HSUMR(Y0, X0, X8)
	HSUMR(Y1, X1, X8)
	HSUMR(Y2, X2, X8)
	HSUMR(Y3, X3, X8)
	VMOVSS X0, 0(DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VZEROUPPER
	RET
