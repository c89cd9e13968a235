//go:build !purego

#include "textflag.h"
#include "hsum_amd64.h"

// AVX2 dot kernels. Each reproduces the accumulation order documented in dot.go exactly:
// per block, 8 int32 lanes (lane l = elements with index%32 in [4l,4l+4)), converted to float,
// multiplied by the block scale and added (VMULPS then VADDPS, never fused) to Y0; HSUM8
// (hsum_amd64.h) at the end. Go operand order is reversed from Intel's: VOP src2, src1, dst.

// F16PAIR broadcasts float32(f16 at wd) * float32(f16 at xd) into Y2 (clobbers AX, BX, X3).
#define F16PAIR(wd, xd) \
	MOVWLZX      wd, AX;     \
	MOVWLZX      xd, BX;     \
	SHLL         $16, BX;    \
	ORL          BX, AX;     \
	VMOVD        AX, X2;     \
	VCVTPH2PS    X2, X2;     \ // lane0 = d_w, lane1 = d_x
	VMOVSHDUP    X2, X3;     \
	VMULSS       X3, X2, X2; \
	VBROADCASTSS X2, Y2

// ONES16 sets Y15 to sixteen int16 ones (for VPMADDWD pair sums).
#define ONES16 \
	VPCMPEQW Y15, Y15, Y15; \
	VPSRLW   $15, Y15, Y15

// BCAST8(val, reg) sets every byte of reg (a Y register) to val (clobbers AX).
#define BCAST8(val, xr, yr) \
	MOVL         val, AX; \
	VMOVD        AX, xr;  \
	VPBROADCASTD xr, yr

// func dotQ8_0AVX2(w, x *byte, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	ONES16
	TESTQ  CX, CX
	JZ     q80done

q80loop:
	F16PAIR(0(SI), 0(DI))

	// 32 int8 products, exact: |w| (unsigned, up to 128) times x·sign(w) (x in [-127,127]).
	VMOVDQU    2(SI), Y4
	VMOVDQU    2(DI), Y5
	VPSIGNB    Y4, Y4, Y6
	VPSIGNB    Y4, Y5, Y5
	VPMADDUBSW Y5, Y6, Y6    // 16 int16 pair sums
	VPMADDWD   Y15, Y6, Y6   // 8 int32 lanes of 4 elements

	// acc += d * float(lanes)
	VCVTDQ2PS Y6, Y6
	VMULPS    Y2, Y6, Y6
	VADDPS    Y6, Y0, Y0

	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q80loop

q80done:
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_0AVX2(w, x *byte, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	ONES16
	BCAST8($0x0f0f0f0f, X14, Y14)
	BCAST8($0x08080808, X13, Y13)
	TESTQ  CX, CX
	JZ     q40done

q40loop:
	F16PAIR(0(SI), 0(DI))

	// unpack nibbles: low 16 bytes = elements 0..15, high 16 bytes = elements 16..31
	VMOVDQU     2(SI), X4
	VPSRLW      $4, X4, X5
	VINSERTI128 $1, X5, Y4, Y4
	VPAND       Y14, Y4, Y4

	// Σ (q-8)·x = Σ q·x − Σ 8·x, both as int16 pairs (q unsigned 0..15: no saturation)
	VMOVDQU    2(DI), Y5
	VPMADDUBSW Y5, Y4, Y6
	VPMADDUBSW Y5, Y13, Y7
	VPSUBW     Y7, Y6, Y6
	VPMADDWD   Y15, Y6, Y6

	VCVTDQ2PS Y6, Y6
	VMULPS    Y2, Y6, Y6
	VADDPS    Y6, Y0, Y0

	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q40loop

q40done:
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// k4shuf<>+32k broadcasts int16 word k of a register to all 16 words (VPSHUFB per 128-bit lane).
DATA k4shuf<>+0x00(SB)/8, $0x0100010001000100
DATA k4shuf<>+0x08(SB)/8, $0x0100010001000100
DATA k4shuf<>+0x10(SB)/8, $0x0100010001000100
DATA k4shuf<>+0x18(SB)/8, $0x0100010001000100
DATA k4shuf<>+0x20(SB)/8, $0x0302030203020302
DATA k4shuf<>+0x28(SB)/8, $0x0302030203020302
DATA k4shuf<>+0x30(SB)/8, $0x0302030203020302
DATA k4shuf<>+0x38(SB)/8, $0x0302030203020302
DATA k4shuf<>+0x40(SB)/8, $0x0504050405040504
DATA k4shuf<>+0x48(SB)/8, $0x0504050405040504
DATA k4shuf<>+0x50(SB)/8, $0x0504050405040504
DATA k4shuf<>+0x58(SB)/8, $0x0504050405040504
DATA k4shuf<>+0x60(SB)/8, $0x0706070607060706
DATA k4shuf<>+0x68(SB)/8, $0x0706070607060706
DATA k4shuf<>+0x70(SB)/8, $0x0706070607060706
DATA k4shuf<>+0x78(SB)/8, $0x0706070607060706
DATA k4shuf<>+0x80(SB)/8, $0x0908090809080908
DATA k4shuf<>+0x88(SB)/8, $0x0908090809080908
DATA k4shuf<>+0x90(SB)/8, $0x0908090809080908
DATA k4shuf<>+0x98(SB)/8, $0x0908090809080908
DATA k4shuf<>+0xa0(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+0xa8(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+0xb0(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+0xb8(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+0xc0(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+0xc8(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+0xd0(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+0xd8(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+0xe0(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+0xe8(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+0xf0(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+0xf8(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k4shuf<>(SB), RODATA|NOPTR, $256

// KSCALES16 widens the 8 scale bytes in R8 to int16 words 0..7 of both lanes of Y10.
#define KSCALES16 \
	VMOVQ       R8, X10;          \
	VPMOVZXBW   X10, X10;         \
	VINSERTI128 $1, X10, Y10, Y10

// Q4K_CHUNK adds 64 elements (two sub-blocks of 32 sharing 32 bytes of nibbles at qoff(SI))
// to the int32 lanes in Y1; the scales of the two sub-blocks are words m0/32 and m1/32 of Y10
// (KSCALES16), broadcast by VPSHUFB.
#define Q4K_CHUNK(qoff, xoff0, xoff1, m0, m1) \
	VMOVDQU      qoff(SI), Y4;        \
	VPSRLW       $4, Y4, Y5;          \
	VPAND        Y14, Y4, Y4;         \ // sub-block 2j
	VPAND        Y14, Y5, Y5;         \ // sub-block 2j+1
	VPMADDUBSW   xoff0(DI), Y4, Y4;   \
	VPMADDUBSW   xoff1(DI), Y5, Y5;   \
	VPSHUFB      k4shuf<>+m0(SB), Y10, Y6; \
	VPSHUFB      k4shuf<>+m1(SB), Y10, Y7; \
	VPMADDWD     Y6, Y4, Y4;          \ // × scale, pairs → int32
	VPMADDWD     Y7, Y5, Y5;          \
	VPADDD       Y4, Y1, Y1;          \
	VPADDD       Y5, Y1, Y1

// KMINS adds d_x·dmin·Σ_j m_j·(bsums[2j]+bsums[2j+1]) to X8, with the 8 mins in R9 and
// dmin's F16 at dminoff(SI); leaves d_x in X6.
#define KMINS(dminoff) \
	VMOVQ      R9, X4;          \
	VPMOVZXBW  X4, X4;          \ // 8 int16 mins
	VMOVDQU    260(DI), Y5;     \ // 16 int16 bsums
	VEXTRACTI128 $1, Y5, X6;    \
	VPHADDW    X6, X5, X5;      \ // bsums of the 8 sub-blocks of 32
	VPMADDWD   X5, X4, X4;      \
	VPSHUFD    $0x4e, X4, X5;   \
	VPADDD     X5, X4, X4;      \
	VPSHUFD    $0xb1, X4, X5;   \
	VPADDD     X5, X4, X4;      \ // lane0 = integer min sum
	VCVTDQ2PS  X4, X4;          \
	VMOVSS     0(DI), X6;       \ // d_x
	MOVWLZX    dminoff(SI), AX; \
	VMOVD      AX, X7;          \
	VCVTPH2PS  X7, X7;          \
	VMULSS     X7, X6, X7;      \ // d_x·dmin
	VMULSS     X4, X7, X4;      \
	VADDSS     X4, X8, X8

// KUNPACK loads the 12 packed 6-bit scales/mins at 4(SI) (ggml's utmp shuffle in
// ggml_vec_dot_q4_K_q8_K) into R8 = 8 scale bytes, R9 = 8 min bytes (clobbers AX, BX, DX, R10, R11).
#define KUNPACK \
	MOVL  4(SI), AX;        \ // u0
	MOVL  8(SI), BX;        \ // u1
	MOVL  12(SI), DX;       \ // u2
	MOVL  DX, R10;          \
	SHRL  $4, R10;          \
	ANDL  $0x0f0f0f0f, R10; \
	MOVL  BX, R11;          \
	SHRL  $6, R11;          \
	ANDL  $0x03030303, R11; \
	SHLL  $4, R11;          \
	ORL   R11, R10;         \ // mins 4..7
	MOVL  BX, R9;           \
	ANDL  $0x3f3f3f3f, R9;  \ // mins 0..3
	ANDL  $0x0f0f0f0f, DX;  \
	MOVL  AX, R11;          \
	SHRL  $6, R11;          \
	ANDL  $0x03030303, R11; \
	SHLL  $4, R11;          \
	ORL   R11, DX;          \ // scales 4..7
	ANDL  $0x3f3f3f3f, AX;  \ // scales 0..3
	SHLQ  $32, DX;          \
	ORQ   DX, AX;           \
	MOVQ  AX, R8;           \
	SHLQ  $32, R10;         \
	ORQ   R10, R9

// KMINS4K is KMINS(2) for Q4_K, whose d and dmin are adjacent F16s at 0(SI): one VCVTPH2PS and
// one VMULPS by the broadcast d_x give both products (each the same float32 product as two
// scalar VMULSS) and leave d_x·d in lane 0 of X7 for the block scale.
#define KMINS4K \
	VMOVQ      R9, X4;          \
	VPMOVZXBW  X4, X4;          \ // 8 int16 mins
	VMOVDQU    260(DI), Y5;     \ // 16 int16 bsums
	VEXTRACTI128 $1, Y5, X6;    \
	VPHADDW    X6, X5, X5;      \ // bsums of the 8 sub-blocks of 32
	VPMADDWD   X5, X4, X4;      \
	VPSHUFD    $0x4e, X4, X5;   \
	VPADDD     X5, X4, X4;      \
	VPSHUFD    $0xb1, X4, X5;   \
	VPADDD     X5, X4, X4;      \ // lane0 = integer min sum
	VCVTDQ2PS  X4, X4;          \
	VBROADCASTSS 0(DI), X6;     \ // d_x
	VMOVD      0(SI), X7;       \ // F16 d, dmin
	VCVTPH2PS  X7, X7;          \
	VMULPS     X6, X7, X7;      \ // d_x·d, d_x·dmin
	VMOVSHDUP  X7, X5;          \
	VMULSS     X4, X5, X4;      \
	VADDSS     X4, X8, X8

// func dotQ4_KAVX2(w, x *byte, nb int) float32
TEXT ·dotQ4_KAVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X8, X8, X8
	BCAST8($0x0f0f0f0f, X14, Y14)
	TESTQ  CX, CX
	JZ     q4kdone

q4kloop:
	KUNPACK
	KSCALES16
	KMINS4K

	// d = d_x · d_w (lane 0 of X7, from KMINS4K)
	VBROADCASTSS X7, Y9

	VPXOR Y1, Y1, Y1
	Q4K_CHUNK(16, 4, 36, 0x00, 0x20)
	Q4K_CHUNK(48, 68, 100, 0x40, 0x60)
	Q4K_CHUNK(80, 132, 164, 0x80, 0xa0)
	Q4K_CHUNK(112, 196, 228, 0xc0, 0xe0)

	VCVTDQ2PS Y1, Y1
	VMULPS    Y9, Y1, Y1
	VADDPS    Y1, Y0, Y0

	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop

q4kdone:
	HSUM8(Y0, X0, X1)
	VSUBSS X8, X0, X0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// Q5K_CHUNK is Q4K_CHUNK with the fifth bit: bits (2j, 2j+1) of qh (Y3) shifted to 0x10.
#define Q5K_CHUNK(qoff, xoff0, xoff1, hs0, hs1, m0, m1) \
	VMOVDQU      qoff(SI), Y4;        \
	VPSRLW       $4, Y4, Y5;          \
	VPAND        Y14, Y4, Y4;         \
	VPAND        Y14, Y5, Y5;         \
	VPSRLW       hs0, Y3, Y11;        \
	VPAND        Y13, Y11, Y11;       \ // bit 2j of each qh byte, at bit 0
	VPSLLW       $4, Y11, Y11;        \
	VPOR         Y11, Y4, Y4;         \
	VPSRLW       hs1, Y3, Y11;        \
	VPAND        Y13, Y11, Y11;       \
	VPSLLW       $4, Y11, Y11;        \
	VPOR         Y11, Y5, Y5;         \
	VPMADDUBSW   xoff0(DI), Y4, Y4;   \
	VPMADDUBSW   xoff1(DI), Y5, Y5;   \
	VPSHUFB      k4shuf<>+m0(SB), Y10, Y6; \
	VPSHUFB      k4shuf<>+m1(SB), Y10, Y7; \
	VPMADDWD     Y6, Y4, Y4;          \
	VPMADDWD     Y7, Y5, Y5;          \
	VPADDD       Y4, Y1, Y1;          \
	VPADDD       Y5, Y1, Y1

// func dotQ5_KAVX2(w, x *byte, nb int) float32
TEXT ·dotQ5_KAVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS X8, X8, X8
	BCAST8($0x0f0f0f0f, X14, Y14)
	BCAST8($0x01010101, X13, Y13)
	TESTQ  CX, CX
	JZ     q5kdone

q5kloop:
	KUNPACK
	KSCALES16
	KMINS(2)

	MOVWLZX      0(SI), AX
	VMOVD        AX, X9
	VCVTPH2PS    X9, X9
	VMULSS       X9, X6, X9
	VBROADCASTSS X9, Y9

	VMOVDQU 16(SI), Y3 // qh
	VPXOR   Y1, Y1, Y1
	Q5K_CHUNK(48, 4, 36, $0, $1, 0x00, 0x20)
	Q5K_CHUNK(80, 68, 100, $2, $3, 0x40, 0x60)
	Q5K_CHUNK(112, 132, 164, $4, $5, 0x80, 0xa0)
	Q5K_CHUNK(144, 196, 228, $6, $7, 0xc0, 0xe0)

	VCVTDQ2PS Y1, Y1
	VMULPS    Y9, Y1, Y1
	VADDPS    Y1, Y0, Y0

	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5kloop

q5kdone:
	HSUM8(Y0, X0, X1)
	VSUBSS X8, X0, X0
	VZEROUPPER
	MOVSS  X0, ret+24(FP)
	RET

// q6kshuf<>+16c picks scales 2c (8 copies) and 2c+1 (8 copies) for 32-element chunk c
// (ggml's get_scale_shuffle).
DATA q6kshuf<>+0x00(SB)/8, $0x0000000000000000
DATA q6kshuf<>+0x08(SB)/8, $0x0101010101010101
DATA q6kshuf<>+0x10(SB)/8, $0x0202020202020202
DATA q6kshuf<>+0x18(SB)/8, $0x0303030303030303
DATA q6kshuf<>+0x20(SB)/8, $0x0404040404040404
DATA q6kshuf<>+0x28(SB)/8, $0x0505050505050505
DATA q6kshuf<>+0x30(SB)/8, $0x0606060606060606
DATA q6kshuf<>+0x38(SB)/8, $0x0707070707070707
DATA q6kshuf<>+0x40(SB)/8, $0x0808080808080808
DATA q6kshuf<>+0x48(SB)/8, $0x0909090909090909
DATA q6kshuf<>+0x50(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA q6kshuf<>+0x58(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA q6kshuf<>+0x60(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA q6kshuf<>+0x68(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA q6kshuf<>+0x70(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA q6kshuf<>+0x78(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q6kshuf<>(SB), RODATA|NOPTR, $128

// Q6K_CHUNK adds 32 elements (6-bit quants in Y6, unsigned 0..63) against x at xoff(DI)
// with the two scales of chunk c to the lanes in Y1: Σ sc·(q−32)·x.
#define Q6K_CHUNK(xoff, shufoff) \
	VMOVDQU    xoff(DI), Y8;                \
	VPMADDUBSW Y8, Y6, Y6;                  \ // Σ q·x pairs
	VPMADDUBSW Y8, Y12, Y8;                 \ // Σ 32·x pairs
	VPSUBW     Y8, Y6, Y6;                  \
	VPSHUFB    q6kshuf<>+shufoff(SB), X10, X11; \
	VPMOVSXBW  X11, Y11;                    \ // 8×sc[2c], 8×sc[2c+1]
	VPMADDWD   Y11, Y6, Y6;                 \
	VPADDD     Y6, Y1, Y1

// Q6K_HALF adds 128 elements: ql at qloff(SI) (64 bytes), qh at qhoff(SI) (32 bytes).
#define Q6K_HALF(qloff, qhoff, xoff0, xoff1, xoff2, xoff3, s0, s1, s2, s3) \
	VMOVDQU qhoff(SI), Y3;      \
	VMOVDQU qloff(SI), Y4;      \
	VMOVDQU qloff+32(SI), Y5;   \
	VPAND   Y14, Y4, Y6;        \ // elements 0..31: ql low nibble | qh bits 0-1
	VPAND   Y13, Y3, Y7;        \
	VPSLLW  $4, Y7, Y7;         \
	VPOR    Y7, Y6, Y6;         \
	Q6K_CHUNK(xoff0, s0);       \
	VPAND   Y14, Y5, Y6;        \ // elements 32..63: ql[32:] low | qh bits 2-3
	VPSRLW  $2, Y3, Y7;         \
	VPAND   Y13, Y7, Y7;        \
	VPSLLW  $4, Y7, Y7;         \
	VPOR    Y7, Y6, Y6;         \
	Q6K_CHUNK(xoff1, s1);       \
	VPSRLW  $4, Y4, Y6;         \ // elements 64..95: ql high nibble | qh bits 4-5
	VPAND   Y14, Y6, Y6;        \
	VPSRLW  $4, Y3, Y7;         \
	VPAND   Y13, Y7, Y7;        \
	VPSLLW  $4, Y7, Y7;         \
	VPOR    Y7, Y6, Y6;         \
	Q6K_CHUNK(xoff2, s2);       \
	VPSRLW  $4, Y5, Y6;         \ // elements 96..127: ql[32:] high | qh bits 6-7
	VPAND   Y14, Y6, Y6;        \
	VPSRLW  $6, Y3, Y7;         \
	VPAND   Y13, Y7, Y7;        \
	VPSLLW  $4, Y7, Y7;         \
	VPOR    Y7, Y6, Y6;         \
	Q6K_CHUNK(xoff3, s3)

// func dotQ6_KAVX2(w, x *byte, nb int) float32
TEXT ·dotQ6_KAVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0
	BCAST8($0x0f0f0f0f, X14, Y14)
	BCAST8($0x03030303, X13, Y13)
	BCAST8($0x20202020, X12, Y12)
	TESTQ  CX, CX
	JZ     q6kdone

q6kloop:
	// d = d_x · d_w
	MOVWLZX      208(SI), AX
	VMOVD        AX, X9
	VCVTPH2PS    X9, X9
	VMULSS       0(DI), X9, X9
	VBROADCASTSS X9, Y9
	VMOVDQU      192(SI), X10 // 16 int8 scales

	VPXOR Y1, Y1, Y1
	Q6K_HALF(0, 128, 4, 36, 68, 100, 0x00, 0x10, 0x20, 0x30)
	Q6K_HALF(64, 160, 132, 164, 196, 228, 0x40, 0x50, 0x60, 0x70)

	VCVTDQ2PS Y1, Y1
	VMULPS    Y9, Y1, Y1
	VADDPS    Y1, Y0, Y0

	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kloop

q6kdone:
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// FDOT_TAIL combines the four accumulators Y0..Y3 as (a0+a1)+(a2+a3) and reduces to X0.
#define FDOT_END \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	HSUM8(Y0, X0, X1)

// func dotF16AVX2(w *byte, x *uint16, n8 int) float32 — n8 a multiple of 8
// One accumulator (the DotF16 order); products of F16 values are exact in float32, so the
// fused multiply-add equals mul+add.
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n8+16(FP), CX
	SHRQ   $3, CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JZ     f16done

f16loop:
	VCVTPH2PS   0(SI), Y4
	VCVTPH2PS   0(DI), Y5
	VFMADD231PS Y5, Y4, Y0
	ADDQ        $16, SI
	ADDQ        $16, DI
	DECQ        CX
	JNZ         f16loop

f16done:
	HSUM8(Y0, X0, X1)
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// BF16LOAD widens 8 bfloat16 at mem into float32 lanes of yr.
#define BF16LOAD(mem, yr) \
	VPMOVZXWD mem, yr; \
	VPSLLD    $16, yr, yr

// func dotBF16AVX2(w *byte, x *uint16, n32 int) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n32+16(FP), CX
	SHRQ   $5, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     bf16done

bf16loop:
	BF16LOAD(0(SI), Y4)
	BF16LOAD(0(DI), Y5)
	VFMADD231PS Y5, Y4, Y0
	BF16LOAD(16(SI), Y6)
	BF16LOAD(16(DI), Y7)
	VFMADD231PS Y7, Y6, Y1
	BF16LOAD(32(SI), Y4)
	BF16LOAD(32(DI), Y5)
	VFMADD231PS Y5, Y4, Y2
	BF16LOAD(48(SI), Y6)
	BF16LOAD(48(DI), Y7)
	VFMADD231PS Y7, Y6, Y3
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         bf16loop

bf16done:
	FDOT_END
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF32AVX2(w, x *float32, n32 int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   n32+16(FP), CX
	SHRQ   $5, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JZ     f32done

f32loop:
	VMOVUPS     0(SI), Y4
	VFMADD231PS 0(DI), Y4, Y0
	VMOVUPS     32(SI), Y5
	VFMADD231PS 32(DI), Y5, Y1
	VMOVUPS     64(SI), Y6
	VFMADD231PS 64(DI), Y6, Y2
	VMOVUPS     96(SI), Y7
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	DECQ        CX
	JNZ         f32loop

f32done:
	FDOT_END
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
