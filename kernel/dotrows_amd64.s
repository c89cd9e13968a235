//go:build !purego

#include "textflag.h"
#include "hsum_amd64.h"

// Four-row kernels: four weight rows (stride ws bytes) against one activation row. Each row
// keeps its own accumulator and follows exactly the single-row order of dot_amd64.s, so every
// output equals the single-row kernel's bit for bit; the rows only share the activation loads
// (and, for Q4_0, the Σ 8·x term), and their four independent add chains hide the VADDPS latency
// that bounds a single row.

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
	MOVQ   R8, R13
	SHLQ   $2, R13 // 4 rows ahead: the next group's rows, prefetched as this group streams
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
	// Rows are short (a 2048-wide Q8_0 row is 2176 bytes), so without this the hardware
	// prefetcher restarts four streams cold at every group (prefetches never fault).
	PREFETCHT0 (SI)(R13*1)
	PREFETCHT0 (R9)(R13*1)
	PREFETCHT0 (R10)(R13*1)
	PREFETCHT0 (R11)(R13*1)
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

// Q40ROW adds row r's Q4_0 block to acc: yd is its scale d_w·d_x broadcast from the stack
// scratch, x quants in Y5, Σ 8·x pairs in Y13, 0x0f bytes in Y14, shift counts {0×4, 4×4} in
// Y10. The nibbles unpack with one 128-bit broadcast load and a per-dword variable shift (low
// half keeps the low nibbles = elements 0..15, high half shifts the high nibbles down = 16..31),
// which saves the VPSRLW+VINSERTI128 pair of the obvious unpack.
#define Q40ROW(wbase, soff, acc, yd) \
	VBROADCASTSS   soff(SP), yd;  \
	VBROADCASTI128 2(wbase), Y4;  \
	VPSRLVD        Y10, Y4, Y4;   \
	VPAND          Y14, Y4, Y4;   \
	VPMADDUBSW     Y5, Y4, Y6;    \
	VPSUBW         Y13, Y6, Y6;   \
	VPMADDWD       Y15, Y6, Y6;   \
	VCVTDQ2PS      Y6, Y6;        \
	VMULPS         yd, Y6, Y6;    \
	VADDPS         Y6, acc, acc

// Q40ROWVNNI is Q40ROW for the VNNI loop: yt (Y16..Y19, which forces the EVEX encoding)
// starts from −Σ 8·x per lane (Y21) and VPDPBUSD adds Σ q·x, giving Σ (q−8)·x per lane.
#define Q40ROWVNNI(wbase, soff, acc, yd, yt) \
	VBROADCASTSS   soff(SP), yd;  \
	VBROADCASTI128 2(wbase), Y4;  \
	VPSRLVD        Y10, Y4, Y4;   \
	VPAND          Y14, Y4, Y4;   \
	VMOVDQA64      Y21, yt;       \
	VPDPBUSD       Y5, Y4, yt;    \
	VCVTDQ2PS      yt, yt;        \
	VMULPS         yd, yt, yt;    \
	VADDPS         yt, acc, acc

// func dotQ4_0x4AVX2(w *byte, ws int, x *byte, nb int, out *float32)
//
// Per block the four rows' F16 scales are gathered into one 64-bit register on the integer
// side (which is otherwise idle), converted with one VCVTPH2PS, multiplied by d_x (replicated
// ×4 by an integer multiply) with one VMULPS — the float32 product d_w·d_x of the single-row
// kernel — and stored to a 16-byte stack scratch, from which each row takes its broadcast with a
// load-only VBROADCASTSS. That replaces four MOVD/VCVTPH2PS/VMULSS/VBROADCASTSS chains on the
// vector pipes, which bound the old kernel.
//
// Each row of the group is prefetched one group ahead (the same offset 4·ws further on). The
// hardware stream prefetcher retrains at every short row: with four rows in flight, three of the
// four streams start cold at each group, which halved the throughput on DRAM-sized matrices.
//
// With useVNNI (AVX512-VNNI + VL) the function runs its VNNI loop instead (below the AVX2 one);
// both give the same bits.
TEXT ·dotQ4_0x4AVX2(SB), NOSPLIT, $16-40
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
	MOVL         $4, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, X10
	VPERM2I128   $0x08, Y10, Y10, Y10 // {0,0,0,0, 4,4,4,4}: low lane zeroed, high lane = 4s
	MOVQ         $0x0001000100010001, R12
	SHLQ         $2, R8 // 4·ws: from a row to the same row of the next group of four
	TESTQ  CX, CX
	JZ     q40x4done
	CMPB   ·useVNNI(SB), $0
	JNE    q40x4vnni

q40x4loop:
	MOVWLZX   0(SI), AX
	MOVWLZX   0(R9), BX
	SHLQ      $16, BX
	ORQ       BX, AX
	MOVWLZX   0(R10), BX
	SHLQ      $32, BX
	ORQ       BX, AX
	MOVWLZX   0(R11), BX
	SHLQ      $48, BX
	ORQ       BX, AX
	MOVWLZX   0(DI), BX
	IMULQ     R12, BX
	VMOVQ     AX, X7
	VCVTPH2PS X7, X7 // d_w of rows 0..3
	VMOVQ     BX, X12
	VCVTPH2PS X12, X12 // d_x ×4
	VMULPS    X12, X7, X7
	VMOVUPS   X7, 0(SP)
	VMOVDQU    2(DI), Y5
	VPMADDUBSW Y5, Y11, Y13 // Σ 8·x pairs, shared by the four rows
	PREFETCHT0 (SI)(R8*1)
	PREFETCHT0 (R9)(R8*1)
	PREFETCHT0 (R10)(R8*1)
	PREFETCHT0 (R11)(R8*1)
	Q40ROW(SI, 0, Y0, Y7)
	Q40ROW(R9, 4, Y1, Y8)
	Q40ROW(R10, 8, Y2, Y9)
	Q40ROW(R11, 12, Y3, Y12)
	ADDQ $18, SI
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $34, DI
	DECQ CX
	JNZ  q40x4loop

	JMP  q40x4done

	// AVX512-VNNI (256-bit EVEX) loop: VPDPBUSD adds the four u8·s8 products of each lane to an
	// int32, the lane split of the order above, so one VPDPBUSD started from −Σ 8·x per lane
	// replaces VPMADDUBSW+VPSUBW+VPMADDWD (the integer sums are exact either way: same results).
q40x4vnni:
	MOVWLZX   0(SI), AX
	MOVWLZX   0(R9), BX
	SHLQ      $16, BX
	ORQ       BX, AX
	MOVWLZX   0(R10), BX
	SHLQ      $32, BX
	ORQ       BX, AX
	MOVWLZX   0(R11), BX
	SHLQ      $48, BX
	ORQ       BX, AX
	MOVWLZX   0(DI), BX
	IMULQ     R12, BX
	VMOVQ     AX, X7
	VCVTPH2PS X7, X7
	VMOVQ     BX, X12
	VCVTPH2PS X12, X12
	VMULPS    X12, X7, X7
	VMOVUPS   X7, 0(SP)
	VMOVDQU   2(DI), Y5
	VPXORD    Y20, Y20, Y20
	VPDPBUSD  Y5, Y11, Y20 // Σ 8·x per lane
	VPXORD    Y21, Y21, Y21
	VPSUBD    Y20, Y21, Y21 // −Σ 8·x per lane, shared by the four rows
	PREFETCHT0 (SI)(R8*1)
	PREFETCHT0 (R9)(R8*1)
	PREFETCHT0 (R10)(R8*1)
	PREFETCHT0 (R11)(R8*1)
	Q40ROWVNNI(SI, 0, Y0, Y7, Y16)
	Q40ROWVNNI(R9, 4, Y1, Y8, Y17)
	Q40ROWVNNI(R10, 8, Y2, Y9, Y18)
	Q40ROWVNNI(R11, 12, Y3, Y12, Y19)
	ADDQ $18, SI
	ADDQ $18, R9
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $34, DI
	DECQ CX
	JNZ  q40x4vnni

q40x4done:
	MOVQ out+32(FP), DX
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
