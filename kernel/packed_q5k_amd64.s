//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"

// VNNI kernels over the packed Q5_K layout of packed_q5k.go and K-quant packed activations
// (packed.go, packActK): eight weight rows per 256-bit register, activations broadcast four
// bytes at a time (EVEX embedded broadcast, .BCST). Per sub-block s (32 elements): Q5KUNPACK
// turns its five 32-byte vectors into eight chunk registers (bytes 0…31); per activation row
// eight VPDPBUSD form Σ q·x in each row's lane, VPMULLD multiplies by the rows' sc_s and VPADDD
// adds that into the rows' isum; per super-block four VPDPWSSD form imin = Σ m_s·Σx_s from the
// int16 (m_2p, m_2p+1) pairs and the activation sums, then acc += float32(isum)·(d·d_x) and
// acc −= float32(imin)·(dmin·d_x): the order of refBlockQ5_K, so results are bit-identical to
// it. Go operand order is reversed from Intel's: VOP src2, src1, dst; for VPTERNLOGD $imm, C,
// B, A the result bit is imm[A<<2 | B<<1 | C] and A is also the destination, so $0xE4 is
// "C ? A : B" and $0xD8 is "C ? B : A".

// Constants (all kernels): Y26 = 0x1f bytes, Y27 = 0x07 bytes, Y28 = 0x0f bytes, Y31 = 63
// dwords.
#define Q5KCONSTS \
	MOVL         $0x1f1f1f1f, AX; \
	VPBROADCASTD AX, Y26;         \
	MOVL         $0x07070707, AX; \
	VPBROADCASTD AX, Y27;         \
	MOVL         $0x0f0f0f0f, AX; \
	VPBROADCASTD AX, Y28;         \
	MOVL         $63, AX;         \
	VPBROADCASTD AX, Y31

// Q5KUNPACK unpacks sub-block s of the weight record at SI (V0…V4 at 128+160s, +32, …, +128)
// into chunk registers c0…c7 (chunk c: elements 32s+4c … +3 of the eight rows, bytes 0…31);
// t1, t2 are scratch. Five loads and nineteen instructions: c0…c4 = V0…V4 & 0x1f; c5 = (V0 >> 5
// under 0x07, else V3 >> 2) & 0x1f; c6 likewise from V1, V4; c7 = (V2 >> 5 under 0x07, else
// (V3 >> 4 under 0x0f, else V4 >> 3)) & 0x1f. The word shifts bring the next byte's low bits
// into a byte's top bits, where the merges take the other operand or the AND clears them.
#define Q5KUNPACK(s, c0, c1, c2, c3, c4, c5, c6, c7, t1, t2) \
	VMOVDQU32  (128+160*(s))(SI), c0; \
	VMOVDQU32  (160+160*(s))(SI), c1; \
	VMOVDQU32  (192+160*(s))(SI), c2; \
	VMOVDQU32  (224+160*(s))(SI), c3; \
	VMOVDQU32  (256+160*(s))(SI), c4; \
	VPSRLW     $5, c0, c5;          \
	VPSRLW     $2, c3, t1;          \
	VPTERNLOGD $0xE4, Y27, t1, c5;  \
	VPSRLW     $5, c1, c6;          \
	VPSRLW     $2, c4, t1;          \
	VPTERNLOGD $0xE4, Y27, t1, c6;  \
	VPSRLW     $5, c2, c7;          \
	VPSRLW     $4, c3, t1;          \
	VPSRLW     $3, c4, t2;          \
	VPTERNLOGD $0xE4, Y28, t2, t1;  \
	VPTERNLOGD $0xE4, Y27, t1, c7;  \
	VPANDD     Y26, c0, c0;         \
	VPANDD     Y26, c1, c1;         \
	VPANDD     Y26, c2, c2;         \
	VPANDD     Y26, c3, c3;         \
	VPANDD     Y26, c4, c4;         \
	VPANDD     Y26, c5, c5;         \
	VPANDD     Y26, c6, c6;         \
	VPANDD     Y26, c7, c7

// Q5KSCLO/Q5KSCHI load the scales sc_2p / sc_2p+1 of pair p of the eight rows into dwords ys.
#define Q5KSCLO(p, ys) \
	VPMOVZXWD (32+16*p)(SI), ys; \
	VPANDD    Y31, ys, ys

#define Q5KSCHI(p, ys) \
	VPMOVZXWD (32+16*p)(SI), ys; \
	VPSRLD    $8, ys, ys;        \
	VPANDD    Y31, ys, ys

// Q5KMINS builds the rows' int16 (m_2p, m_2p+1) pairs of pair p = 0…3 in m0…m3 (each word: the
// nibble under 0x0f, the scale bytes' top bits shifted to bits 4…5 elsewhere); yt is scratch.
#define Q5KMINS(m0, m1, m2, m3, yt) \
	VPMOVZXBW  96(SI), yt;         \
	VPMOVZXBW  32(SI), m0;         \
	VPSRLW     $2, m0, m0;         \
	VPTERNLOGD $0xD8, Y28, yt, m0; \
	VPSRLW     $4, yt, yt;         \
	VPMOVZXBW  48(SI), m1;         \
	VPSRLW     $2, m1, m1;         \
	VPTERNLOGD $0xD8, Y28, yt, m1; \
	VPMOVZXBW  112(SI), yt;        \
	VPMOVZXBW  64(SI), m2;         \
	VPSRLW     $2, m2, m2;         \
	VPTERNLOGD $0xD8, Y28, yt, m2; \
	VPSRLW     $4, yt, yt;         \
	VPMOVZXBW  80(SI), m3;         \
	VPSRLW     $2, m3, m3;         \
	VPTERNLOGD $0xD8, Y28, yt, m3

// P = 8 activation record (2720 bytes): quants of row c at 256c (sub-block s at +32s), d_x at
// 2048+4c, Σx per 32 (8 × int16) at 2080+16c.

// Q5KCOL adds sub-block s of activation row c (chunks in Y8…Y15, sc_s in Y16) to isum yi, with
// Y25 scratch.
#define Q5KCOL(s, c, yi) \
	VPXORD        Y25, Y25, Y25;                \
	VPDPBUSD.BCST (256*c+32*s+0)(DI), Y8, Y25;  \
	VPDPBUSD.BCST (256*c+32*s+4)(DI), Y9, Y25;  \
	VPDPBUSD.BCST (256*c+32*s+8)(DI), Y10, Y25; \
	VPDPBUSD.BCST (256*c+32*s+12)(DI), Y11, Y25; \
	VPDPBUSD.BCST (256*c+32*s+16)(DI), Y12, Y25; \
	VPDPBUSD.BCST (256*c+32*s+20)(DI), Y13, Y25; \
	VPDPBUSD.BCST (256*c+32*s+24)(DI), Y14, Y25; \
	VPDPBUSD.BCST (256*c+32*s+28)(DI), Y15, Y25; \
	VPMULLD       Y16, Y25, Y25;                \
	VPADDD        Y25, yi, yi

// Q5KSUB8 adds sub-block s (of pair p, scale loader SC) to the isums Y17…Y24 of the eight
// activation rows.
#define Q5KSUB8(s, p, SC) \
	Q5KUNPACK(s, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15, Y29, Y30); \
	SC(p, Y16);                                                  \
	Q5KCOL(s, 0, Y17);                                           \
	Q5KCOL(s, 1, Y18);                                           \
	Q5KCOL(s, 2, Y19);                                           \
	Q5KCOL(s, 3, Y20);                                           \
	Q5KCOL(s, 4, Y21);                                           \
	Q5KCOL(s, 5, Y22);                                           \
	Q5KCOL(s, 6, Y23);                                           \
	Q5KCOL(s, 7, Y24)

// Q5KSUB4 is Q5KSUB8 for the first four activation rows (isums Y17…Y20).
#define Q5KSUB4(s, p, SC) \
	Q5KUNPACK(s, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15, Y29, Y30); \
	SC(p, Y16);                                                  \
	Q5KCOL(s, 0, Y17);                                           \
	Q5KCOL(s, 1, Y18);                                           \
	Q5KCOL(s, 2, Y19);                                           \
	Q5KCOL(s, 3, Y20)

// Q5KFIN finishes activation row c's super-block: imin from the mins pairs in Y8…Y11, then the
// float updates of acc ya with d in Y13, dmin in Y14 (Y15, Y25 scratch); clears isum yi.
#define Q5KFIN(c, yi, ya) \
	VPXORD        Y25, Y25, Y25;                 \
	VPDPWSSD.BCST (2080+16*c+0)(DI), Y8, Y25;    \
	VPDPWSSD.BCST (2080+16*c+4)(DI), Y9, Y25;    \
	VPDPWSSD.BCST (2080+16*c+8)(DI), Y10, Y25;   \
	VPDPWSSD.BCST (2080+16*c+12)(DI), Y11, Y25;  \
	VCVTDQ2PS     yi, yi;                        \
	VMULPS.BCST   (2048+4*c)(DI), Y13, Y15;      \
	VMULPS        Y15, yi, yi;                   \
	VADDPS        yi, ya, ya;                    \
	VCVTDQ2PS     Y25, Y25;                      \
	VMULPS.BCST   (2048+4*c)(DI), Y14, Y15;      \
	VMULPS        Y15, Y25, Y25;                 \
	VSUBPS        Y25, ya, ya;                   \
	VPXORD        yi, yi, yi

// func gemmQ5_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)
// Eight Q5_K weight rows (one packed group, nb super-blocks) × eight activation rows (one P = 8
// group): out[c·os + r] for r, c < 8 (os in float32s).
TEXT ·gemmQ5_Kx8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	Q5KCONSTS
	ZERO8
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20
	VPXORD Y21, Y21, Y21
	VPXORD Y22, Y22, Y22
	VPXORD Y23, Y23, Y23
	VPXORD Y24, Y24, Y24

q5kx8loop:
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
	Q5KSUB8(0, 0, Q5KSCLO)
	Q5KSUB8(1, 0, Q5KSCHI)
	Q5KSUB8(2, 1, Q5KSCLO)
	Q5KSUB8(3, 1, Q5KSCHI)
	Q5KSUB8(4, 2, Q5KSCLO)
	Q5KSUB8(5, 2, Q5KSCHI)
	Q5KSUB8(6, 3, Q5KSCLO)
	Q5KSUB8(7, 3, Q5KSCHI)
	Q5KMINS(Y8, Y9, Y10, Y11, Y12)
	VCVTPH2PS (SI), Y13
	VCVTPH2PS 16(SI), Y14
	Q5KFIN(0, Y17, Y0)
	Q5KFIN(1, Y18, Y1)
	Q5KFIN(2, Y19, Y2)
	Q5KFIN(3, Y20, Y3)
	Q5KFIN(4, Y21, Y4)
	Q5KFIN(5, Y22, Y5)
	Q5KFIN(6, Y23, Y6)
	Q5KFIN(7, Y24, Y7)
	ADDQ      $1408, SI
	ADDQ      $2720, DI
	DECQ      CX
	JNZ       q5kx8loop

	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE8
	VZEROUPPER
	RET

// func gemm4Q5_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)
// gemmQ5_Kx8x8VNNI for the first four activation rows of the group only: out[c·os + r] for
// r < 8, c < 4 (batches of two to four rows, or a group's tail, do half the work).
TEXT ·gemm4Q5_Kx8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	Q5KCONSTS
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VPXORD Y17, Y17, Y17
	VPXORD Y18, Y18, Y18
	VPXORD Y19, Y19, Y19
	VPXORD Y20, Y20, Y20

q5kx4loop:
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
	Q5KSUB4(0, 0, Q5KSCLO)
	Q5KSUB4(1, 0, Q5KSCHI)
	Q5KSUB4(2, 1, Q5KSCLO)
	Q5KSUB4(3, 1, Q5KSCHI)
	Q5KSUB4(4, 2, Q5KSCLO)
	Q5KSUB4(5, 2, Q5KSCHI)
	Q5KSUB4(6, 3, Q5KSCLO)
	Q5KSUB4(7, 3, Q5KSCHI)
	Q5KMINS(Y8, Y9, Y10, Y11, Y12)
	VCVTPH2PS (SI), Y13
	VCVTPH2PS 16(SI), Y14
	Q5KFIN(0, Y17, Y0)
	Q5KFIN(1, Y18, Y1)
	Q5KFIN(2, Y19, Y2)
	Q5KFIN(3, Y20, Y3)
	ADDQ      $1408, SI
	ADDQ      $2720, DI
	DECQ      CX
	JNZ       q5kx4loop

	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE4
	VZEROUPPER
	RET

// P = 1 activation record (340 bytes): quants at 0 (sub-block s at 32s), d_x at 256, Σx per
// 32 (8 × int16) at 260.

// Q5KPAIR1 adds sub-blocks 2p and 2p+1 of the activation row to isum Y1: both are unpacked
// first (chunks in Y8…Y15 and Y16…Y23, scratch Y24, Y25; one VPMOVZXWD loads both scales, into
// Y29, Y30), then their products run as four interleaved chains of four VPDPBUSD (chunks 0…3
// and 4…7 of each, in Y3…Y6), so that a chain's latency overlaps the other chains' work (one
// sub-block at a time, in two chains, was about 10% slower).
#define Q5KPAIR1(p) \
	Q5KUNPACK(2*p, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15, Y24, Y25);    \
	Q5KUNPACK(2*p+1, Y16, Y17, Y18, Y19, Y20, Y21, Y22, Y23, Y24, Y25); \
	VPMOVZXWD     (32+16*p)(SI), Y29;                                 \
	VPSRLD        $8, Y29, Y30;                                       \
	VPANDD        Y31, Y29, Y29;                                      \
	VPANDD        Y31, Y30, Y30;                                      \
	VPXORD        Y3, Y3, Y3;                                         \
	VPXORD        Y4, Y4, Y4;                                         \
	VPXORD        Y5, Y5, Y5;                                         \
	VPXORD        Y6, Y6, Y6;                                         \
	VPDPBUSD.BCST (64*p+0)(DI), Y8, Y3;                               \
	VPDPBUSD.BCST (64*p+16)(DI), Y12, Y4;                             \
	VPDPBUSD.BCST (64*p+32)(DI), Y16, Y5;                             \
	VPDPBUSD.BCST (64*p+48)(DI), Y20, Y6;                             \
	VPDPBUSD.BCST (64*p+4)(DI), Y9, Y3;                               \
	VPDPBUSD.BCST (64*p+20)(DI), Y13, Y4;                             \
	VPDPBUSD.BCST (64*p+36)(DI), Y17, Y5;                             \
	VPDPBUSD.BCST (64*p+52)(DI), Y21, Y6;                             \
	VPDPBUSD.BCST (64*p+8)(DI), Y10, Y3;                              \
	VPDPBUSD.BCST (64*p+24)(DI), Y14, Y4;                             \
	VPDPBUSD.BCST (64*p+40)(DI), Y18, Y5;                             \
	VPDPBUSD.BCST (64*p+56)(DI), Y22, Y6;                             \
	VPDPBUSD.BCST (64*p+12)(DI), Y11, Y3;                             \
	VPDPBUSD.BCST (64*p+28)(DI), Y15, Y4;                             \
	VPDPBUSD.BCST (64*p+44)(DI), Y19, Y5;                             \
	VPDPBUSD.BCST (64*p+60)(DI), Y23, Y6;                             \
	VPADDD        Y4, Y3, Y3;                                         \
	VPADDD        Y6, Y5, Y5;                                         \
	VPMULLD       Y29, Y3, Y3;                                        \
	VPMULLD       Y30, Y5, Y5;                                        \
	VPADDD        Y3, Y1, Y1;                                         \
	VPADDD        Y5, Y1, Y1

// func gemvQ5_Kx8VNNI(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight Q5_K rows (nb super-blocks each, one after another) × one
// activation row (P = 1): out[8g + r].
TEXT ·gemvQ5_Kx8VNNI(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ groups+24(FP), BX
	MOVQ out+32(FP), DX
	Q5KCONSTS

q5kgvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q5kgvloop:
	VPXORD        Y1, Y1, Y1
	Q5KPAIR1(0)
	Q5KPAIR1(1)
	Q5KPAIR1(2)
	Q5KPAIR1(3)
	Q5KMINS(Y8, Y9, Y10, Y11, Y12)
	VPXORD        Y2, Y2, Y2
	VPDPWSSD.BCST 260(DI), Y8, Y2
	VPDPWSSD.BCST 264(DI), Y9, Y2
	VPDPWSSD.BCST 268(DI), Y10, Y2
	VPDPWSSD.BCST 272(DI), Y11, Y2
	VCVTDQ2PS     Y1, Y1
	VCVTPH2PS     (SI), Y3
	VMULPS.BCST   256(DI), Y3, Y3
	VMULPS        Y3, Y1, Y1
	VADDPS        Y1, Y0, Y0
	VCVTDQ2PS     Y2, Y2
	VCVTPH2PS     16(SI), Y4
	VMULPS.BCST   256(DI), Y4, Y4
	VMULPS        Y4, Y2, Y2
	VSUBPS        Y2, Y0, Y0
	ADDQ          $1408, SI
	ADDQ          $340, DI
	DECQ          CX
	JNZ           q5kgvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q5kgvgroup
	VZEROUPPER
	RET
