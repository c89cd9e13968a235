//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"

// VNNI kernels over the packed Q6_K layout of packed_q6k.go: eight weight rows per 256-bit
// register, activations broadcast four bytes at a time (EVEX embedded broadcast, .BCST).
// Per sub-block j (16 elements) and activation row: an integer chain starts at −32·Σx_j from
// the packed activations, four VPDPBUSD add Σ q·x (q the unsigned 6-bit quants), VPMULLD
// multiplies by the eight rows' scales sc_j and VPADDD adds that into the rows' isum; at the
// end of the super-block acc += float32(isum) · (d_w · d_x): the order of refBlockQ6_K, so
// results are bit-identical to it. Go operand order is reversed from Intel's: VOP src2, src1,
// dst; for VPTERNLOGD $imm, C, B, A the result bit is imm[A<<2 | B<<1 | C] and A is also the
// destination, so $0xE4 is "C ? A : B" (bits of A where the mask C is set, of B elsewhere).

// Constants (all kernels): Y24 = 0x3f bytes, Y25 = 0x03 bytes, Y26 = 0x0f bytes.
#define CONSTS \
	MOVL         $0x3f3f3f3f, AX; \
	VPBROADCASTD AX, Y24;         \
	MOVL         $0x03030303, AX; \
	VPBROADCASTD AX, Y25;         \
	MOVL         $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Y26

// UNPACK6 unpacks sub-block j of the weight record at SI (vectors A, B, C at 144+96j, +32,
// +64) into chunk registers g0…g3 (chunk c: elements 16j+4c … +3 of the eight rows, each byte
// 0…63); yt is scratch. Chunks 0…2 are A, B, C & 0x3f; chunk 3 is A>>6 (its bits 0…1) merged
// with B>>4 (bits 2…3) under 0x03, then with C>>2 (bits 4…5) under 0x0f, then & 0x3f (the
// word shifts bring a neighbouring byte's bits into bits 6…7, which the last AND clears).
// A, B and C are loaded once: the kernels are short of load slots (every VPDPBUSD.BCST is a
// load too), and loading them twice as memory operands of the shifts and ANDs was slower.
#define UNPACK6(j, g0, g1, g2, g3, yt) \
	VMOVDQU32  (144+96*j)(SI), g0; \
	VMOVDQU32  (176+96*j)(SI), g1; \
	VMOVDQU32  (208+96*j)(SI), g2; \
	VPSRLW     $6, g0, g3;         \
	VPSRLW     $4, g1, yt;         \
	VPTERNLOGD $0xE4, Y25, yt, g3; \
	VPSRLW     $2, g2, yt;         \
	VPTERNLOGD $0xE4, Y26, yt, g3; \
	VPANDD     Y24, g3, g3;        \
	VPANDD     Y24, g0, g0;        \
	VPANDD     Y24, g1, g1;        \
	VPANDD     Y24, g2, g2

// Packed activation record offsets (P = 8): quants of row c at 256c (sub-block j at +16j),
// d_x at 2048+4c, −32·Σx of sub-block j at 2208+64c+4j; a record is 2720 bytes.

// CHAIN8 adds sub-block j of activation row c to isum yi, with the sub-block's chunks in
// Y8…Y11 and its scales in Y12; yt is scratch.
#define CHAIN8(c, j, yt, yi) \
	VPBROADCASTD  (2208+64*c+4*j)(DI), yt;     \
	VPDPBUSD.BCST (256*c+16*j+0)(DI), Y8, yt;  \
	VPDPBUSD.BCST (256*c+16*j+4)(DI), Y9, yt;  \
	VPDPBUSD.BCST (256*c+16*j+8)(DI), Y10, yt; \
	VPDPBUSD.BCST (256*c+16*j+12)(DI), Y11, yt; \
	VPMULLD       Y12, yt, yt;                 \
	VPADDD        yt, yi, yi

// SUB8 adds sub-block j to the isums Y16…Y23 of the eight activation rows.
#define SUB8(j) \
	UNPACK6(j, Y8, Y9, Y10, Y11, Y13); \
	VPMOVSXBD (16+8*j)(SI), Y12;       \
	CHAIN8(0, j, Y27, Y16);            \
	CHAIN8(1, j, Y28, Y17);            \
	CHAIN8(2, j, Y29, Y18);            \
	CHAIN8(3, j, Y30, Y19);            \
	CHAIN8(4, j, Y27, Y20);            \
	CHAIN8(5, j, Y28, Y21);            \
	CHAIN8(6, j, Y29, Y22);            \
	CHAIN8(7, j, Y30, Y23)

// FIN8 adds the super-block's isum yi of activation row c to float accumulator ya, with d_w
// in Y31; yt is float scratch.
#define FIN8(c, yi, ya, yt) \
	VCVTDQ2PS   yi, yi;               \
	VMULPS.BCST (2048+4*c)(DI), Y31, yt; \
	VMULPS      yt, yi, yi;           \
	VADDPS      yi, ya, ya

// func gemmQ6_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)
// Eight weight rows (one packed group, nb super-blocks) × eight activation rows (one P = 8
// group): out[c·os + r] for r, c < 8 (os in float32s).
TEXT ·gemmQ6_Kx8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	CONSTS
	ZERO8

q6x8loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	PREFETCHT0 4416(SI)
	PREFETCHT0 4480(SI)
	PREFETCHT0 4544(SI)
	PREFETCHT0 4608(SI)
	PREFETCHT0 4672(SI)
	PREFETCHT0 4736(SI)
	PREFETCHT0 4800(SI)
	PREFETCHT0 4864(SI)
	PREFETCHT0 4928(SI)
	PREFETCHT0 4992(SI)
	PREFETCHT0 5056(SI)
	PREFETCHT0 5120(SI)
	PREFETCHT0 5184(SI)
	PREFETCHT0 5248(SI)
	PREFETCHT0 5312(SI)
	PREFETCHT0 5376(SI)
	PREFETCHT0 5440(SI)
	PREFETCHT0 5504(SI)
	PREFETCHT0 5568(SI)
	PREFETCHT0 5632(SI)
	PREFETCHT0 5696(SI)
	PREFETCHT0 5760(SI)
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	SUB8(0)
	SUB8(1)
	SUB8(2)
	SUB8(3)
	SUB8(4)
	SUB8(5)
	SUB8(6)
	SUB8(7)
	SUB8(8)
	SUB8(9)
	SUB8(10)
	SUB8(11)
	SUB8(12)
	SUB8(13)
	SUB8(14)
	SUB8(15)
	VCVTPH2PS (SI), Y31
	FIN8(0, Y16, Y0, Y27)
	FIN8(1, Y17, Y1, Y28)
	FIN8(2, Y18, Y2, Y29)
	FIN8(3, Y19, Y3, Y30)
	FIN8(4, Y20, Y4, Y27)
	FIN8(5, Y21, Y5, Y28)
	FIN8(6, Y22, Y6, Y29)
	FIN8(7, Y23, Y7, Y30)
	ADDQ      $1680, SI
	ADDQ      $2720, DI
	DECQ      CX
	JNZ       q6x8loop

	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE8
	VZEROUPPER
	RET

// SUB4 adds sub-block j to the isums Y16…Y19 of the first four activation rows.
#define SUB4(j) \
	UNPACK6(j, Y8, Y9, Y10, Y11, Y13); \
	VPMOVSXBD (16+8*j)(SI), Y12;       \
	CHAIN8(0, j, Y27, Y16);            \
	CHAIN8(1, j, Y28, Y17);            \
	CHAIN8(2, j, Y29, Y18);            \
	CHAIN8(3, j, Y30, Y19)

// func gemm4Q6_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)
// gemmQ6_Kx8x8VNNI for the first four activation rows of the group only: out[c·os + r] for
// r < 8, c < 4 (batches of two to four rows, or a group's tail, do half the work).
TEXT ·gemm4Q6_Kx8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	CONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

q6x4loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	PREFETCHT0 4416(SI)
	PREFETCHT0 4480(SI)
	PREFETCHT0 4544(SI)
	PREFETCHT0 4608(SI)
	PREFETCHT0 4672(SI)
	PREFETCHT0 4736(SI)
	PREFETCHT0 4800(SI)
	PREFETCHT0 4864(SI)
	PREFETCHT0 4928(SI)
	PREFETCHT0 4992(SI)
	PREFETCHT0 5056(SI)
	PREFETCHT0 5120(SI)
	PREFETCHT0 5184(SI)
	PREFETCHT0 5248(SI)
	PREFETCHT0 5312(SI)
	PREFETCHT0 5376(SI)
	PREFETCHT0 5440(SI)
	PREFETCHT0 5504(SI)
	PREFETCHT0 5568(SI)
	PREFETCHT0 5632(SI)
	PREFETCHT0 5696(SI)
	PREFETCHT0 5760(SI)
	VPXORD Y16, Y16, Y16
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	SUB4(0)
	SUB4(1)
	SUB4(2)
	SUB4(3)
	SUB4(4)
	SUB4(5)
	SUB4(6)
	SUB4(7)
	SUB4(8)
	SUB4(9)
	SUB4(10)
	SUB4(11)
	SUB4(12)
	SUB4(13)
	SUB4(14)
	SUB4(15)
	VCVTPH2PS (SI), Y31
	FIN8(0, Y16, Y0, Y27)
	FIN8(1, Y17, Y1, Y28)
	FIN8(2, Y18, Y2, Y29)
	FIN8(3, Y19, Y3, Y30)
	ADDQ      $1680, SI
	ADDQ      $2720, DI
	DECQ      CX
	JNZ       q6x4loop

	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE4
	VZEROUPPER
	RET

// Packed activation record offsets (P = 1): quants at 0 (sub-block j at 16j), d_x at 256,
// −32·Σx of sub-block j at 276+4j; a record is 340 bytes.

// SUB1 adds sub-block j of the activation row to isum yi: chunks in g0…g3, scales in ys, the
// chain in yt. Consecutive sub-blocks use different registers (see gemvQ6_Kx8VNNI) so that
// their chains, each four dependent VPDPBUSD long, overlap.
#define SUB1(j, g0, g1, g2, g3, ys, yt, yi) \
	UNPACK6(j, g0, g1, g2, g3, yt);     \
	VPMOVSXBD     (16+8*j)(SI), ys;     \
	VPBROADCASTD  (276+4*j)(DI), yt;    \
	VPDPBUSD.BCST (16*j+0)(DI), g0, yt; \
	VPDPBUSD.BCST (16*j+4)(DI), g1, yt; \
	VPDPBUSD.BCST (16*j+8)(DI), g2, yt; \
	VPDPBUSD.BCST (16*j+12)(DI), g3, yt; \
	VPMULLD       ys, yt, yt;           \
	VPADDD        yt, yi, yi

#define SUB1A(j) SUB1(j, Y8, Y9, Y10, Y11, Y12, Y13, Y1)
#define SUB1B(j) SUB1(j, Y14, Y15, Y16, Y17, Y18, Y19, Y2)
#define SUB1C(j) SUB1(j, Y20, Y21, Y22, Y23, Y27, Y28, Y1)
#define SUB1D(j) SUB1(j, Y4, Y5, Y6, Y7, Y29, Y30, Y2)

// func gemvQ6_Kx8VNNI(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight weight rows (nb super-blocks each, one after another) × one
// activation row (P = 1): out[8g + r].
TEXT ·gemvQ6_Kx8VNNI(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX
	CONSTS

q6gvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q6gvloop:
	// Two isums (Y1: even sub-blocks, Y2: odd), added at the end: integer, so exact.
	VPXORD    Y1, Y1, Y1
	VPXORD    Y2, Y2, Y2
	SUB1A(0)
	SUB1B(1)
	SUB1C(2)
	SUB1D(3)
	SUB1A(4)
	SUB1B(5)
	SUB1C(6)
	SUB1D(7)
	SUB1A(8)
	SUB1B(9)
	SUB1C(10)
	SUB1D(11)
	SUB1A(12)
	SUB1B(13)
	SUB1C(14)
	SUB1D(15)
	VPADDD      Y2, Y1, Y1
	VCVTDQ2PS   Y1, Y1
	VCVTPH2PS   (SI), Y3
	VMULPS.BCST 256(DI), Y3, Y3
	VMULPS      Y3, Y1, Y1
	VADDPS      Y1, Y0, Y0
	ADDQ        $1680, SI
	ADDQ        $340, DI
	DECQ        CX
	JNZ         q6gvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q6gvgroup
	VZEROUPPER
	RET
