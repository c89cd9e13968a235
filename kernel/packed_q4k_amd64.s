//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"

// VNNI kernels over packed Q4_K (packed_q4k.go) and K-quant packed activations (packed.go,
// packActK). Per sub-block s and activation row: eight VPDPBUSD (nibbles 0…15 unsigned ×
// activation bytes broadcast) form Σ q·x in each row's lane, VPMULLD scales it by sc_s and
// VPADDD adds it to the row's isum; per super-block four VPDPWSSD form imin = Σ m_s·Σx_s from
// the int16 mins pairs and the activation sums; then acc += float32(isum)·(d·d_x) and
// acc −= float32(imin)·(dmin·d_x): the order of refBlockQ4_K, bit for bit.
// Go operand order is reversed from Intel's: VOP src2, src1, dst.

// P = 1 activation record (340 bytes): quants at 0, d_x at 256, Σx per 32 (8 × int16) at 260.

// Q4KPAIR1 adds sub-blocks 2p (low nibbles, chain Y3) and 2p+1 (high, chain Y4) of the
// activation row to the row lanes of isum (Y1). Y5/Y6 nibble scratch, Y7 scale, Y26 0x0f.
#define Q4KCHUNK1(p, k) \
	VMOVDQU       (160+(8*p+k)*32)(SI), Y5; \
	VPSRLW        $4, Y5, Y6;               \
	VPANDD        Y26, Y5, Y5;              \
	VPANDD        Y26, Y6, Y6;              \
	VPDPBUSD.BCST (64*p+4*k)(DI), Y5, Y3;    \
	VPDPBUSD.BCST (64*p+32+4*k)(DI), Y6, Y4

#define Q4KPAIR1(p) \
	VPXORD    Y3, Y3, Y3;          \
	VPXORD    Y4, Y4, Y4;          \
	Q4KCHUNK1(p, 0);               \
	Q4KCHUNK1(p, 1);               \
	Q4KCHUNK1(p, 2);               \
	Q4KCHUNK1(p, 3);               \
	Q4KCHUNK1(p, 4);               \
	Q4KCHUNK1(p, 5);               \
	Q4KCHUNK1(p, 6);               \
	Q4KCHUNK1(p, 7);               \
	VPMOVZXBD (32+16*p)(SI), Y7;   \
	VPMULLD   Y7, Y3, Y3;          \
	VPMOVZXBD (40+16*p)(SI), Y7;   \
	VPMULLD   Y7, Y4, Y4;          \
	VPADDD    Y3, Y1, Y1;          \
	VPADDD    Y4, Y1, Y1;          \
	VPMOVZXBW (96+16*p)(SI), Y7;   \
	VPDPWSSD.BCST (260+4*p)(DI), Y7, Y2

// func gemvQ4_Kx8VNNI(w, x *byte, nb, groups int, out *float32)
// groups packed groups of eight Q4_K rows (nb super-blocks each) × one activation row
// (P = 1): out[8g + r].
TEXT ·gemvQ4_Kx8VNNI(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), SI
	MOVQ         groups+24(FP), BX
	MOVQ         out+32(FP), DX
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y26

q4kgvgroup:
	MOVQ   x+8(FP), DI
	MOVQ   nb+16(FP), CX
	VXORPS Y0, Y0, Y0

q4kgvloop:
	VPXORD      Y1, Y1, Y1
	VPXORD      Y2, Y2, Y2
	Q4KPAIR1(0)
	Q4KPAIR1(1)
	Q4KPAIR1(2)
	Q4KPAIR1(3)
	VCVTDQ2PS   Y1, Y1
	VCVTPH2PS   (SI), Y3
	VMULPS.BCST 256(DI), Y3, Y3
	VMULPS      Y3, Y1, Y1
	VADDPS      Y1, Y0, Y0
	VCVTDQ2PS   Y2, Y2
	VCVTPH2PS   16(SI), Y4
	VMULPS.BCST 256(DI), Y4, Y4
	VMULPS      Y4, Y2, Y2
	VSUBPS      Y2, Y0, Y0
	ADDQ        $1184, SI
	ADDQ        $340, DI
	DECQ        CX
	JNZ         q4kgvloop

	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	DECQ    BX
	JNZ     q4kgvgroup
	VZEROUPPER
	RET

// P = 8 activation record (2720 bytes): quants of row c at 256c, d_x at 2048+4c, Σx per 32
// (8 × int16) at 2080+16c.

// Q4KCOL adds sub-block s of activation row c (chunks in Y8…Y15, sc_s in Y16) to isum yi,
// with Y25 scratch.
#define Q4KCOL(s, c, yi) \
	VPXORD        Y25, Y25, Y25;             \
	VPDPBUSD.BCST (256*c+32*s+0)(DI), Y8, Y25;  \
	VPDPBUSD.BCST (256*c+32*s+4)(DI), Y9, Y25;  \
	VPDPBUSD.BCST (256*c+32*s+8)(DI), Y10, Y25; \
	VPDPBUSD.BCST (256*c+32*s+12)(DI), Y11, Y25; \
	VPDPBUSD.BCST (256*c+32*s+16)(DI), Y12, Y25; \
	VPDPBUSD.BCST (256*c+32*s+20)(DI), Y13, Y25; \
	VPDPBUSD.BCST (256*c+32*s+24)(DI), Y14, Y25; \
	VPDPBUSD.BCST (256*c+32*s+28)(DI), Y15, Y25; \
	VPMULLD       Y16, Y25, Y25;             \
	VPADDD        Y25, yi, yi

// Q4KLO/Q4KHI load sub-block 2p's (low nibbles) or 2p+1's (high) chunk k into yk.
#define Q4KLO(p, k, yk) \
	VMOVDQU (160+(8*p+k)*32)(SI), yk; \
	VPANDD  Y26, yk, yk

#define Q4KHI(p, k, yk) \
	VMOVDQU (160+(8*p+k)*32)(SI), yk; \
	VPSRLW  $4, yk, yk;               \
	VPANDD  Y26, yk, yk

#define Q4KSUB(s) \
	VPMOVZXBD (32+8*s)(SI), Y16; \
	Q4KCOL(s, 0, Y17);           \
	Q4KCOL(s, 1, Y18);           \
	Q4KCOL(s, 2, Y19);           \
	Q4KCOL(s, 3, Y20);           \
	Q4KCOL(s, 4, Y21);           \
	Q4KCOL(s, 5, Y22);           \
	Q4KCOL(s, 6, Y23);           \
	Q4KCOL(s, 7, Y24)

#define Q4KLOAD(p, LD) \
	LD(p, 0, Y8);  \
	LD(p, 1, Y9);  \
	LD(p, 2, Y10); \
	LD(p, 3, Y11); \
	LD(p, 4, Y12); \
	LD(p, 5, Y13); \
	LD(p, 6, Y14); \
	LD(p, 7, Y15)

// Q4KFIN finishes activation row c's super-block: imin from the mins pairs in Y8…Y11, then
// the float updates of acc ya with d in Y13, dmin in Y14 (Y15, Y25 scratch); clears isum yi.
#define Q4KFIN(c, yi, ya) \
	VPXORD        Y25, Y25, Y25;              \
	VPDPWSSD.BCST (2080+16*c+0)(DI), Y8, Y25;  \
	VPDPWSSD.BCST (2080+16*c+4)(DI), Y9, Y25;  \
	VPDPWSSD.BCST (2080+16*c+8)(DI), Y10, Y25; \
	VPDPWSSD.BCST (2080+16*c+12)(DI), Y11, Y25; \
	VCVTDQ2PS     yi, yi;                     \
	VMULPS.BCST   (2048+4*c)(DI), Y13, Y15;   \
	VMULPS        Y15, yi, yi;                \
	VADDPS        yi, ya, ya;                 \
	VCVTDQ2PS     Y25, Y25;                   \
	VMULPS.BCST   (2048+4*c)(DI), Y14, Y15;   \
	VMULPS        Y15, Y25, Y25;              \
	VSUBPS        Y25, ya, ya;                \
	VPXORD        yi, yi, yi

// func gemmQ4_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)
// Eight Q4_K weight rows (one packed group, nb super-blocks) × eight activation rows (one
// P = 8 group): out[c·os + r] for r, c < 8 (os in float32s).
TEXT ·gemmQ4_Kx8x8VNNI(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), SI
	MOVQ         x+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Y26
	ZERO8
	VPXORD       Y17, Y17, Y17
	VPXORD       Y18, Y18, Y18
	VPXORD       Y19, Y19, Y19
	VPXORD       Y20, Y20, Y20
	VPXORD       Y21, Y21, Y21
	VPXORD       Y22, Y22, Y22
	VPXORD       Y23, Y23, Y23
	VPXORD       Y24, Y24, Y24

q4kx8loop:
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
	Q4KLOAD(0, Q4KLO)
	Q4KSUB(0)
	Q4KLOAD(0, Q4KHI)
	Q4KSUB(1)
	Q4KLOAD(1, Q4KLO)
	Q4KSUB(2)
	Q4KLOAD(1, Q4KHI)
	Q4KSUB(3)
	Q4KLOAD(2, Q4KLO)
	Q4KSUB(4)
	Q4KLOAD(2, Q4KHI)
	Q4KSUB(5)
	Q4KLOAD(3, Q4KLO)
	Q4KSUB(6)
	Q4KLOAD(3, Q4KHI)
	Q4KSUB(7)
	VPMOVZXBW (96)(SI), Y8
	VPMOVZXBW (112)(SI), Y9
	VPMOVZXBW (128)(SI), Y10
	VPMOVZXBW (144)(SI), Y11
	VCVTPH2PS (SI), Y13
	VCVTPH2PS 16(SI), Y14
	Q4KFIN(0, Y17, Y0)
	Q4KFIN(1, Y18, Y1)
	Q4KFIN(2, Y19, Y2)
	Q4KFIN(3, Y20, Y3)
	Q4KFIN(4, Y21, Y4)
	Q4KFIN(5, Y22, Y5)
	Q4KFIN(6, Y23, Y6)
	Q4KFIN(7, Y24, Y7)
	ADDQ      $1184, SI
	ADDQ      $2720, DI
	DECQ      CX
	JNZ       q4kx8loop

	MOVQ    out+24(FP), DX
	MOVQ    os+32(FP), AX
	SHLQ    $2, AX
	STORE8
	VZEROUPPER
	RET
