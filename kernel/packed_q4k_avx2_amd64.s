//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"
#include "kquant_avx2_amd64.h"

// AVX2 kernels (VEX only: Y0…Y15, no AVX-512) over packed Q4_K (packed_q4k.go) and K-quant
// packed activations (packed.go, packActK), for CPUs without AVX512-VNNI; the same results as
// the VNNI kernels (packed_q4k_amd64.s) and refBlockQ4_K, bit for bit.
//
// Integer part, per sub-block s, activation row and eight weight rows: for each chunk k (four
// elements of each row's 32-bit lane) VPMADDUBSW multiplies the nibbles (unsigned 0…15) with
// the row's four activation bytes broadcast (signed −128…127) into two int16 pair sums per
// lane, |pair| ≤ 2·15·128 = 3840, so it never saturates; VPADDW sums the eight chunks in int16,
// |sum| ≤ 8·3840 = 30720 < 2^15, exact. One VPMADDWD with the rows' sc_s in both int16 halves
// of each lane (VPSHUFB of the scale bytes) then adds the two halves and multiplies by sc_s in
// int32, and VPADDD adds that to the rows' isum. Per super-block VPMADDWD of the rows' int16
// (m_2p, m_2p+1) pairs with the activation sums (Σx_2p, Σx_2p+1) forms imin exactly. All of
// this is exact integer arithmetic, so isum and imin equal the reference's.
//
// Float part, as refBlockQ4_K and the VNNI kernels: acc += float32(isum)·(d·d_x), then
// acc −= float32(imin)·(dmin·d_x), each product a separate VMULPS (rounded to float32, no FMA),
// super-blocks in order into one float32 accumulator per output starting at 0.
//
// Shapes: gemm4 is an 8×4 tile with everything in registers; gemm unpacks each weight chunk once
// for all eight activation rows, with four rows' isums and all float accs in the frame (about
// 7% faster than two 8×4 passes over the same weights).
// Go operand order is reversed from Intel's: VOP src2, src1, dst.

// q4kA2ScLo<>: VPSHUFB control that puts byte r (rows 0…3 in the low lane) or 4+r (rows 4…7,
// high lane) of each 128-bit lane into both int16 halves of row r's dword, zero-extended
// (0x80 gives zero); q4kA2ScHi<> takes bytes 8+r / 12+r (the second sub-block of a 16-byte
// pair of scale rows).
DATA q4kA2ScLo<>+0x00(SB)/8, $0x8001800180008000
DATA q4kA2ScLo<>+0x08(SB)/8, $0x8003800380028002
DATA q4kA2ScLo<>+0x10(SB)/8, $0x8005800580048004
DATA q4kA2ScLo<>+0x18(SB)/8, $0x8007800780068006
GLOBL q4kA2ScLo<>(SB), RODATA|NOPTR, $32

DATA q4kA2ScHi<>+0x00(SB)/8, $0x8009800980088008
DATA q4kA2ScHi<>+0x08(SB)/8, $0x800b800b800a800a
DATA q4kA2ScHi<>+0x10(SB)/8, $0x800d800d800c800c
DATA q4kA2ScHi<>+0x18(SB)/8, $0x800f800f800e800e
GLOBL q4kA2ScHi<>(SB), RODATA|NOPTR, $32

DATA q4kA2Mask<>+0x00(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kA2Mask<>+0x08(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kA2Mask<>+0x10(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA q4kA2Mask<>+0x18(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q4kA2Mask<>(SB), RODATA|NOPTR, $32

// ---- 8 weight rows × 4 activation rows (gemm4, and gemm's two passes) ----
//
// Registers: Y0…Y3 float acc of activation rows 0…3, Y4…Y7 their int32 isums, Y8…Y11 their
// int16 sums of the current sub-block, Y12 the weight chunk (then the scales), Y13 scratch,
// Y14 0x0f (reloaded per super-block; scratch in the epilogue), Y15 scratch. SI weight record,
// DI quants of the pass's activation row 0 (row c at 256c), R8 its d_x (row c at 4c), R9 its
// Σx per 32 (row c at 16c, 8 × int16).

// Q4A2LO/Q4A2HI load chunk k of sub-block 2p (low nibbles) or 2p+1 (high) into Y12.
#define Q4A2LO(p, k) \
	VMOVDQU (160+(8*(p)+(k))*32)(SI), Y12; \
	VPAND   Y14, Y12, Y12

#define Q4A2HI(p, k) \
	VMOVDQU (160+(8*(p)+(k))*32)(SI), Y12; \
	VPSRLW  $4, Y12, Y12;                  \
	VPAND   Y14, Y12, Y12

// Q4A2FIRST sets int16 sum y of activation row c to chunk 0's products; KA2NEXT adds chunk k's.
#define Q4A2FIRST(s, c, y) \
	VPBROADCASTD (256*(c)+32*(s))(DI), Y13; \
	VPMADDUBSW   Y13, Y12, y

#define Q4A2CHUNK(s, p, k, LD) \
	LD(p, k);                 \
	KA2NEXT(s, k, 0, Y8);    \
	KA2NEXT(s, k, 1, Y9);    \
	KA2NEXT(s, k, 2, Y10);   \
	KA2NEXT(s, k, 3, Y11)

// Q4A2SUMS forms the int16 sums of sub-block s (pair p, nibble loader LD) in Y8…Y11, then the
// rows' sc_s in both halves of each dword in Y12.
#define Q4A2SUMS(s, p, LD) \
	LD(p, 0);                  \
	Q4A2FIRST(s, 0, Y8);       \
	Q4A2FIRST(s, 1, Y9);       \
	Q4A2FIRST(s, 2, Y10);      \
	Q4A2FIRST(s, 3, Y11);      \
	Q4A2CHUNK(s, p, 1, LD);    \
	Q4A2CHUNK(s, p, 2, LD);    \
	Q4A2CHUNK(s, p, 3, LD);    \
	Q4A2CHUNK(s, p, 4, LD);    \
	Q4A2CHUNK(s, p, 5, LD);    \
	Q4A2CHUNK(s, p, 6, LD);    \
	Q4A2CHUNK(s, p, 7, LD);    \
	VPBROADCASTQ (32+8*(s))(SI), Y12; \
	VPSHUFB      q4kA2ScLo<>(SB), Y12, Y12

// Q4A2SUB0 sets the isums Y4…Y7 to sub-block 0's sc·Σq·x; Q4A2SUB adds sub-block s's.
#define Q4A2SUB0(LD) \
	Q4A2SUMS(0, 0, LD);     \
	VPMADDWD Y12, Y8, Y4;   \
	VPMADDWD Y12, Y9, Y5;   \
	VPMADDWD Y12, Y10, Y6;  \
	VPMADDWD Y12, Y11, Y7

#define Q4A2SUB(s, p, LD) \
	Q4A2SUMS(s, p, LD);     \
	VPMADDWD Y12, Y8, Y8;   \
	VPMADDWD Y12, Y9, Y9;   \
	VPMADDWD Y12, Y10, Y10; \
	VPMADDWD Y12, Y11, Y11; \
	VPADDD   Y8, Y4, Y4;    \
	VPADDD   Y9, Y5, Y5;    \
	VPADDD   Y10, Y6, Y6;   \
	VPADDD   Y11, Y7, Y7

// Q4A2PASS runs one 8×4 pass: SI = w, DI/R8/R9 the pass's activation pointers (see above),
// CX = nb; it leaves the four outputs in Y0…Y3 and advances SI, DI, R8, R9 past the group.
#define Q4A2PASS(loop) \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
loop:                 \
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
	VMOVDQU   q4kA2Mask<>(SB), Y14; \
	Q4A2SUB0(Q4A2LO);       \
	Q4A2SUB(1, 0, Q4A2HI);  \
	Q4A2SUB(2, 1, Q4A2LO);  \
	Q4A2SUB(3, 1, Q4A2HI);  \
	Q4A2SUB(4, 2, Q4A2LO);  \
	Q4A2SUB(5, 2, Q4A2HI);  \
	Q4A2SUB(6, 3, Q4A2LO);  \
	Q4A2SUB(7, 3, Q4A2HI);  \
	VPMOVZXBW 96(SI), Y8;   \
	VPMOVZXBW 112(SI), Y9;  \
	VPMOVZXBW 128(SI), Y10; \
	VPMOVZXBW 144(SI), Y11; \
	VCVTPH2PS (SI), Y12;    \
	VCVTPH2PS 16(SI), Y13;  \
	KA2FIN(0, Y4, Y0);     \
	KA2FIN(1, Y5, Y1);     \
	KA2FIN(2, Y6, Y2);     \
	KA2FIN(3, Y7, Y3);     \
	ADDQ      $1184, SI;    \
	ADDQ      $2720, DI;    \
	ADDQ      $2720, R8;    \
	ADDQ      $2720, R9;    \
	DECQ      CX;           \
	JNZ       loop

// ---- 8 weight rows × 8 activation rows in one pass (gemm) ----
//
// Each weight chunk is unpacked once for all eight activation rows. Registers: Y0…Y7 the int16
// sums of activation rows 0…7 in the current sub-block, Y8 the chunk, Y9 scratch, Y10 0x0f
// (reloaded per super-block), Y11 the sub-block's scales, Y12…Y15 the int32 isums of rows 0…3;
// the isums of rows 4…7 live in the frame at 256+32(c−4)(SP), the float accs of all eight at
// 32c(SP). SI weight record, DI activation record (P = 8: quants of row c at 256c, d_x at
// 2048+4c, Σx per 32 at 2080+16c).

#define Q4B8LO(p, k) \
	VMOVDQU (160+(8*(p)+(k))*32)(SI), Y8; \
	VPAND   Y10, Y8, Y8

#define Q4B8HI(p, k) \
	VMOVDQU (160+(8*(p)+(k))*32)(SI), Y8; \
	VPSRLW  $4, Y8, Y8;                   \
	VPAND   Y10, Y8, Y8

#define Q4B8FIRST(s, c, y) \
	VPBROADCASTD (256*(c)+32*(s))(DI), Y9; \
	VPMADDUBSW   Y9, Y8, y

#define Q4B8NEXT(s, k, c, y) \
	VPBROADCASTD (256*(c)+32*(s)+4*(k))(DI), Y9; \
	VPMADDUBSW   Y9, Y8, Y9;                      \
	VPADDW       Y9, y, y

#define Q4B8CHUNK(s, p, k, LD) \
	LD(p, k);                \
	Q4B8NEXT(s, k, 0, Y0);   \
	Q4B8NEXT(s, k, 1, Y1);   \
	Q4B8NEXT(s, k, 2, Y2);   \
	Q4B8NEXT(s, k, 3, Y3);   \
	Q4B8NEXT(s, k, 4, Y4);   \
	Q4B8NEXT(s, k, 5, Y5);   \
	Q4B8NEXT(s, k, 6, Y6);   \
	Q4B8NEXT(s, k, 7, Y7)

// Q4B8SUMS forms the int16 sums of sub-block s in Y0…Y7 and its scales in Y11.
#define Q4B8SUMS(s, p, LD) \
	LD(p, 0);                 \
	Q4B8FIRST(s, 0, Y0);      \
	Q4B8FIRST(s, 1, Y1);      \
	Q4B8FIRST(s, 2, Y2);      \
	Q4B8FIRST(s, 3, Y3);      \
	Q4B8FIRST(s, 4, Y4);      \
	Q4B8FIRST(s, 5, Y5);      \
	Q4B8FIRST(s, 6, Y6);      \
	Q4B8FIRST(s, 7, Y7);      \
	Q4B8CHUNK(s, p, 1, LD);   \
	Q4B8CHUNK(s, p, 2, LD);   \
	Q4B8CHUNK(s, p, 3, LD);   \
	Q4B8CHUNK(s, p, 4, LD);   \
	Q4B8CHUNK(s, p, 5, LD);   \
	Q4B8CHUNK(s, p, 6, LD);   \
	Q4B8CHUNK(s, p, 7, LD);   \
	VPBROADCASTQ (32+8*(s))(SI), Y11; \
	VPSHUFB      q4kA2ScLo<>(SB), Y11, Y11

// Q4B8SUB0 sets the isums to sub-block 0's sc·Σq·x; Q4B8SUB adds sub-block s's.
#define Q4B8SUB0(LD) \
	Q4B8SUMS(0, 0, LD);      \
	VPMADDWD Y11, Y0, Y12;   \
	VPMADDWD Y11, Y1, Y13;   \
	VPMADDWD Y11, Y2, Y14;   \
	VPMADDWD Y11, Y3, Y15;   \
	VPMADDWD Y11, Y4, Y4;    \
	VPMADDWD Y11, Y5, Y5;    \
	VPMADDWD Y11, Y6, Y6;    \
	VPMADDWD Y11, Y7, Y7;    \
	VMOVDQU  Y4, 256(SP);    \
	VMOVDQU  Y5, 288(SP);    \
	VMOVDQU  Y6, 320(SP);    \
	VMOVDQU  Y7, 352(SP)

#define Q4B8SUB(s, p, LD) \
	Q4B8SUMS(s, p, LD);      \
	VPMADDWD Y11, Y0, Y0;    \
	VPMADDWD Y11, Y1, Y1;    \
	VPMADDWD Y11, Y2, Y2;    \
	VPMADDWD Y11, Y3, Y3;    \
	VPMADDWD Y11, Y4, Y4;    \
	VPMADDWD Y11, Y5, Y5;    \
	VPMADDWD Y11, Y6, Y6;    \
	VPMADDWD Y11, Y7, Y7;    \
	VPADDD   Y0, Y12, Y12;   \
	VPADDD   Y1, Y13, Y13;   \
	VPADDD   Y2, Y14, Y14;   \
	VPADDD   Y3, Y15, Y15;   \
	VPADDD   256(SP), Y4, Y4; \
	VPADDD   288(SP), Y5, Y5; \
	VPADDD   320(SP), Y6, Y6; \
	VPADDD   352(SP), Y7, Y7; \
	VMOVDQU  Y4, 256(SP);    \
	VMOVDQU  Y5, 288(SP);    \
	VMOVDQU  Y6, 320(SP);    \
	VMOVDQU  Y7, 352(SP)

// Q4B8FIN finishes activation row c's super-block (isum yi) into its acc at 32c(SP): with the
// mins pairs in Y4…Y7, d in Y8, dmin in Y9, as KA2FIN; Y0…Y3 scratch.
#define Q4B8FIN(c, yi) \
	VBROADCASTSS (2048+4*(c))(DI), Y1;     \
	VMULPS       Y1, Y8, Y2;               \
	VCVTDQ2PS    yi, yi;                   \
	VMULPS       Y2, yi, yi;               \
	VMOVUPS      (32*(c))(SP), Y0;         \
	VADDPS       yi, Y0, Y0;               \
	VMULPS       Y1, Y9, Y1;               \
	VPBROADCASTD (2080+16*(c))(DI), Y2;    \
	VPMADDWD     Y4, Y2, Y2;               \
	VPBROADCASTD (2080+16*(c)+4)(DI), Y3;  \
	VPMADDWD     Y5, Y3, Y3;               \
	VPADDD       Y3, Y2, Y2;               \
	VPBROADCASTD (2080+16*(c)+8)(DI), Y3;  \
	VPMADDWD     Y6, Y3, Y3;               \
	VPADDD       Y3, Y2, Y2;               \
	VPBROADCASTD (2080+16*(c)+12)(DI), Y3; \
	VPMADDWD     Y7, Y3, Y3;               \
	VPADDD       Y3, Y2, Y2;               \
	VCVTDQ2PS    Y2, Y2;                   \
	VMULPS       Y1, Y2, Y2;               \
	VSUBPS       Y2, Y0, Y0;               \
	VMOVUPS      Y0, (32*(c))(SP)

// func gemmQ4_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)
// Eight Q4_K weight rows × eight activation rows (one P = 8 group): out[c·os + r] for r, c < 8.
TEXT ·gemmQ4_Kx8x8AVX2(SB), NOSPLIT, $384-40
	MOVQ    w+0(FP), SI
	MOVQ    x+8(FP), DI
	MOVQ    nb+16(FP), CX
	FRAMEZERO8(0)

q4ka2x8loop:
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
	VMOVDQU    q4kA2Mask<>(SB), Y10
	Q4B8SUB0(Q4B8LO)
	Q4B8SUB(1, 0, Q4B8HI)
	Q4B8SUB(2, 1, Q4B8LO)
	Q4B8SUB(3, 1, Q4B8HI)
	Q4B8SUB(4, 2, Q4B8LO)
	Q4B8SUB(5, 2, Q4B8HI)
	Q4B8SUB(6, 3, Q4B8LO)
	Q4B8SUB(7, 3, Q4B8HI)
	VPMOVZXBW  96(SI), Y4
	VPMOVZXBW  112(SI), Y5
	VPMOVZXBW  128(SI), Y6
	VPMOVZXBW  144(SI), Y7
	VCVTPH2PS  (SI), Y8
	VCVTPH2PS  16(SI), Y9
	Q4B8FIN(0, Y12)
	Q4B8FIN(1, Y13)
	Q4B8FIN(2, Y14)
	Q4B8FIN(3, Y15)
	VMOVDQU    256(SP), Y11
	Q4B8FIN(4, Y11)
	VMOVDQU    288(SP), Y11
	Q4B8FIN(5, Y11)
	VMOVDQU    320(SP), Y11
	Q4B8FIN(6, Y11)
	VMOVDQU    352(SP), Y11
	Q4B8FIN(7, Y11)
	ADDQ       $1184, SI
	ADDQ       $2720, DI
	DECQ       CX
	JNZ        q4ka2x8loop

	FRAMELOAD8(0)
	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE8
	VZEROUPPER
	RET

// func gemm4Q4_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)
// Eight Q4_K weight rows (one packed group, nb super-blocks) × the first four activation rows
// of a P = 8 group: out[c·os + r] for r < 8, c < 4 (os in float32s); nothing else is written.
TEXT ·gemm4Q4_Kx8x8AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	LEAQ 2048(DI), R8
	LEAQ 2080(DI), R9
	Q4A2PASS(q4ka2x4loop)
	MOVQ out+24(FP), DX
	MOVQ os+32(FP), AX
	SHLQ $2, AX
	STORE4
	VZEROUPPER
	RET

// ---- 8 weight rows × one activation row (gemv) ----
//
// P = 1 activation record (340 bytes): quants at 0 (sub-block s at 32s), d_x at 256, Σx per 32
// (8 × int16) at 260.

// Q4A1CHUNK adds chunk k of pair p to the int16 sums of sub-blocks 2p (low nibbles, Y7) and
// 2p+1 (high, Y8); Y3…Y6 scratch, Y15 0x0f.
#define Q4A1CHUNK(p, k) \
	VMOVDQU      (160+(8*(p)+(k))*32)(SI), Y3; \
	VPSRLW       $4, Y3, Y4;                   \
	VPAND        Y15, Y3, Y3;                  \
	VPAND        Y15, Y4, Y4;                  \
	VPBROADCASTD (64*(p)+4*(k))(DI), Y5;       \
	VPMADDUBSW   Y5, Y3, Y5;                   \
	VPADDW       Y5, Y7, Y7;                   \
	VPBROADCASTD (64*(p)+32+4*(k))(DI), Y6;    \
	VPMADDUBSW   Y6, Y4, Y6;                   \
	VPADDW       Y6, Y8, Y8

// Q4A1PAIR adds sub-blocks 2p and 2p+1 to isum Y1 (the rows' sc_2p and sc_2p+1 from one
// 16-byte load, duplicated into the int16 halves by two VPSHUFB).
#define Q4A1PAIR(p) \
	VMOVDQU      (160+(8*(p))*32)(SI), Y3;    \
	VPSRLW       $4, Y3, Y4;                  \
	VPAND        Y15, Y3, Y3;                 \
	VPAND        Y15, Y4, Y4;                 \
	VPBROADCASTD (64*(p))(DI), Y7;            \
	VPMADDUBSW   Y7, Y3, Y7;                  \
	VPBROADCASTD (64*(p)+32)(DI), Y8;         \
	VPMADDUBSW   Y8, Y4, Y8;                  \
	Q4A1CHUNK(p, 1);                          \
	Q4A1CHUNK(p, 2);                          \
	Q4A1CHUNK(p, 3);                          \
	Q4A1CHUNK(p, 4);                          \
	Q4A1CHUNK(p, 5);                          \
	Q4A1CHUNK(p, 6);                          \
	Q4A1CHUNK(p, 7);                          \
	VBROADCASTI128 (32+16*(p))(SI), Y9;       \
	VPSHUFB      q4kA2ScHi<>(SB), Y9, Y10;    \
	VPSHUFB      q4kA2ScLo<>(SB), Y9, Y9;     \
	VPMADDWD     Y9, Y7, Y7;                  \
	VPMADDWD     Y10, Y8, Y8;                 \
	VPADDD       Y7, Y1, Y1;                  \
	VPADDD       Y8, Y1, Y1

// func gemvQ4_Kx8AVX2(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight Q4_K rows (nb super-blocks each, one after another) × one
// activation row (P = 1): out[8g + r].
TEXT ·gemvQ4_Kx8AVX2(SB), NOSPLIT, $0-40
	MOVQ    w+0(FP), SI
	MOVQ    groups+24(FP), BX
	MOVQ    out+32(FP), DX
	VMOVDQU q4kA2Mask<>(SB), Y15

q4ka2gvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q4ka2gvloop:
	VPXOR        Y1, Y1, Y1
	Q4A1PAIR(0)
	Q4A1PAIR(1)
	Q4A1PAIR(2)
	Q4A1PAIR(3)
	VPMOVZXBW    96(SI), Y9
	VPBROADCASTD 260(DI), Y3
	VPMADDWD     Y9, Y3, Y2
	VPMOVZXBW    112(SI), Y10
	VPBROADCASTD 264(DI), Y4
	VPMADDWD     Y10, Y4, Y4
	VPMOVZXBW    128(SI), Y11
	VPBROADCASTD 268(DI), Y5
	VPMADDWD     Y11, Y5, Y5
	VPMOVZXBW    144(SI), Y12
	VPBROADCASTD 272(DI), Y6
	VPMADDWD     Y12, Y6, Y6
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
	ADDQ         $1184, SI
	ADDQ         $340, DI
	DECQ         CX
	JNZ          q4ka2gvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q4ka2gvgroup
	VZEROUPPER
	RET
