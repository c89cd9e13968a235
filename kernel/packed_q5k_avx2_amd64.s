//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"
#include "kquant_avx2_amd64.h"

// AVX2 kernels (VEX only: Y0…Y15, no AVX-512) over the packed Q5_K layout of packed_q5k.go and
// K-quant packed activations (packed.go, packActK), for CPUs without AVX512-VNNI; the same
// results as the VNNI kernels (packed_q5k_amd64.s) and refBlockQ5_K, bit for bit.
//
// Per sub-block s (32 elements) the five 32-byte vectors V0…V4 unpack into the eight chunk
// registers (chunk c: elements 32s+4c … +3 of the eight rows, one byte each, 0…31): c0…c4 =
// V0…V4 & 0x1f; c5 = (V0 >> 5) & 0x07 | (V3 >> 2) & 0x18; c6 likewise from V1, V4; c7 =
// (V2 >> 5) & 0x07 | (V3 >> 4) & 0x08 | (V4 >> 3) & 0x10 (word shifts: the AND drops the bits a
// shift brings in from the neighbouring byte). AVX2 has no VPTERNLOGD, so each merge is an AND
// per operand and a VPOR: twenty-three instructions per sub-block.
//
// Integer part, per sub-block, activation row and eight weight rows: VPMADDUBSW multiplies a
// chunk (unsigned 0…31) with the row's four activation bytes broadcast (signed −128…127) into
// two int16 pair sums per lane, |pair| ≤ 2·31·128 = 7936, so it never saturates; VPADDW sums
// four chunks in int16, |sum| ≤ 4·7936 = 31744 < 2^15, exact (eight would not fit). Per half
// sub-block (chunks 0…3, 4…7) one VPMADDWD with the rows' sc_s in both int16 halves of each
// lane adds the halves and multiplies by sc_s in int32, and VPADDD adds that to the rows' isum.
// Per super-block VPMADDWD of the rows' int16 (m_2p, m_2p+1) pairs with the activation sums
// (Σx_2p, Σx_2p+1) forms imin. All exact, so isum and imin equal the reference's.
//
// Float part, as refBlockQ5_K and the VNNI kernels: acc += float32(isum)·(d·d_x), then
// acc −= float32(imin)·(dmin·d_x), each product a separate VMULPS (rounded to float32, no FMA),
// super-blocks in order into one float32 accumulator per output starting at 0.
//
// The 8×8 tile does not fit sixteen registers, so gemm runs the 8×4 pass (gemm4) twice over the
// same weights (the second from L1), for activation rows 0…3 and 4…7. (One pass unpacking each
// sub-block once for eight rows, as the Q4_K gemm does, was no faster: its isums must live in
// the frame, and Q5_K's two int16 halves per sub-block double that traffic.)
// Go operand order is reversed from Intel's: VOP src2, src1, dst.

// q5kA2Sc0<>/q5kA2Sc1<>: VPSHUFB controls that put scale byte 2r+t (t = 0, 1: sub-block 2p+t) of
// a 16-byte scale pair row (in both 128-bit lanes) into both int16 halves of row r's dword,
// zero-extended (0x80 gives zero); the low lane holds rows 0…3, the high lane rows 4…7. An AND
// with 0x3f then drops the bits of m >> 4.
DATA q5kA2Sc0<>+0x00(SB)/8, $0x8002800280008000
DATA q5kA2Sc0<>+0x08(SB)/8, $0x8006800680048004
DATA q5kA2Sc0<>+0x10(SB)/8, $0x800a800a80088008
DATA q5kA2Sc0<>+0x18(SB)/8, $0x800e800e800c800c
GLOBL q5kA2Sc0<>(SB), RODATA|NOPTR, $32

DATA q5kA2Sc1<>+0x00(SB)/8, $0x8003800380018001
DATA q5kA2Sc1<>+0x08(SB)/8, $0x8007800780058005
DATA q5kA2Sc1<>+0x10(SB)/8, $0x800b800b80098009
DATA q5kA2Sc1<>+0x18(SB)/8, $0x800f800f800d800d
GLOBL q5kA2Sc1<>(SB), RODATA|NOPTR, $32

// Byte masks: 0x1f, 0x07, 0x18, 0x08, 0x10, 0x3f, 0x0f, 0x30 (32 bytes each).
#define Q5A2MASK(name, q) \
	DATA name+0x00(SB)/8, q; \
	DATA name+0x08(SB)/8, q; \
	DATA name+0x10(SB)/8, q; \
	DATA name+0x18(SB)/8, q; \
	GLOBL name(SB), RODATA|NOPTR, $32

Q5A2MASK(q5kA2M1f<>, $0x1f1f1f1f1f1f1f1f)
Q5A2MASK(q5kA2M07<>, $0x0707070707070707)
Q5A2MASK(q5kA2M18<>, $0x1818181818181818)
Q5A2MASK(q5kA2M08<>, $0x0808080808080808)
Q5A2MASK(q5kA2M10<>, $0x1010101010101010)
Q5A2MASK(q5kA2M3f<>, $0x3f3f3f3f3f3f3f3f)
Q5A2MASK(q5kA2M0f<>, $0x0f0f0f0f0f0f0f0f)
Q5A2MASK(q5kA2M30<>, $0x3030303030303030)

// Chunk loaders: chunk c of sub-block s of the weight record at SI into yc (t scratch). V_i of
// sub-block s is at 128+160s+32i. The masks Q5M1F, Q5M07, Q5M18 and Q5M3F are registers (the
// tiles' and gemv's differ), Q5M08 and Q5M10 memory operands.
#define Q5M1F Y0
#define Q5M07 Y1
#define Q5M18 Y2
#define Q5M3F Y3
#define Q5M08 q5kA2M08<>(SB)
#define Q5M10 q5kA2M10<>(SB)

#define Q5A2C(s, i, yc, t) \
	VPAND (128+160*(s)+32*(i))(SI), Q5M1F, yc

// Q5A2C56 forms chunk 5 (a = 0, b = 3) or 6 (a = 1, b = 4): (V_a >> 5) & 7 | (V_b >> 2) & 0x18.
#define Q5A2C56(s, a, b, yc, t) \
	VMOVDQU (128+160*(s)+32*(a))(SI), yc; \
	VPSRLW  $5, yc, yc;                   \
	VPAND   Q5M07, yc, yc;       \
	VMOVDQU (128+160*(s)+32*(b))(SI), t;  \
	VPSRLW  $2, t, t;                     \
	VPAND   Q5M18, t, t;         \
	VPOR    t, yc, yc

#define Q5A2C5(s, i, yc, t) Q5A2C56(s, 0, 3, yc, t)
#define Q5A2C6(s, i, yc, t) Q5A2C56(s, 1, 4, yc, t)

// Q5A2C7 forms chunk 7: (V2 >> 5) & 7 | (V3 >> 4) & 8 | (V4 >> 3) & 0x10.
#define Q5A2C7(s, i, yc, t) \
	VMOVDQU (192+160*(s))(SI), yc;  \
	VPSRLW  $5, yc, yc;             \
	VPAND   Q5M07, yc, yc; \
	VMOVDQU (224+160*(s))(SI), t;   \
	VPSRLW  $4, t, t;               \
	VPAND   Q5M08, t, t;   \
	VPOR    t, yc, yc;              \
	VMOVDQU (256+160*(s))(SI), t;   \
	VPSRLW  $3, t, t;               \
	VPAND   Q5M10, t, t;   \
	VPOR    t, yc, yc

// Q5A2SCALE loads the rows' sc_2p+t (sub-block s = 2p+t) into both int16 halves of each dword
// of ys.
#define Q5A2SCALE(p, SC, ys) \
	VBROADCASTI128 (32+16*(p))(SI), ys; \
	VPSHUFB        SC(SB), ys, ys;      \
	VPAND          Q5M3F, ys, ys

// Q5A2MINS builds the rows' int16 (m_2p, m_2p+1) pairs of pair p = 0…3 in m0…m3: (scale byte >> 2)
// & 0x30 (the two top bits of m at bits 4…5) | the low nibble (p even) or high nibble (p odd) of
// the mins byte; n, t scratch.
#define Q5A2MINS(m0, m1, m2, m3, n, t) \
	VPMOVZXBW 96(SI), n;              \
	VPMOVZXBW 32(SI), m0;             \
	VPSRLW    $2, m0, m0;             \
	VPAND     q5kA2M30<>(SB), m0, m0; \
	VPAND     q5kA2M0f<>(SB), n, t;   \
	VPOR      t, m0, m0;              \
	VPMOVZXBW 48(SI), m1;             \
	VPSRLW    $2, m1, m1;             \
	VPAND     q5kA2M30<>(SB), m1, m1; \
	VPSRLW    $4, n, t;               \
	VPOR      t, m1, m1;              \
	VPMOVZXBW 112(SI), n;             \
	VPMOVZXBW 64(SI), m2;             \
	VPSRLW    $2, m2, m2;             \
	VPAND     q5kA2M30<>(SB), m2, m2; \
	VPAND     q5kA2M0f<>(SB), n, t;   \
	VPOR      t, m2, m2;              \
	VPMOVZXBW 80(SI), m3;             \
	VPSRLW    $2, m3, m3;             \
	VPAND     q5kA2M30<>(SB), m3, m3; \
	VPSRLW    $4, n, t;               \
	VPOR      t, m3, m3

// ---- 8 weight rows × 4 activation rows (gemm4, and gemm's two passes) ----
//
// Registers: Y0…Y3 the masks 0x1f, 0x07, 0x18, 0x3f (reloaded per super-block: the
// epilogue's scratch), Y4…Y7 the int32 isums of activation rows 0…3, Y8…Y11 their int16 sums
// of the current half sub-block, Y12 the chunk, Y13 and Y14 scratch, Y15 the sub-block's
// scales; the float accs of rows 0…3 live in the frame at 32c(SP), loaded into Y0…Y3 for the
// epilogue only (the masks in registers instead were worth about 10%). SI weight record, DI quants of the pass's activation row 0 (row c at
// 256c), R8 its d_x (row c at 4c), R9 its Σx per 32 (row c at 16c, 8 × int16).

// Q5A2FIRST sets int16 sum y of activation row c to chunk k's products; KA2NEXT adds them.
#define Q5A2FIRST(s, k, c, y) \
	VPBROADCASTD (256*(c)+32*(s)+4*(k))(DI), Y13; \
	VPMADDUBSW   Y13, Y12, y

// Q5A2HALF forms the int16 sums of chunks k0 … k0+3 (loaders L0…L3) of sub-block s in Y8…Y11.
#define Q5A2HALF(s, k0, L0, L1, L2, L3) \
	L0(s, k0, Y12, Y14);          \
	Q5A2FIRST(s, k0, 0, Y8);      \
	Q5A2FIRST(s, k0, 1, Y9);      \
	Q5A2FIRST(s, k0, 2, Y10);     \
	Q5A2FIRST(s, k0, 3, Y11);     \
	L1(s, k0+1, Y12, Y14);        \
	KA2NEXT(s, k0+1, 0, Y8);     \
	KA2NEXT(s, k0+1, 1, Y9);     \
	KA2NEXT(s, k0+1, 2, Y10);    \
	KA2NEXT(s, k0+1, 3, Y11);    \
	L2(s, k0+2, Y12, Y14);        \
	KA2NEXT(s, k0+2, 0, Y8);     \
	KA2NEXT(s, k0+2, 1, Y9);     \
	KA2NEXT(s, k0+2, 2, Y10);    \
	KA2NEXT(s, k0+2, 3, Y11);    \
	L3(s, k0+3, Y12, Y14);        \
	KA2NEXT(s, k0+3, 0, Y8);     \
	KA2NEXT(s, k0+3, 1, Y9);     \
	KA2NEXT(s, k0+3, 2, Y10);    \
	KA2NEXT(s, k0+3, 3, Y11)

// Q5A2SET sets the isums Y4…Y7 to sc·(Y8…Y11); Q5A2ADD adds it.
#define Q5A2SET \
	VPMADDWD Y15, Y8, Y4;  \
	VPMADDWD Y15, Y9, Y5;  \
	VPMADDWD Y15, Y10, Y6; \
	VPMADDWD Y15, Y11, Y7

#define Q5A2ADD \
	VPMADDWD Y15, Y8, Y8;   \
	VPMADDWD Y15, Y9, Y9;   \
	VPMADDWD Y15, Y10, Y10; \
	VPMADDWD Y15, Y11, Y11; \
	VPADDD   Y8, Y4, Y4;    \
	VPADDD   Y9, Y5, Y5;    \
	VPADDD   Y10, Y6, Y6;   \
	VPADDD   Y11, Y7, Y7

// Q5A2SUB adds sub-block s (pair p, scale control SC) to the isums; FIRSTHALF is Q5A2SET for
// sub-block 0 (the isums start there), else Q5A2ADD.
#define Q5A2SUB(s, p, SC, FIRSTHALF) \
	Q5A2SCALE(p, SC, Y15);                               \
	Q5A2HALF(s, 0, Q5A2C, Q5A2C, Q5A2C, Q5A2C);          \
	FIRSTHALF;                                           \
	Q5A2HALF(s, 4, Q5A2C, Q5A2C5, Q5A2C6, Q5A2C7);       \
	Q5A2ADD

// Q5A2FINM is KA2FIN with acc c loaded from and stored back to the frame.
#define Q5A2FINM(c, yi, ya) \
	VMOVUPS (32*(c))(SP), ya; \
	KA2FIN(c, yi, ya);       \
	VMOVUPS ya, (32*(c))(SP)

// Q5A2PASS runs one 8×4 pass: SI = w, DI/R8/R9 the pass's activation pointers (see above),
// CX = nb; it leaves the four outputs in Y0…Y3 and advances SI, DI, R8, R9 past the group.
#define Q5A2PASS(loop) \
	FRAMEZERO4(0);        \
loop:                 \
	VMOVDQU q5kA2M1f<>(SB), Y0; \
	VMOVDQU q5kA2M07<>(SB), Y1; \
	VMOVDQU q5kA2M18<>(SB), Y2; \
	VMOVDQU q5kA2M3f<>(SB), Y3; \
	PREFETCHT0 4096(SI);    \
	PREFETCHT0 4160(SI);    \
	PREFETCHT0 4224(SI);    \
	PREFETCHT0 4288(SI);    \
	PREFETCHT0 4352(SI);    \
	PREFETCHT0 4416(SI);    \
	PREFETCHT0 4480(SI);    \
	PREFETCHT0 4544(SI);    \
	PREFETCHT0 4608(SI);    \
	PREFETCHT0 4672(SI);    \
	PREFETCHT0 4736(SI);    \
	PREFETCHT0 4800(SI);    \
	PREFETCHT0 4864(SI);    \
	PREFETCHT0 4928(SI);    \
	PREFETCHT0 4992(SI);    \
	PREFETCHT0 5056(SI);    \
	PREFETCHT0 5120(SI);    \
	PREFETCHT0 5184(SI);    \
	PREFETCHT0 5248(SI);    \
	PREFETCHT0 5312(SI);    \
	PREFETCHT0 5376(SI);    \
	PREFETCHT0 5440(SI);    \
	Q5A2SUB(0, 0, q5kA2Sc0<>, Q5A2SET); \
	Q5A2SUB(1, 0, q5kA2Sc1<>, Q5A2ADD); \
	Q5A2SUB(2, 1, q5kA2Sc0<>, Q5A2ADD); \
	Q5A2SUB(3, 1, q5kA2Sc1<>, Q5A2ADD); \
	Q5A2SUB(4, 2, q5kA2Sc0<>, Q5A2ADD); \
	Q5A2SUB(5, 2, q5kA2Sc1<>, Q5A2ADD); \
	Q5A2SUB(6, 3, q5kA2Sc0<>, Q5A2ADD); \
	Q5A2SUB(7, 3, q5kA2Sc1<>, Q5A2ADD); \
	Q5A2MINS(Y8, Y9, Y10, Y11, Y12, Y13); \
	VCVTPH2PS (SI), Y12;    \
	VCVTPH2PS 16(SI), Y13;  \
	Q5A2FINM(0, Y4, Y0);    \
	Q5A2FINM(1, Y5, Y1);    \
	Q5A2FINM(2, Y6, Y2);    \
	Q5A2FINM(3, Y7, Y3);    \
	ADDQ      $1408, SI;    \
	ADDQ      $2720, DI;    \
	ADDQ      $2720, R8;    \
	ADDQ      $2720, R9;    \
	DECQ      CX;           \
	JNZ       loop;         \
	FRAMELOAD4(0)

// func gemm4Q5_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)
// Eight Q5_K weight rows (one packed group, nb super-blocks) × the first four activation rows
// of a P = 8 group: out[c·os + r] for r < 8, c < 4 (os in float32s); nothing else is written.
TEXT ·gemm4Q5_Kx8x8AVX2(SB), NOSPLIT, $128-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	LEAQ 2048(DI), R8
	LEAQ 2080(DI), R9
	Q5A2PASS(q5ka2x4loop)
	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE4
	VZEROUPPER
	RET

// func gemmQ5_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)
// Eight Q5_K weight rows × eight activation rows (one P = 8 group): out[c·os + r] for r, c < 8,
// as two 8×4 passes over the group's weights (activation rows 0…3, then 4…7).
TEXT ·gemmQ5_Kx8x8AVX2(SB), NOSPLIT, $128-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	LEAQ 2048(DI), R8
	LEAQ 2080(DI), R9
	Q5A2PASS(q5ka2x8loop1)
	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE4

	// Second pass: activation rows 4…7 (quants at 256·4, d_x at 4·4, Σx at 16·4 past the
	// first's), outputs from out + 4·os.
	ADDQ AX, DX
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	LEAQ (2048+16)(DI), R8
	LEAQ (2080+64)(DI), R9
	ADDQ $1024, DI
	Q5A2PASS(q5ka2x8loop2)
	STORE4
	VZEROUPPER
	RET

// ---- 8 weight rows × one activation row (gemv) ----
//
// P = 1 activation record (340 bytes): quants at 0 (sub-block s at 32s), d_x at 256, Σx per 32
// (8 × int16) at 260. Registers: Y0 acc, Y1 isum, Y2 imin; per sub-block Y3 the chunk, Y4
// scratch, Y5 the broadcast activations, Y6/Y7 the int16 sums of chunks 0…3 / 4…7, Y8 the
// scales.

// Masks in registers: Y15 0x1f, Y14 0x07, Y13 0x18, Y12 0x3f (Y9…Y11 are free).
#undef Q5M1F
#undef Q5M07
#undef Q5M18
#undef Q5M3F
#define Q5M1F Y15
#define Q5M07 Y14
#define Q5M18 Y13
#define Q5M3F Y12

// Q5A1CH adds chunk k (loader L) of sub-block s to int16 sum y (FIRST: sets it).
#define Q5A1FIRST(s, k, L, y) \
	L(s, k, Y3, Y4);                   \
	VPBROADCASTD (32*(s)+4*(k))(DI), Y5; \
	VPMADDUBSW   Y5, Y3, y

#define Q5A1NEXT(s, k, L, y) \
	L(s, k, Y3, Y4);                   \
	VPBROADCASTD (32*(s)+4*(k))(DI), Y5; \
	VPMADDUBSW   Y5, Y3, Y5;           \
	VPADDW       Y5, y, y

// Q5A1SUB adds sub-block s (pair p, scale control SC) to isum Y1.
#define Q5A1SUB(s, p, SC) \
	Q5A1FIRST(s, 0, Q5A2C, Y6);  \
	Q5A1FIRST(s, 4, Q5A2C, Y7);  \
	Q5A1NEXT(s, 1, Q5A2C, Y6);   \
	Q5A1NEXT(s, 5, Q5A2C5, Y7);  \
	Q5A1NEXT(s, 2, Q5A2C, Y6);   \
	Q5A1NEXT(s, 6, Q5A2C6, Y7);  \
	Q5A1NEXT(s, 3, Q5A2C, Y6);   \
	Q5A1NEXT(s, 7, Q5A2C7, Y7);  \
	Q5A2SCALE(p, SC, Y8);        \
	VPMADDWD Y8, Y6, Y6;         \
	VPMADDWD Y8, Y7, Y7;         \
	VPADDD   Y6, Y1, Y1;         \
	VPADDD   Y7, Y1, Y1

// func gemvQ5_Kx8AVX2(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight Q5_K rows (nb super-blocks each, one after another) × one
// activation row (P = 1): out[8g + r].
TEXT ·gemvQ5_Kx8AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX
	VMOVDQU q5kA2M1f<>(SB), Y15
	VMOVDQU q5kA2M07<>(SB), Y14
	VMOVDQU q5kA2M18<>(SB), Y13
	VMOVDQU q5kA2M3f<>(SB), Y12

q5ka2gvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q5ka2gvloop:
	VPXOR        Y1, Y1, Y1
	Q5A1SUB(0, 0, q5kA2Sc0<>)
	Q5A1SUB(1, 0, q5kA2Sc1<>)
	Q5A1SUB(2, 1, q5kA2Sc0<>)
	Q5A1SUB(3, 1, q5kA2Sc1<>)
	Q5A1SUB(4, 2, q5kA2Sc0<>)
	Q5A1SUB(5, 2, q5kA2Sc1<>)
	Q5A1SUB(6, 3, q5kA2Sc0<>)
	Q5A1SUB(7, 3, q5kA2Sc1<>)
	Q5A2MINS(Y8, Y9, Y10, Y11, Y3, Y4)
	VPBROADCASTD 260(DI), Y3
	VPMADDWD     Y8, Y3, Y2
	VPBROADCASTD 264(DI), Y4
	VPMADDWD     Y9, Y4, Y4
	VPBROADCASTD 268(DI), Y5
	VPMADDWD     Y10, Y5, Y5
	VPBROADCASTD 272(DI), Y6
	VPMADDWD     Y11, Y6, Y6
	VPADDD       Y4, Y2, Y2
	VPADDD       Y6, Y5, Y5
	VPADDD       Y5, Y2, Y2
	VBROADCASTSS 256(DI), Y7
	VCVTPH2PS    (SI), Y3
	VMULPS       Y7, Y3, Y3
	VCVTDQ2PS    Y1, Y1
	VMULPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0
	VCVTPH2PS    16(SI), Y4
	VMULPS       Y7, Y4, Y4
	VCVTDQ2PS    Y2, Y2
	VMULPS       Y4, Y2, Y2
	VSUBPS       Y2, Y0, Y0
	ADDQ         $1408, SI
	ADDQ         $340, DI
	DECQ         CX
	JNZ          q5ka2gvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q5ka2gvgroup
	VZEROUPPER
	RET
