//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"

// AVX2 kernels over the packed Q8_0 and Q4_0 layouts of packed.go (the same records as the
// VNNI kernels), for CPUs without AVX-512: sixteen registers, VEX encodings only. The integer
// dot of a 32-byte chunk (four elements of eight rows) with four activation bytes broadcast:
//
//	Q8_0: the stored w+128 XOR 0x80 gives w; VPMADDUBSW(|w|, sign(x, w)) then VPMADDWD with
//	      ones gives each row's four products in its 32-bit lane. |w| ≤ 128 and |x| ≤ 127
//	      keep each int16 pair sum ≤ 32512: no saturation. quantizeQ8_0 writes |x| ≤ 127 for
//	      finite input; an x of −128 (from an Inf or NaN activation) would not negate in
//	      VPSIGNB, so for such rows the result is not the reference's (both are meaningless).
//	Q4_0: VPMADDUBSW(nibbles 0…15, x) pair sums ≤ 2·15·128 = 3840, so all eight of a block add
//	      up in int16 (≤ 30720) before one VPMADDWD with ones; then −8·Σx.
//
// So each row's integer sum s is exact, and acc += float32(s) · (d_w · d_x) follows with the
// same roundings as packedDotRef: results are bit-identical to it and to the VNNI kernels.

// Register convention of every kernel here: Y12 int16 ones (VPMADDWD widening), Y13 the
// record's byte constant (0x80 for Q8_0, the nibble mask 0x0f for Q4_0), Y8/Y9 the current
// weight chunk, Y10/Y11 scratch (register renaming keeps reuse free of false dependencies).
// The 8×4 tiles keep integer sums in Y4…Y7 and float accumulators in Y0…Y3; the one-pass 8×8
// tiles keep integer sums in Y0…Y7 and float accumulators in the frame (0…255(SP)), so each
// weight chunk is unpacked once for eight columns (measured: Q8_0 ~10 %, Q4_0 ~30 % faster
// than two 8×4 passes). The GEMVs use the tile macros with column 0 (the P = 1 record has the
// same quant offsets) and two integer chains (Y1, Y2).

// Packed activation record offsets (P = 8): quants of row c at 32c, d_x at 256+4c, −8·Σx at
// 320+4c; a record is 352 bytes. P = 1: quants at 0, d_x at 32, −8·Σx at 40; 44 bytes.

// CONSTS sets Y12 to int16 ones and Y13 to bytes v.
#define CONSTS(v) \
	MOVL         $0x00010001, AX; \
	VMOVD        AX, X12;         \
	VPBROADCASTD X12, Y12;        \
	MOVL         v, AX;           \
	VMOVD        AX, X13;         \
	VPBROADCASTD X13, Y13

// Q8W loads chunk k of a Q8_0 record: Y8 = w (signed), Y9 = |w|.
#define Q8W(k) \
	VMOVDQU (16+32*k)(SI), Y8; \
	VPXOR   Y13, Y8, Y8;       \
	VPABSB  Y8, Y9

// Q8C adds column c's products with chunk k to the int32 row lanes yi (yt scratch); Q8C0 sets
// yi to those of chunk 0.
#define Q8C(c, k, yt, yi) \
	VPBROADCASTD (32*c+4*k)(DI), yt; \
	VPSIGNB      Y8, yt, yt;         \
	VPMADDUBSW   yt, Y9, yt;         \
	VPMADDWD     Y12, yt, yt;        \
	VPADDD       yt, yi, yi

#define Q8C0(c, yt, yi) \
	VPBROADCASTD (32*c)(DI), yt; \
	VPSIGNB      Y8, yt, yt;     \
	VPMADDUBSW   yt, Y9, yt;     \
	VPMADDWD     Y12, yt, yi

// Q4W loads chunk k of a Q4_0 record: Y8 = low nibbles (elements 4k…4k+3), Y9 = high nibbles
// (elements 16+4k…16+4k+3).
#define Q4W(k) \
	VMOVDQU (16+32*k)(SI), Y8; \
	VPSRLW  $4, Y8, Y9;        \
	VPAND   Y13, Y8, Y8;       \
	VPAND   Y13, Y9, Y9

// Q4C adds column c's products with chunk k to the int16 pair sums yi; Q4C0 sets yi.
#define Q4C(c, k, yt, yi) \
	VPBROADCASTD (32*c+4*k)(DI), yt;    \
	VPMADDUBSW   yt, Y8, yt;            \
	VPADDW       yt, yi, yi;            \
	VPBROADCASTD (32*c+16+4*k)(DI), yt; \
	VPMADDUBSW   yt, Y9, yt;            \
	VPADDW       yt, yi, yi

#define Q4C0(c, yt, yi) \
	VPBROADCASTD (32*c)(DI), yt;    \
	VPMADDUBSW   yt, Y8, yi;        \
	VPBROADCASTD (32*c+16)(DI), yt; \
	VPMADDUBSW   yt, Y9, yt;        \
	VPADDW       yt, yi, yi

// Q4WIDEN makes column c's int16 pair sums yi the row's int32 sum s = Σ q·x − 8·Σx.
#define Q4WIDEN(c, yt, yi) \
	VPMADDWD     Y12, yi, yi;       \
	VPBROADCASTD (320+4*c)(DI), yt; \
	VPADDD       yt, yi, yi

// Q8CHUNK4/Q4CHUNK4 add chunk k for columns 0…3 to Y4…Y7; Q8CHUNK8/Q4CHUNK8 for columns 0…7
// to Y0…Y7.
#define Q8CHUNK4(k) \
	Q8W(k);             \
	Q8C(0, k, Y10, Y4); \
	Q8C(1, k, Y11, Y5); \
	Q8C(2, k, Y10, Y6); \
	Q8C(3, k, Y11, Y7)

#define Q8CHUNK8(k) \
	Q8W(k);             \
	Q8C(0, k, Y10, Y0); \
	Q8C(1, k, Y11, Y1); \
	Q8C(2, k, Y10, Y2); \
	Q8C(3, k, Y11, Y3); \
	Q8C(4, k, Y10, Y4); \
	Q8C(5, k, Y11, Y5); \
	Q8C(6, k, Y10, Y6); \
	Q8C(7, k, Y11, Y7)

#define Q4CHUNK4(k) \
	Q4W(k);             \
	Q4C(0, k, Y10, Y4); \
	Q4C(1, k, Y11, Y5); \
	Q4C(2, k, Y10, Y6); \
	Q4C(3, k, Y11, Y7)

#define Q4CHUNK8(k) \
	Q4W(k);             \
	Q4C(0, k, Y10, Y0); \
	Q4C(1, k, Y11, Y1); \
	Q4C(2, k, Y10, Y2); \
	Q4C(3, k, Y11, Y3); \
	Q4C(4, k, Y10, Y4); \
	Q4C(5, k, Y11, Y5); \
	Q4C(6, k, Y10, Y6); \
	Q4C(7, k, Y11, Y7)

// EPIS turns column c's block sum yi into float32(s) · (d_w · d_x), with d_w in Y8; EPI1 adds
// it to the register accumulator ya, EPIM to the frame accumulator at 32c(SP). EPI4 does
// columns 0…3 of the 8×4 tile (sums Y4…Y7, accumulators Y0…Y3).
#define EPIS(c, yt, yi) \
	VBROADCASTSS (256+4*c)(DI), yt; \
	VMULPS       Y8, yt, yt;        \
	VCVTDQ2PS    yi, yi;            \
	VMULPS       yt, yi, yi

#define EPI1(c, yt, yi, ya) \
	EPIS(c, yt, yi); \
	VADDPS yi, ya, ya

#define EPIM(c, yt, yi) \
	EPIS(c, yt, yi);                    \
	VADDPS       (32*c)(SP), yi, yi;    \
	VMOVUPS      yi, (32*c)(SP)

#define EPI4 \
	VCVTPH2PS (SI), Y8;  \
	EPI1(0, Y10, Y4, Y0); \
	EPI1(1, Y11, Y5, Y1); \
	EPI1(2, Y10, Y6, Y2); \
	EPI1(3, Y11, Y7, Y3)

// Q4EPIM widens column c's pair sums yi and adds them as EPIM does.
#define Q4EPIM(c, yt, yi) \
	Q4WIDEN(c, yt, yi); \
	EPIM(c, yt, yi)

// Q8PASS / Q4PASS run the 8×4 tile over nb (CX) blocks: weights SI, activations DI, float
// accumulators Y0…Y3.
#define Q8PASS(lbl) \
	VXORPS Y0, Y0, Y0;       \
	VXORPS Y1, Y1, Y1;       \
	VXORPS Y2, Y2, Y2;       \
	VXORPS Y3, Y3, Y3;       \
lbl:;                        \
	PREFETCHT0 4096(SI);     \
	PREFETCHT0 4160(SI);     \
	PREFETCHT0 4224(SI);     \
	PREFETCHT0 4288(SI);     \
	PREFETCHT0 4352(SI);     \
	Q8W(0);                  \
	Q8C0(0, Y10, Y4);        \
	Q8C0(1, Y11, Y5);        \
	Q8C0(2, Y10, Y6);        \
	Q8C0(3, Y11, Y7);        \
	Q8CHUNK4(1);             \
	Q8CHUNK4(2);             \
	Q8CHUNK4(3);             \
	Q8CHUNK4(4);             \
	Q8CHUNK4(5);             \
	Q8CHUNK4(6);             \
	Q8CHUNK4(7);             \
	EPI4;                    \
	ADDQ $272, SI;           \
	ADDQ $352, DI;           \
	DECQ CX;                 \
	JNZ  lbl

#define Q4PASS(lbl) \
	VXORPS Y0, Y0, Y0;       \
	VXORPS Y1, Y1, Y1;       \
	VXORPS Y2, Y2, Y2;       \
	VXORPS Y3, Y3, Y3;       \
lbl:;                        \
	PREFETCHT0 4096(SI);     \
	PREFETCHT0 4160(SI);     \
	PREFETCHT0 4224(SI);     \
	Q4W(0);                  \
	Q4C0(0, Y10, Y4);        \
	Q4C0(1, Y11, Y5);        \
	Q4C0(2, Y10, Y6);        \
	Q4C0(3, Y11, Y7);        \
	Q4CHUNK4(1);             \
	Q4CHUNK4(2);             \
	Q4CHUNK4(3);             \
	Q4WIDEN(0, Y10, Y4);     \
	Q4WIDEN(1, Y11, Y5);     \
	Q4WIDEN(2, Y10, Y6);     \
	Q4WIDEN(3, Y11, Y7);     \
	EPI4;                    \
	ADDQ $144, SI;           \
	ADDQ $352, DI;           \
	DECQ CX;                 \
	JNZ  lbl

// TILE_ARGS loads the tile kernels' arguments: SI = w, DI = x, CX = nb.
#define TILE_ARGS \
	MOVQ w+0(FP), SI;  \
	MOVQ x+8(FP), DI;  \
	MOVQ nb+16(FP), CX

// TILE_OUT sets DX = out and AX = os in bytes, for STORE4/STORE8.
#define TILE_OUT \
	MOVQ out+24(FP), DX; \
	MOVQ os+32(FP), AX;  \
	SHLQ $2, AX

// func gemmQ8_0x8x4AVX2(w, x *byte, nb int, out *float32, os int)
// out[c·os + r] for r < 8, c < 4.
TEXT ·gemmQ8_0x8x4AVX2(SB), NOSPLIT, $0-40
	CONSTS($0x80808080)
	TILE_ARGS
	Q8PASS(q8a4)
	TILE_OUT
	STORE4
	VZEROUPPER
	RET

// func gemmQ4_0x8x4AVX2(w, x *byte, nb int, out *float32, os int)
TEXT ·gemmQ4_0x8x4AVX2(SB), NOSPLIT, $0-40
	CONSTS($0x0f0f0f0f)
	TILE_ARGS
	Q4PASS(q4a4)
	TILE_OUT
	STORE4
	VZEROUPPER
	RET

// func gemmQ8_0x8x8AVX2(w, x *byte, nb int, out *float32, os int)
// Eight weight rows (one packed group, nb blocks) × eight activation rows (one P = 8 group):
// out[c·os + r] for r, c < 8 (os in float32s).
TEXT ·gemmQ8_0x8x8AVX2(SB), NOSPLIT, $256-40
	CONSTS($0x80808080)
	TILE_ARGS
	FRAMEZERO8(0)

q8a8loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	PREFETCHT0 4288(SI)
	PREFETCHT0 4352(SI)
	Q8W(0)
	Q8C0(0, Y10, Y0)
	Q8C0(1, Y11, Y1)
	Q8C0(2, Y10, Y2)
	Q8C0(3, Y11, Y3)
	Q8C0(4, Y10, Y4)
	Q8C0(5, Y11, Y5)
	Q8C0(6, Y10, Y6)
	Q8C0(7, Y11, Y7)
	Q8CHUNK8(1)
	Q8CHUNK8(2)
	Q8CHUNK8(3)
	Q8CHUNK8(4)
	Q8CHUNK8(5)
	Q8CHUNK8(6)
	Q8CHUNK8(7)
	VCVTPH2PS  (SI), Y8
	EPIM(0, Y10, Y0)
	EPIM(1, Y11, Y1)
	EPIM(2, Y10, Y2)
	EPIM(3, Y11, Y3)
	EPIM(4, Y10, Y4)
	EPIM(5, Y11, Y5)
	EPIM(6, Y10, Y6)
	EPIM(7, Y11, Y7)
	ADDQ       $272, SI
	ADDQ       $352, DI
	DECQ       CX
	JNZ        q8a8loop

	TILE_OUT
	FRAMELOAD8(0)
	STORE8
	VZEROUPPER
	RET

// func gemmQ4_0x8x8AVX2(w, x *byte, nb int, out *float32, os int)
// As gemmQ8_0x8x8AVX2 for packed Q4_0 weights.
TEXT ·gemmQ4_0x8x8AVX2(SB), NOSPLIT, $256-40
	CONSTS($0x0f0f0f0f)
	TILE_ARGS
	FRAMEZERO8(0)

q4a8loop:
	PREFETCHT0 4096(SI)
	PREFETCHT0 4160(SI)
	PREFETCHT0 4224(SI)
	Q4W(0)
	Q4C0(0, Y10, Y0)
	Q4C0(1, Y11, Y1)
	Q4C0(2, Y10, Y2)
	Q4C0(3, Y11, Y3)
	Q4C0(4, Y10, Y4)
	Q4C0(5, Y11, Y5)
	Q4C0(6, Y10, Y6)
	Q4C0(7, Y11, Y7)
	Q4CHUNK8(1)
	Q4CHUNK8(2)
	Q4CHUNK8(3)
	VCVTPH2PS  (SI), Y8
	Q4EPIM(0, Y10, Y0)
	Q4EPIM(1, Y11, Y1)
	Q4EPIM(2, Y10, Y2)
	Q4EPIM(3, Y11, Y3)
	Q4EPIM(4, Y10, Y4)
	Q4EPIM(5, Y11, Y5)
	Q4EPIM(6, Y10, Y6)
	Q4EPIM(7, Y11, Y7)
	ADDQ       $144, SI
	ADDQ       $352, DI
	DECQ       CX
	JNZ        q4a8loop

	TILE_OUT
	FRAMELOAD8(0)
	STORE8
	VZEROUPPER
	RET

// GEMVEPI adds the block's sum Y1 + Y2 to Y0: acc += float32(s) · (d_w · d_x).
#define GEMVEPI \
	VPADDD       Y2, Y1, Y1;   \
	VCVTPH2PS    (SI), Y3;     \
	VBROADCASTSS 32(DI), Y4;   \
	VMULPS       Y3, Y4, Y4;   \
	VCVTDQ2PS    Y1, Y1;       \
	VMULPS       Y4, Y1, Y1;   \
	VADDPS       Y1, Y0, Y0

// func gemvQ8_0x8AVX2(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight weight rows (nb blocks each, one after another) × one
// activation row (P = 1): out[8g + r]. Two integer chains per block (chunks 0…3, 4…7).
TEXT ·gemvQ8_0x8AVX2(SB), NOSPLIT, $0-40
	CONSTS($0x80808080)
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX

q8gv2group:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q8gv2loop:
	Q8W(0)
	Q8C0(0, Y10, Y1)
	VPXOR Y2, Y2, Y2 // Q8C0 reads chunk 0 only
	Q8W(4)
	Q8C(0, 4, Y11, Y2)
	Q8W(1)
	Q8C(0, 1, Y10, Y1)
	Q8W(5)
	Q8C(0, 5, Y11, Y2)
	Q8W(2)
	Q8C(0, 2, Y10, Y1)
	Q8W(6)
	Q8C(0, 6, Y11, Y2)
	Q8W(3)
	Q8C(0, 3, Y10, Y1)
	Q8W(7)
	Q8C(0, 7, Y11, Y2)
	GEMVEPI
	ADDQ  $272, SI
	ADDQ  $44, DI
	DECQ  CX
	JNZ   q8gv2loop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q8gv2group
	VZEROUPPER
	RET

// func gemvQ4_0x8AVX2(w, x *byte, nb, groups int, out *float32)
// As gemvQ8_0x8AVX2 for packed Q4_0 weights.
TEXT ·gemvQ4_0x8AVX2(SB), NOSPLIT, $0-40
	CONSTS($0x0f0f0f0f)
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX

q4gv2group:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q4gv2loop:
	Q4W(0)
	Q4C0(0, Y10, Y1)
	VPXOR        Y2, Y2, Y2 // Q4C0 reads chunk 0 only
	Q4W(1)
	Q4C(0, 1, Y11, Y2)
	Q4W(2)
	Q4C(0, 2, Y10, Y1)
	Q4W(3)
	Q4C(0, 3, Y11, Y2)
	VPADDW       Y2, Y1, Y1
	VPMADDWD     Y12, Y1, Y1
	VPBROADCASTD 40(DI), Y2 // GEMVEPI adds Y2 to Y1: here the correction −8·Σx
	GEMVEPI
	ADDQ         $144, SI
	ADDQ         $44, DI
	DECQ         CX
	JNZ          q4gv2loop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q4gv2group
	VZEROUPPER
	RET
