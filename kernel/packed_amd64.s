//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"

// VNNI kernels over the packed ("x8") layouts of packed.go: eight weight rows per 256-bit
// register, activations broadcast four bytes at a time (EVEX embedded broadcast, .BCST).
// Per block and activation row: the integer lanes start at −128·Σx (Q8_0, whose weights are
// stored as w+128) or −8·Σx (Q4_0, nibbles 0…15), eight VPDPBUSD add Σ w'·x, then
// acc += float32(lanes) · (d_w · d_x): the order of packedDotRef, so results are bit-identical
// to it. Go operand order is reversed from Intel's: VOP src2, src1, dst.

// Packed activation record offsets (P = 8): quants of row c at 32c, d_x at 256+4c,
// −128·Σx at 288+4c, −8·Σx at 320+4c; a record is 352 bytes.

// COL8 adds one block of activation row c to float accumulator ya, with the block's eight
// weight chunks in Y8…Y15 (chunk k: elements 4k…4k+3) and d_w in Y16; corr is the offset of the
// row's correction (288 for Q8_0, 320 for Q4_0); yi is integer scratch, Y25 float scratch.
#define COL8(c, corr, yi, ya) \
	VPBROADCASTD  (corr+4*c)(DI), yi;   \
	VPDPBUSD.BCST (32*c+0)(DI), Y8, yi;  \
	VPDPBUSD.BCST (32*c+4)(DI), Y9, yi;  \
	VPDPBUSD.BCST (32*c+8)(DI), Y10, yi; \
	VPDPBUSD.BCST (32*c+12)(DI), Y11, yi; \
	VPDPBUSD.BCST (32*c+16)(DI), Y12, yi; \
	VPDPBUSD.BCST (32*c+20)(DI), Y13, yi; \
	VPDPBUSD.BCST (32*c+24)(DI), Y14, yi; \
	VPDPBUSD.BCST (32*c+28)(DI), Y15, yi; \
	VCVTDQ2PS     yi, yi;               \
	VMULPS.BCST   (256+4*c)(DI), Y16, Y25; \
	VMULPS        Y25, yi, yi;          \
	VADDPS        yi, ya, ya

#define COLS8(corr) \
	COL8(0, corr, Y17, Y0); \
	COL8(1, corr, Y18, Y1); \
	COL8(2, corr, Y19, Y2); \
	COL8(3, corr, Y20, Y3); \
	COL8(4, corr, Y21, Y4); \
	COL8(5, corr, Y22, Y5); \
	COL8(6, corr, Y23, Y6); \
	COL8(7, corr, Y24, Y7)

// func gemmQ8_0x8x8VNNI(w, x *byte, nb int, out *float32, os int)
// Eight weight rows (one packed group, nb blocks) × eight activation rows (one P = 8 group):
// out[c·os + r] for r, c < 8 (os in float32s).
TEXT ·gemmQ8_0x8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	ZERO8

q8x8loop:
	// Weights stream from memory in batched decode: prefetch 4 KiB ahead (measured: the
	// hardware prefetcher alone leaves these compute-interleaved loops waiting on DRAM).
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	VCVTPH2PS (SI), Y16
	VMOVDQU   16(SI), Y8
	VMOVDQU   48(SI), Y9
	VMOVDQU   80(SI), Y10
	VMOVDQU   112(SI), Y11
	VMOVDQU   144(SI), Y12
	VMOVDQU   176(SI), Y13
	VMOVDQU   208(SI), Y14
	VMOVDQU   240(SI), Y15
	COLS8(288)
	ADDQ      $272, SI
	ADDQ      $352, DI
	DECQ      CX
	JNZ       q8x8loop

	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE8
	VZEROUPPER
	RET

// UNPACK4 loads 32 bytes of Q4_0 nibbles at off(SI) into chunk registers lo (low nibbles) and
// hi (high nibbles), with Y26 = 0x0f bytes.
#define UNPACK4(off, lo, hi) \
	VMOVDQU off(SI), lo;  \
	VPSRLW  $4, lo, hi;   \
	VPANDD  Y26, lo, lo;  \
	VPANDD  Y26, hi, hi

// func gemmQ4_0x8x8VNNI(w, x *byte, nb int, out *float32, os int)
// As gemmQ8_0x8x8VNNI for packed Q4_0 weights.
TEXT ·gemmQ4_0x8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), SI
	MOVQ         x+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y26
	ZERO8

q4x8loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	VCVTPH2PS (SI), Y16
	UNPACK4(16, Y8, Y12)
	UNPACK4(48, Y9, Y13)
	UNPACK4(80, Y10, Y14)
	UNPACK4(112, Y11, Y15)
	COLS8(320)
	ADDQ      $144, SI
	ADDQ      $352, DI
	DECQ      CX
	JNZ       q4x8loop

	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE8
	VZEROUPPER
	RET

// Packed activation record offsets (P = 1): quants at 0, d_x at 32, −128·Σx at 36, −8·Σx at
// 40; a record is 44 bytes.

// GEMV1 adds one block of the activation row to Y0, with the weight chunks in Y8…Y15 and
// d_w in Y3: two integer chains (chunks 0…3 from the correction, 4…7 from zero) so that
// eight dependent VPDPBUSD do not serialise.
#define GEMV1(corr) \
	VPBROADCASTD  corr(DI), Y1;   \
	VPXORD        Y2, Y2, Y2;     \
	VPDPBUSD.BCST 0(DI), Y8, Y1;  \
	VPDPBUSD.BCST 16(DI), Y12, Y2; \
	VPDPBUSD.BCST 4(DI), Y9, Y1;  \
	VPDPBUSD.BCST 20(DI), Y13, Y2; \
	VPDPBUSD.BCST 8(DI), Y10, Y1; \
	VPDPBUSD.BCST 24(DI), Y14, Y2; \
	VPDPBUSD.BCST 12(DI), Y11, Y1; \
	VPDPBUSD.BCST 28(DI), Y15, Y2; \
	VPADDD        Y2, Y1, Y1;     \
	VCVTDQ2PS     Y1, Y1;         \
	VMULPS.BCST   32(DI), Y3, Y3; \
	VMULPS        Y3, Y1, Y1;     \
	VADDPS        Y1, Y0, Y0

// func gemvQ8_0x8VNNI(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight weight rows (nb blocks each, one after another) × one
// activation row (P = 1): out[8g + r].
TEXT ·gemvQ8_0x8VNNI(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX

q8gvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q8gvloop:
	VCVTPH2PS (SI), Y3
	VMOVDQU   16(SI), Y8
	VMOVDQU   48(SI), Y9
	VMOVDQU   80(SI), Y10
	VMOVDQU   112(SI), Y11
	VMOVDQU   144(SI), Y12
	VMOVDQU   176(SI), Y13
	VMOVDQU   208(SI), Y14
	VMOVDQU   240(SI), Y15
	GEMV1(36)
	ADDQ      $272, SI
	ADDQ      $44, DI
	DECQ      CX
	JNZ       q8gvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q8gvgroup
	VZEROUPPER
	RET

// func gemvQ4_0x8VNNI(w, x *byte, nb, groups int, out *float32)
// As gemvQ8_0x8VNNI for packed Q4_0 weights.
TEXT ·gemvQ4_0x8VNNI(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), SI
	MOVQ         groups+24(FP), BX
	MOVQ         out+32(FP), DX
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y26

q4gvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q4gvloop:
	VCVTPH2PS (SI), Y3
	UNPACK4(16, Y8, Y12)
	UNPACK4(48, Y9, Y13)
	UNPACK4(80, Y10, Y14)
	UNPACK4(112, Y11, Y15)
	GEMV1(40)
	ADDQ      $144, SI
	ADDQ      $44, DI
	DECQ      CX
	JNZ       q4gvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q4gvgroup
	VZEROUPPER
	RET

// Four-row variants for batches of two to four activation rows (several decode streams): the
// same P = 8 activation records (rows 4…7 unused), half the arithmetic of the 8×8 tile.

#define COLS4(corr) \
	COL8(0, corr, Y17, Y0); \
	COL8(1, corr, Y18, Y1); \
	COL8(2, corr, Y19, Y2); \
	COL8(3, corr, Y20, Y3)

// func gemmQ8_0x8x4VNNI(w, x *byte, nb int, out *float32, os int)
// out[c·os + r] for r < 8, c < 4.
TEXT ·gemmQ8_0x8x4VNNI(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

q8x4loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	VCVTPH2PS (SI), Y16
	VMOVDQU   16(SI), Y8
	VMOVDQU   48(SI), Y9
	VMOVDQU   80(SI), Y10
	VMOVDQU   112(SI), Y11
	VMOVDQU   144(SI), Y12
	VMOVDQU   176(SI), Y13
	VMOVDQU   208(SI), Y14
	VMOVDQU   240(SI), Y15
	COLS4(288)
	ADDQ      $272, SI
	ADDQ      $352, DI
	DECQ      CX
	JNZ       q8x4loop

	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE4
	VZEROUPPER
	RET

// func gemmQ4_0x8x4VNNI(w, x *byte, nb int, out *float32, os int)
TEXT ·gemmQ4_0x8x4VNNI(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), SI
	MOVQ         x+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y26
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3

q4x4loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	VCVTPH2PS (SI), Y16
	UNPACK4(16, Y8, Y12)
	UNPACK4(48, Y9, Y13)
	UNPACK4(80, Y10, Y14)
	UNPACK4(112, Y11, Y15)
	COLS4(320)
	ADDQ      $144, SI
	ADDQ      $352, DI
	DECQ      CX
	JNZ       q4x4loop

	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE4
	VZEROUPPER
	RET
