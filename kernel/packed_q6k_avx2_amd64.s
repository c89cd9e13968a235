//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"

// AVX2 kernels over the packed Q6_K layout of packed_q6k.go (no AVX-512: only Y0…Y15 and
// VEX-encoded AVX2/FMA/F16C instructions), bit-identical to refBlockQ6_K and the VNNI kernels.
// Eight weight rows per register, each row's 32-bit lane holding four consecutive elements;
// activations broadcast four bytes at a time. Per sub-block j (16 elements), weight group and
// activation row:
//
//	VPMADDUBSW (q unsigned 0…63 × x signed) for each of the four chunks: int16 pair sums,
//	  |·| ≤ 2·63·128 = 16128, never saturating (x = −128 included);
//	VPADDW of chunks 0+1 and 2+3: |·| ≤ 32256 < 2^15, still exact;
//	VPMADDWD of each with S_j, the rows' sc_j in both int16 halves of the row's lane: multiplies
//	  by the scale and sums the pair into int32 in one instruction; VPADDD into the row's isum.
//
// The −32·Σx_j term does not fit int16 (up to 65536), so it is summed once per super-block:
// −Σx_j (the packed −32·Σx_j >> 5, exact) packed to int16, two sub-blocks per dword, times the
// rows' (sc_j, sc_j+1) pairs with VPMADDWD (eight per activation row), then << 5; the isum
// starts from that. Integer sums are exact in any order, so isum equals refBlockQ6_K's; the
// float steps are then those of refBlockQ6_K and the VNNI kernels: acc += float32(isum) ·
// (d_w · d_x), each product rounded (no FMA).
//
// Cost per sub-block and activation row: 4 broadcasts, 4 VPMADDUBSW, 2 VPADDW, 2 VPMADDWD,
// 2 VPADDD, plus ~2 more for the correction; the unpacking (15) and S_j (2) are shared by the
// activation rows of a pass. The 8×8 tile is one pass (isums of the eight activation rows in
// Y0…Y7, chunks Y8…Y11, S_j Y12, scratch Y13…Y15; float accumulators on the stack): with two
// 8×4 passes each sub-block would be unpacked twice, and the P = 8 record's fields of rows 4…7
// are not one offset from those of rows 0…3. Go operand order is reversed from Intel's:
// VOP src2, src1, dst (VPMADDUBSW x, q, dst: q is the unsigned operand; VPANDN b, a, dst is
// ^a & b).

// q6a2mask: 0x3f bytes (the 6-bit quant of a byte). q6a2dup: VPSHUFB control copying the low
// int16 of each dword into the high one (S_j from the sign-extended scales). q6a2ilv: VPSHUFB
// control interleaving two 8-byte halves (sc_j of rows 0…7 with sc_j+1 of rows 0…7).
DATA q6a2mask<>+0x00(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA q6a2mask<>+0x08(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA q6a2mask<>+0x10(SB)/8, $0x3f3f3f3f3f3f3f3f
DATA q6a2mask<>+0x18(SB)/8, $0x3f3f3f3f3f3f3f3f
GLOBL q6a2mask<>(SB), RODATA|NOPTR, $32

DATA q6a2dup<>+0x00(SB)/8, $0x0504050401000100
DATA q6a2dup<>+0x08(SB)/8, $0x0d0c0d0c09080908
DATA q6a2dup<>+0x10(SB)/8, $0x0504050401000100
DATA q6a2dup<>+0x18(SB)/8, $0x0d0c0d0c09080908
GLOBL q6a2dup<>(SB), RODATA|NOPTR, $32

DATA q6a2ilv<>+0x00(SB)/8, $0x0b030a0209010800
DATA q6a2ilv<>+0x08(SB)/8, $0x0f070e060d050c04
GLOBL q6a2ilv<>(SB), RODATA|NOPTR, $16

// The sub-block loops walk three pointers, sub-block j0 (even) at a time: R8 = w + 144 + 96·j0
// (the quants), R9 = w + 16 + 8·j0 (the scales), R10 = x + 16·j0 (the activation quants); the
// macros' j is 0 or 1 (sub-block j0 + j).

// Q6A2_UNPACK unpacks sub-block j into chunks Y8…Y11 (as UNPACK6 of packed_q6k_amd64.s), with
// the 0x3f mask in m; Y12…Y14 are scratch. Chunks 0…2 are A, B, C &
// 0x3f; chunk 3 is ((A&0xc0 >> 2 | B&0xc0) >> 2 | C&0xc0) >> 2: the masked bits are 6…7 of each
// byte, so the word shifts never move a bit into the byte below.
#define Q6A2_UNPACK(j, m) \
	VMOVDQU (96*j)(R8), Y12;    \
	VMOVDQU (96*j+32)(R8), Y13; \
	VMOVDQU (96*j+64)(R8), Y14; \
	VPAND   m, Y12, Y8;          \
	VPAND   m, Y13, Y9;          \
	VPAND   m, Y14, Y10;         \
	VPANDN  Y12, m, Y12;         \
	VPANDN  Y13, m, Y13;         \
	VPANDN  Y14, m, Y14;         \
	VPSRLW  $2, Y12, Y12;        \
	VPOR    Y13, Y12, Y12;       \
	VPSRLW  $2, Y12, Y12;        \
	VPOR    Y14, Y12, Y12;       \
	VPSRLW  $2, Y12, Y11

// Q6A2_SCALE sets Y12 = S_j: row r's sc_j (int8 sign-extended) in both int16 of lane r; dup is
// the q6a2dup control (memory or register).
#define Q6A2_SCALE(j, dup) \
	VPMOVSXBD (8*j)(R9), Y12; \
	VPSHUFB   dup, Y12, Y12

// Q6A2_COL adds a sub-block of one activation row (its 16 quants at xo(R10)) to the isums ya
// (chunks 0, 1) and yb (chunks 2, 3; the same register in the tiles), with the chunks in
// Y8…Y11 and S_j in Y12; Y13…Y15 are scratch.
#define Q6A2_COL(xo, ya, yb) \
	VPBROADCASTD (xo+0)(R10), Y13;  \
	VPMADDUBSW   Y13, Y8, Y13;     \
	VPBROADCASTD (xo+4)(R10), Y14;  \
	VPMADDUBSW   Y14, Y9, Y14;     \
	VPADDW       Y14, Y13, Y13;    \
	VPMADDWD     Y12, Y13, Y13;    \
	VPADDD       Y13, ya, ya;      \
	VPBROADCASTD (xo+8)(R10), Y14;  \
	VPMADDUBSW   Y14, Y10, Y14;    \
	VPBROADCASTD (xo+12)(R10), Y15; \
	VPMADDUBSW   Y15, Y11, Y15;    \
	VPADDW       Y15, Y14, Y14;    \
	VPMADDWD     Y12, Y14, Y14;    \
	VPADDD       Y14, yb, yb

// Q6A2_XCONV converts one activation row's sixteen −32·Σx_j (int32 at xo(DI)) to int16 −Σx_j
// at so(SP), in VPACKSSDW's order: dwords 0…7 hold the sub-block pairs (0,1) (2,3) (8,9)
// (10,11) (4,5) (6,7) (12,13) (14,15). |Σx_j| ≤ 2048: the shift and the pack are exact.
#define Q6A2_XCONV(xo, so) \
	VMOVDQU   (xo)(DI), Y13;    \
	VMOVDQU   (xo+32)(DI), Y14; \
	VPSRAD    $5, Y13, Y13;     \
	VPSRAD    $5, Y14, Y14;     \
	VPACKSSDW Y14, Y13, Y13;    \
	VMOVDQU   Y13, so(SP)

// Q6A2_PAIR sets yp (xp its low half) to the rows' scale pairs (sc_j, sc_j+1) of sub-blocks
// j, j+1 (j even) as int16 in each row's lane; ilv is the q6a2ilv control.
#define Q6A2_PAIR(j, xp, yp, ilv) \
	VMOVDQU   (16+8*j)(SI), xp; \
	VPSHUFB   ilv, xp, xp;      \
	VPMOVSXBW xp, yp

// Q6A2_CORR0 sets yi to one activation row's correction over a sub-block pair: the pair's −Σx
// (dword at so(SP)) times the scale pairs yp; Q6A2_CORR adds it to yi. t is scratch.
#define Q6A2_CORR0(so, yp, yi) \
	VPBROADCASTD so(SP), yi; \
	VPMADDWD     yp, yi, yi

#define Q6A2_CORR(so, yp, t, yi) \
	VPBROADCASTD so(SP), t; \
	VPMADDWD     yp, t, t;  \
	VPADDD       t, yi, yi

// Q6A2_FIN adds the super-block's isum yi of activation row c to the float accumulator at
// so(SP), with d_w in Y8 (float32); yt is scratch. The order of FIN8 in packed_q6k_amd64.s.
#define Q6A2_FIN(c, yi, so, yt) \
	VCVTDQ2PS    yi, yi;             \
	VBROADCASTSS (2048+4*c)(DI), yt; \
	VMULPS       Y8, yt, yt;         \
	VMULPS       yt, yi, yi;         \
	VADDPS       so(SP), yi, yi;     \
	VMOVUPS      yi, so(SP)

// Packed activation record offsets (P = 8): quants of row c at 256c (sub-block j at +16j),
// d_x at 2048+4c, −32·Σx_j at 2208+64c+4j; a record is 2720 bytes. Stack frame of
// gemmQ6_Kx8x8AVX2: the rows' −Σx pairs at 32c, float accumulators at 256+32c.

// Q6A2_SUB8 and Q6A2_SUB4 add sub-block j0 + j to the isums Y0…Y7 of the eight activation rows
// (Y0…Y3 of the first four).
#define Q6A2_SUB8(j) \
	VMOVDQU q6a2mask<>(SB), Y15;           \
	Q6A2_UNPACK(j, Y15);                   \
	Q6A2_SCALE(j, q6a2dup<>(SB));          \
	Q6A2_COL(256*0+16*j, Y0, Y0);          \
	Q6A2_COL(256*1+16*j, Y1, Y1);          \
	Q6A2_COL(256*2+16*j, Y2, Y2);          \
	Q6A2_COL(256*3+16*j, Y3, Y3);          \
	Q6A2_COL(256*4+16*j, Y4, Y4);          \
	Q6A2_COL(256*5+16*j, Y5, Y5);          \
	Q6A2_COL(256*6+16*j, Y6, Y6);          \
	Q6A2_COL(256*7+16*j, Y7, Y7)

#define Q6A2_SUB4(j) \
	VMOVDQU q6a2mask<>(SB), Y15;           \
	Q6A2_UNPACK(j, Y15);                   \
	Q6A2_SCALE(j, q6a2dup<>(SB));          \
	Q6A2_COL(256*0+16*j, Y0, Y0);          \
	Q6A2_COL(256*1+16*j, Y1, Y1);          \
	Q6A2_COL(256*2+16*j, Y2, Y2);          \
	Q6A2_COL(256*3+16*j, Y3, Y3)

// Q6A2_CORRHALF0 sets yi to activation row c's correction over sub-blocks 0…7 (scale pairs in
// Y8…Y11, −Σx pairs at 32c(SP)); Q6A2_CORRHALF1 adds sub-blocks 8…15 and multiplies by 32
// (exact: |Σ_j sc_j·Σx_j| ≤ 16·128·2048 = 2^22). Y12…Y15 are scratch.
#define Q6A2_CORRHALF0(c, yi) \
	Q6A2_CORR0(32*c+0, Y8, yi);      \
	Q6A2_CORR(32*c+4, Y9, Y12, yi);  \
	Q6A2_CORR(32*c+16, Y10, Y13, yi); \
	Q6A2_CORR(32*c+20, Y11, Y14, yi)

#define Q6A2_CORRHALF1(c, yi) \
	Q6A2_CORR(32*c+8, Y8, Y12, yi);   \
	Q6A2_CORR(32*c+12, Y9, Y13, yi);  \
	Q6A2_CORR(32*c+24, Y10, Y14, yi); \
	Q6A2_CORR(32*c+28, Y11, Y15, yi); \
	VPSLLD $5, yi, yi

// Q6A2_PAIRS0 and Q6A2_PAIRS1 load the scale pairs of sub-blocks 0…7 and 8…15 into Y8…Y11.
#define Q6A2_PAIRS0 \
	Q6A2_PAIR(0, X8, Y8, q6a2ilv<>(SB));   \
	Q6A2_PAIR(2, X9, Y9, q6a2ilv<>(SB));   \
	Q6A2_PAIR(4, X10, Y10, q6a2ilv<>(SB)); \
	Q6A2_PAIR(6, X11, Y11, q6a2ilv<>(SB))

#define Q6A2_PAIRS1 \
	Q6A2_PAIR(8, X8, Y8, q6a2ilv<>(SB));   \
	Q6A2_PAIR(10, X9, Y9, q6a2ilv<>(SB));  \
	Q6A2_PAIR(12, X10, Y10, q6a2ilv<>(SB)); \
	Q6A2_PAIR(14, X11, Y11, q6a2ilv<>(SB))

#define Q6A2_PREFETCH \
	PREFETCHT0 4096(SI); \
	PREFETCHT0 4160(SI); \
	PREFETCHT0 4224(SI); \
	PREFETCHT0 4288(SI); \
	PREFETCHT0 4352(SI); \
	PREFETCHT0 4416(SI); \
	PREFETCHT0 4480(SI); \
	PREFETCHT0 4544(SI); \
	PREFETCHT0 4608(SI); \
	PREFETCHT0 4672(SI); \
	PREFETCHT0 4736(SI); \
	PREFETCHT0 4800(SI); \
	PREFETCHT0 4864(SI); \
	PREFETCHT0 4928(SI); \
	PREFETCHT0 4992(SI); \
	PREFETCHT0 5056(SI); \
	PREFETCHT0 5120(SI); \
	PREFETCHT0 5184(SI); \
	PREFETCHT0 5248(SI); \
	PREFETCHT0 5312(SI); \
	PREFETCHT0 5376(SI); \
	PREFETCHT0 5440(SI); \
	PREFETCHT0 5504(SI); \
	PREFETCHT0 5568(SI); \
	PREFETCHT0 5632(SI); \
	PREFETCHT0 5696(SI); \
	PREFETCHT0 5760(SI)

// func gemmQ6_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)
// Eight weight rows (one packed group, nb super-blocks) × eight activation rows (one P = 8
// group): out[c·os + r] for r, c < 8 (os in float32s). One pass: the isums of all eight rows
// in Y0…Y7 (each sub-block unpacked once for eight activation rows), the float accumulators
// on the stack.
TEXT ·gemmQ6_Kx8x8AVX2(SB), NOSPLIT, $512-40
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	FRAMEZERO8(256)

q6a2x8loop:
	Q6A2_PREFETCH
	Q6A2_XCONV(2208+64*0, 0)
	Q6A2_XCONV(2208+64*1, 32)
	Q6A2_XCONV(2208+64*2, 64)
	Q6A2_XCONV(2208+64*3, 96)
	Q6A2_XCONV(2208+64*4, 128)
	Q6A2_XCONV(2208+64*5, 160)
	Q6A2_XCONV(2208+64*6, 192)
	Q6A2_XCONV(2208+64*7, 224)
	Q6A2_PAIRS0
	Q6A2_CORRHALF0(0, Y0)
	Q6A2_CORRHALF0(1, Y1)
	Q6A2_CORRHALF0(2, Y2)
	Q6A2_CORRHALF0(3, Y3)
	Q6A2_CORRHALF0(4, Y4)
	Q6A2_CORRHALF0(5, Y5)
	Q6A2_CORRHALF0(6, Y6)
	Q6A2_CORRHALF0(7, Y7)
	Q6A2_PAIRS1
	Q6A2_CORRHALF1(0, Y0)
	Q6A2_CORRHALF1(1, Y1)
	Q6A2_CORRHALF1(2, Y2)
	Q6A2_CORRHALF1(3, Y3)
	Q6A2_CORRHALF1(4, Y4)
	Q6A2_CORRHALF1(5, Y5)
	Q6A2_CORRHALF1(6, Y6)
	Q6A2_CORRHALF1(7, Y7)
	LEAQ 144(SI), R8
	LEAQ 16(SI), R9
	MOVQ DI, R10
	MOVQ $8, R11

q6a2x8sub:
	Q6A2_SUB8(0)
	Q6A2_SUB8(1)
	ADDQ $192, R8
	ADDQ $16, R9
	ADDQ $32, R10
	DECQ R11
	JNZ  q6a2x8sub
	VCVTPH2PS (SI), Y8
	Q6A2_FIN(0, Y0, 256, Y9)
	Q6A2_FIN(1, Y1, 288, Y10)
	Q6A2_FIN(2, Y2, 320, Y11)
	Q6A2_FIN(3, Y3, 352, Y12)
	Q6A2_FIN(4, Y4, 384, Y9)
	Q6A2_FIN(5, Y5, 416, Y10)
	Q6A2_FIN(6, Y6, 448, Y11)
	Q6A2_FIN(7, Y7, 480, Y12)
	ADDQ $1680, SI
	ADDQ $2720, DI
	DECQ CX
	JNZ  q6a2x8loop

	FRAMELOAD8(256)
	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE8
	VZEROUPPER
	RET

// func gemm4Q6_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)
// gemmQ6_Kx8x8AVX2 for the first four activation rows of the group only: out[c·os + r] for
// r < 8, c < 4. Stack frame: the −Σx pairs at 32c, float accumulators at 128+32c.
TEXT ·gemm4Q6_Kx8x8AVX2(SB), NOSPLIT, $256-40
	MOVQ    w+0(FP), SI
	MOVQ    x+8(FP), DI
	MOVQ    nb+16(FP), CX
	FRAMEZERO4(128)

q6a2x4loop:
	Q6A2_PREFETCH
	Q6A2_XCONV(2208+64*0, 0)
	Q6A2_XCONV(2208+64*1, 32)
	Q6A2_XCONV(2208+64*2, 64)
	Q6A2_XCONV(2208+64*3, 96)
	Q6A2_PAIRS0
	Q6A2_CORRHALF0(0, Y0)
	Q6A2_CORRHALF0(1, Y1)
	Q6A2_CORRHALF0(2, Y2)
	Q6A2_CORRHALF0(3, Y3)
	Q6A2_PAIRS1
	Q6A2_CORRHALF1(0, Y0)
	Q6A2_CORRHALF1(1, Y1)
	Q6A2_CORRHALF1(2, Y2)
	Q6A2_CORRHALF1(3, Y3)
	LEAQ 144(SI), R8
	LEAQ 16(SI), R9
	MOVQ DI, R10
	MOVQ $8, R11

q6a2x4sub:
	Q6A2_SUB4(0)
	Q6A2_SUB4(1)
	ADDQ $192, R8
	ADDQ $16, R9
	ADDQ $32, R10
	DECQ R11
	JNZ  q6a2x4sub
	VCVTPH2PS (SI), Y8
	Q6A2_FIN(0, Y0, 128, Y9)
	Q6A2_FIN(1, Y1, 160, Y10)
	Q6A2_FIN(2, Y2, 192, Y11)
	Q6A2_FIN(3, Y3, 224, Y12)
	ADDQ $1680, SI
	ADDQ $2720, DI
	DECQ CX
	JNZ  q6a2x4loop

	FRAMELOAD4(128)
	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE4
	VZEROUPPER
	RET

// Packed activation record offsets (P = 1): quants at 0 (sub-block j at 16j), d_x at 256,
// −32·Σx_j at 276+4j; a record is 340 bytes. Registers of gemvQ6_Kx8AVX2: Y0 the float
// accumulator, Y1 and Y2 the isum (chunks 0, 1 and 2, 3; added at the end, integer so exact),
// Y5 = q6a2ilv, Y6 = q6a2dup, Y7 = 0x3f bytes.

// Q6A2_SUB1 adds sub-block j to the isums Y1, Y2.
#define Q6A2_SUB1(j) \
	Q6A2_UNPACK(j, Y7);  \
	Q6A2_SCALE(j, Y6);   \
	Q6A2_COL(16*j, Y1, Y2)

// func gemvQ6_Kx8AVX2(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight weight rows (nb super-blocks each, one after another) × one
// activation row (P = 1): out[8g + r]. The row's −Σx pairs are at 0(SP).
TEXT ·gemvQ6_Kx8AVX2(SB), NOSPLIT, $32-40
	MOVQ    w+0(FP), SI
	MOVQ    groups+24(FP), BX
	MOVQ    out+32(FP), DX
	VMOVDQU q6a2ilv<>(SB), X5
	VMOVDQU q6a2dup<>(SB), Y6
	VMOVDQU q6a2mask<>(SB), Y7

q6a2gvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q6a2gvloop:
	// The correction: scale pairs in Y8…Y15, −Σx pairs at 0(SP).
	Q6A2_XCONV(276, 0)
	Q6A2_PAIR(0, X8, Y8, X5)
	Q6A2_PAIR(2, X9, Y9, X5)
	Q6A2_PAIR(4, X10, Y10, X5)
	Q6A2_PAIR(6, X11, Y11, X5)
	Q6A2_PAIR(8, X12, Y12, X5)
	Q6A2_PAIR(10, X13, Y13, X5)
	Q6A2_PAIR(12, X14, Y14, X5)
	Q6A2_PAIR(14, X15, Y15, X5)
	Q6A2_CORR0(0, Y8, Y1)
	Q6A2_CORR0(4, Y9, Y2)
	Q6A2_CORR(16, Y10, Y3, Y1)
	Q6A2_CORR(20, Y11, Y4, Y2)
	Q6A2_CORR(8, Y12, Y3, Y1)
	Q6A2_CORR(12, Y13, Y4, Y2)
	Q6A2_CORR(24, Y14, Y3, Y1)
	Q6A2_CORR(28, Y15, Y4, Y2)
	VPSLLD $5, Y1, Y1
	VPSLLD $5, Y2, Y2
	LEAQ 144(SI), R8
	LEAQ 16(SI), R9
	MOVQ DI, R10
	MOVQ $8, R11

q6a2gvsub:
	Q6A2_SUB1(0)
	Q6A2_SUB1(1)
	ADDQ $192, R8
	ADDQ $16, R9
	ADDQ $32, R10
	DECQ R11
	JNZ  q6a2gvsub
	VPADDD       Y2, Y1, Y1
	VCVTDQ2PS    Y1, Y1
	VCVTPH2PS    (SI), Y3
	VBROADCASTSS 256(DI), Y4
	VMULPS       Y3, Y4, Y4
	VMULPS       Y4, Y1, Y1
	VADDPS       Y1, Y0, Y0
	ADDQ         $1680, SI
	ADDQ         $340, DI
	DECQ         CX
	JNZ          q6a2gvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q6a2gvgroup
	VZEROUPPER
	RET
