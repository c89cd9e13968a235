//go:build !purego

#include "textflag.h"

// AVX2 kernels of DequantizeRow (dequant.go), each bit for bit its tensor.Dequantize loop:
// integer quants widened to int32 lanes, converted exactly (VCVTDQ2PS), then multiplied and
// subtracted with VMULPS / VSUBPS in the reference's order (never fused); block scales widened
// exactly by VCVTPH2PS. VEX only, Y0…Y15. Go operand order is reversed from Intel's:
// VOP src2, src1, dst.

// BCASTD(val, xr, yr) sets every int32 lane of yr to val (clobbers AX).
#define BCASTD(val, xr, yr) \
	MOVL         val, AX; \
	VMOVD        AX, xr;  \
	VPBROADCASTD xr, yr

// HALF(off, xr, yr) broadcasts float32(the half at off(SI)) into yr (clobbers AX).
#define HALF(off, xr, yr) \
	MOVWLZX      off(SI), AX; \
	VMOVD        AX, xr;      \
	VCVTPH2PS    xr, xr;      \
	VBROADCASTSS xr, yr

// F16NAN(y, mask, src) rewrites the NaN lanes (mask) of y, which VCVTPH2PS made quiet, as
// tensor.FP16ToFP32 does: sign | 0x7f800000 | mant<<13, the half's payload kept as is
// (signalling stays signalling). Y15 = 0x7f800000, Y14 = 0x80000000; clobbers Y12, Y13.
#define F16NAN(y, mask, src) \
	VPMOVZXWD src, Y12;            \
	VPSLLD    $13, Y12, Y12;       \ // mant at 13…22, exponent and the half's sign below bit 31
	VPOR      Y15, Y12, Y12;       \ // exponent all ones (bit 28 included)
	VPAND     Y14, y, Y13;         \ // the sign, from y
	VPOR      Y13, Y12, Y12;       \
	VBLENDVPS mask, Y12, y, y

// KSCALES unpacks the 12-byte scales at 4(SI) of a Q4_K/Q5_K block (get_scale_min_k4 for all
// eight groups at once, as ggml's utmp/kmask code does) and stores d·sc[j] at 4j(SP) and
// dmin·m[j] at 32+4j(SP), each product rounded to float32. Clobbers AX, R8…R12, Y0…Y3.
#define KSCALES \
	HALF(0, X0, Y0);                  \ // d
	HALF(2, X1, Y1);                  \ // dmin
	MOVL         4(SI), R8;           \ // u0: sc[0…3] low 6 bits, high 2 bits of sc[4…7]
	MOVL         8(SI), R9;           \ // u1: m[0…3] low 6 bits, high 2 bits of m[4…7]
	MOVL         12(SI), R10;         \ // u2: low nibbles sc[4…7], high nibbles m[4…7]
	MOVL         R10, R11;            \
	SHRL         $4, R11;             \
	ANDL         $0x0f0f0f0f, R11;    \
	MOVL         R9, R12;             \
	SHRL         $6, R12;             \
	ANDL         $0x03030303, R12;    \
	SHLL         $4, R12;             \
	ORL          R12, R11;            \ // m[4…7]
	ANDL         $0x3f3f3f3f, R9;     \ // m[0…3]
	ANDL         $0x0f0f0f0f, R10;    \
	MOVL         R8, R12;             \
	SHRL         $6, R12;             \
	ANDL         $0x03030303, R12;    \
	SHLL         $4, R12;             \
	ORL          R12, R10;            \ // sc[4…7]
	ANDL         $0x3f3f3f3f, R8;     \ // sc[0…3]
	VMOVD        R8, X2;              \
	VPINSRD      $1, R10, X2, X2;     \
	VMOVD        R9, X3;              \
	VPINSRD      $1, R11, X3, X3;     \
	VPMOVZXBD    X2, Y2;              \
	VPMOVZXBD    X3, Y3;              \
	VCVTDQ2PS    Y2, Y2;              \
	VCVTDQ2PS    Y3, Y3;              \
	VMULPS       Y0, Y2, Y2;          \
	VMULPS       Y1, Y3, Y3;          \
	VMOVUPS      Y2, 0(SP);           \
	VMOVUPS      Y3, 32(SP)

// KBCAST(c) broadcasts group 2c's d·sc, dmin·m into Y4, Y6 and group 2c+1's into Y5, Y7.
#define KBCAST(soff) \
	VBROADCASTSS soff(SP), Y4;    \
	VBROADCASTSS soff+4(SP), Y5;  \
	VBROADCASTSS soff+32(SP), Y6; \
	VBROADCASTSS soff+36(SP), Y7

// KSTORE2(lo, hi, ooff) writes float32(d1·lo) − m1 at ooff(DI) and float32(d2·hi) − m2 at
// ooff+128(DI) (lo, hi: int32 lanes, converted in place).
#define KSTORE2(lo, hi, ooff) \
	VCVTDQ2PS lo, lo;         \
	VCVTDQ2PS hi, hi;         \
	VMULPS    Y4, lo, lo;     \
	VMULPS    Y5, hi, hi;     \
	VSUBPS    Y6, lo, lo;     \
	VSUBPS    Y7, hi, hi;     \
	VMOVUPS   lo, ooff(DI);   \
	VMOVUPS   hi, ooff+128(DI)

// Q4K8 dequantizes qs[8k…8k+7] of one 32-byte chunk at qoff(SI): low nibbles to ooff(DI),
// high nibbles 32 elements on.
#define Q4K8(qoff, ooff) \
	VPMOVZXBD qoff(SI), Y8;  \
	VPAND     Y15, Y8, Y9;   \
	VPSRLD    $4, Y8, Y8;    \
	KSTORE2(Y9, Y8, ooff)

// Q4KCHUNK(c) dequantizes chunk c (qs[32c…32c+31]) into y[64c…64c+63].
#define Q4KCHUNK(qoff, ooff, soff) \
	KBCAST(soff);             \
	Q4K8(qoff, ooff);         \
	Q4K8(qoff+8, ooff+32);    \
	Q4K8(qoff+16, ooff+64);   \
	Q4K8(qoff+24, ooff+96)

// Q5K8 is Q4K8 with the fifth bits: qh (int32 lanes of qh[8k…8k+7], shifted right by 2c)
// bit 0 for the low nibble, bit 1 for the high one. Y14 = 0x10.
#define Q5K8(qoff, ooff, qh) \
	VPMOVZXBD qoff(SI), Y8;  \
	VPAND     Y15, Y8, Y9;   \
	VPSRLD    $4, Y8, Y8;    \
	VPSLLD    $4, qh, Y2;    \
	VPSLLD    $3, qh, Y3;    \
	VPAND     Y14, Y2, Y2;   \
	VPAND     Y14, Y3, Y3;   \
	VPOR      Y2, Y9, Y9;    \
	VPOR      Y3, Y8, Y8;    \
	KSTORE2(Y9, Y8, ooff)

// Q5KCHUNK(c) dequantizes chunk c (qs[32c…32c+31], qh bits 2c and 2c+1) and moves the qh
// lanes on to the next chunk's bits.
#define Q5KCHUNK(qoff, ooff, soff) \
	KBCAST(soff);                 \
	Q5K8(qoff, ooff, Y10);        \
	Q5K8(qoff+8, ooff+32, Y11);   \
	Q5K8(qoff+16, ooff+64, Y12);  \
	Q5K8(qoff+24, ooff+96, Y13);  \
	VPSRLD $2, Y10, Y10;          \
	VPSRLD $2, Y11, Y11;          \
	VPSRLD $2, Y12, Y12;          \
	VPSRLD $2, Y13, Y13

// Q6KOUT(q, s, ooff) writes (q − 32) · s at ooff(DI) (q: int32 lanes, converted in place).
#define Q6KOUT(q, s, ooff) \
	VPSUBD    Y13, q, q; \
	VCVTDQ2PS q, q;      \
	VMULPS    s, q, q;   \
	VMOVUPS   q, ooff(DI)

// Q6K8 dequantizes l…l+7 of one half: ql[l], ql[l+32] at qloff(SI), qloff+32(SI), qh[l] at
// qhoff(SI), into y[l], y[l+32], y[l+64], y[l+96] of the half at ooff(DI).
// Y15 = 0x0f, Y14 = 0x30, Y13 = 32.
#define Q6K8(qloff, qhoff, ooff) \
	VPMOVZXBD qloff(SI), Y8;    \
	VPMOVZXBD qloff+32(SI), Y9; \
	VPMOVZXBD qhoff(SI), Y10;   \
	VPAND     Y15, Y8, Y0;      \
	VPSLLD    $4, Y10, Y1;      \
	VPAND     Y15, Y9, Y2;      \
	VPSLLD    $2, Y10, Y3;      \
	VPAND     Y14, Y1, Y1;      \
	VPAND     Y14, Y3, Y3;      \
	VPOR      Y1, Y0, Y0;       \
	VPOR      Y3, Y2, Y2;       \
	Q6KOUT(Y0, Y4, ooff);       \
	Q6KOUT(Y2, Y5, ooff+128);   \
	VPSRLD    $4, Y8, Y0;       \
	VPAND     Y14, Y10, Y1;     \
	VPSRLD    $4, Y9, Y2;       \
	VPSRLD    $2, Y10, Y3;      \
	VPAND     Y14, Y3, Y3;      \
	VPOR      Y1, Y0, Y0;       \
	VPOR      Y3, Y2, Y2;       \
	Q6KOUT(Y0, Y6, ooff+256);   \
	Q6KOUT(Y2, Y7, ooff+384)

// Q6K16 dequantizes l = 16·is…16·is+15 of half h: the four output runs of 16 take scales
// 8h+is, +2, +4, +6 (d·sc at soff(SP), 4 bytes each).
#define Q6K16(qloff, qhoff, ooff, soff) \
	VBROADCASTSS soff(SP), Y4;        \
	VBROADCASTSS soff+8(SP), Y5;      \
	VBROADCASTSS soff+16(SP), Y6;     \
	VBROADCASTSS soff+24(SP), Y7;     \
	Q6K8(qloff, qhoff, ooff);         \
	Q6K8(qloff+8, qhoff+8, ooff+32)

// func dequantF16AVX2(out *float32, src *byte, n8 int)
// 32 halves per iteration, then 8; NaN lanes (none in a real embedding table) are rewritten
// by F16NAN only in a group of 32 or 8 that has one.
TEXT ·dequantF16AVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n8+16(FP), CX
	BCASTD($0x7f800000, X15, Y15)
	BCASTD($0x80000000, X14, Y14)
	CMPQ CX, $32
	JLT  f16loop8

f16loop32:
	VCVTPH2PS 0(SI), Y0
	VCVTPH2PS 16(SI), Y1
	VCVTPH2PS 32(SI), Y2
	VCVTPH2PS 48(SI), Y3
	VCMPPS    $3, Y0, Y0, Y4 // unordered: NaN
	VCMPPS    $3, Y1, Y1, Y5
	VCMPPS    $3, Y2, Y2, Y6
	VCMPPS    $3, Y3, Y3, Y7
	VORPS     Y5, Y4, Y8
	VORPS     Y7, Y6, Y9
	VORPS     Y9, Y8, Y8
	VPTEST    Y8, Y8
	JNZ       f16nan32

f16store32:
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $64, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     f16loop32
	TESTQ   CX, CX
	JZ      f16done

f16loop8:
	VCVTPH2PS 0(SI), Y0
	VCMPPS    $3, Y0, Y0, Y4
	VPTEST    Y4, Y4
	JNZ       f16nan8

f16store8:
	VMOVUPS Y0, 0(DI)
	ADDQ    $16, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     f16loop8

f16done:
	VZEROUPPER
	RET

f16nan32:
	F16NAN(Y0, Y4, 0(SI))
	F16NAN(Y1, Y5, 16(SI))
	F16NAN(Y2, Y6, 32(SI))
	F16NAN(Y3, Y7, 48(SI))
	JMP f16store32

f16nan8:
	F16NAN(Y0, Y4, 0(SI))
	JMP f16store8

// func dequantQ8_0AVX2(out *float32, src *byte, nb int)
// y[j] = float32(qs[j]) · d.
TEXT ·dequantQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX

q80loop:
	HALF(0, X0, Y0)
	VPMOVSXBD 2(SI), Y1
	VPMOVSXBD 10(SI), Y2
	VPMOVSXBD 18(SI), Y3
	VPMOVSXBD 26(SI), Y4
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS    Y0, Y1, Y1
	VMULPS    Y0, Y2, Y2
	VMULPS    Y0, Y3, Y3
	VMULPS    Y0, Y4, Y4
	VMOVUPS   Y1, 0(DI)
	VMOVUPS   Y2, 32(DI)
	VMOVUPS   Y3, 64(DI)
	VMOVUPS   Y4, 96(DI)
	ADDQ      $34, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       q80loop
	VZEROUPPER
	RET

// func dequantQ4_0AVX2(out *float32, src *byte, nb int)
// y[j] = float32((qs[j]&15) − 8) · d, y[j+16] = float32((qs[j]>>4) − 8) · d.
TEXT ·dequantQ4_0AVX2(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCASTD($0x0f, X15, Y15)
	BCASTD($8, X14, Y14)

q40loop:
	HALF(0, X0, Y0)
	VPMOVZXBD 2(SI), Y1  // qs[0…7]
	VPMOVZXBD 10(SI), Y2 // qs[8…15]
	VPAND     Y15, Y1, Y3
	VPAND     Y15, Y2, Y4
	VPSRLD    $4, Y1, Y5
	VPSRLD    $4, Y2, Y6
	VPSUBD    Y14, Y3, Y3
	VPSUBD    Y14, Y4, Y4
	VPSUBD    Y14, Y5, Y5
	VPSUBD    Y14, Y6, Y6
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VMULPS    Y0, Y3, Y3
	VMULPS    Y0, Y4, Y4
	VMULPS    Y0, Y5, Y5
	VMULPS    Y0, Y6, Y6
	VMOVUPS   Y3, 0(DI)
	VMOVUPS   Y4, 32(DI)
	VMOVUPS   Y5, 64(DI)
	VMOVUPS   Y6, 96(DI)
	ADDQ      $18, SI
	ADDQ      $128, DI
	DECQ      CX
	JNZ       q40loop
	VZEROUPPER
	RET

// func dequantQ4_KAVX2(out *float32, src *byte, nb int)
// Chunk c of 32 bytes: y[64c+l] = float32(d1·(q[l]&15)) − m1, y[64c+32+l] = float32(d2·(q[l]>>4)) − m2
// with d1, m1 = d·sc, dmin·m of group 2c and d2, m2 those of group 2c+1.
TEXT ·dequantQ4_KAVX2(SB), NOSPLIT, $64-24
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCASTD($0x0f, X15, Y15)

q4kloop:
	KSCALES
	Q4KCHUNK(16, 0, 0)
	Q4KCHUNK(48, 256, 8)
	Q4KCHUNK(80, 512, 16)
	Q4KCHUNK(112, 768, 24)
	ADDQ $144, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  q4kloop
	VZEROUPPER
	RET

// func dequantQ5_KAVX2(out *float32, src *byte, nb int)
// Q4_K's formula with q = nibble + 16·(qh[l] bit 2c, or 2c+1 for the high nibble).
TEXT ·dequantQ5_KAVX2(SB), NOSPLIT, $64-24
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCASTD($0x0f, X15, Y15)
	BCASTD($0x10, X14, Y14)

q5kloop:
	KSCALES
	VPMOVZXBD 16(SI), Y10 // qh[0…7]
	VPMOVZXBD 24(SI), Y11
	VPMOVZXBD 32(SI), Y12
	VPMOVZXBD 40(SI), Y13
	Q5KCHUNK(48, 0, 0)
	Q5KCHUNK(80, 256, 8)
	Q5KCHUNK(112, 512, 16)
	Q5KCHUNK(144, 768, 24)
	ADDQ $176, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  q5kloop
	VZEROUPPER
	RET

// func dequantQ6_KAVX2(out *float32, src *byte, nb int)
// y[16j+i] = float32(d·sc[j]) · (q − 32), the 6-bit q from ql's nibble and two bits of qh
// (dequantize_row_q6_K's layout: per half h, ql[64h…], qh[32h…]).
TEXT ·dequantQ6_KAVX2(SB), NOSPLIT, $64-24
	MOVQ out+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BCASTD($0x0f, X15, Y15)
	BCASTD($0x30, X14, Y14)
	BCASTD($32, X13, Y13)

q6kloop:
	HALF(208, X0, Y0)
	VPMOVSXBD 192(SI), Y1 // sc[0…7]
	VPMOVSXBD 200(SI), Y2 // sc[8…15]
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VMULPS    Y0, Y1, Y1
	VMULPS    Y0, Y2, Y2
	VMOVUPS   Y1, 0(SP)
	VMOVUPS   Y2, 32(SP)
	Q6K16(0, 128, 0, 0)
	Q6K16(16, 144, 64, 4)
	Q6K16(64, 160, 512, 32)
	Q6K16(80, 176, 576, 36)
	ADDQ $210, SI
	ADDQ $1024, DI
	DECQ CX
	JNZ  q6kloop
	VZEROUPPER
	RET
