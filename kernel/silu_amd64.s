//go:build !purego

#include "textflag.h"

// SiLUMul kernel (ops.go documents the order). Go operand order is reversed from Intel's:
// VOP src2, src1, dst.

// Constants of expf (attn_simd.go; the same values as expc<> in attn_amd64.s), as float32
// bit patterns.
DATA siluc<>+0(SB)/4, $0xc2aeae14  // -87.34
DATA siluc<>+4(SB)/4, $0x3fb8aa3b  // log2e
DATA siluc<>+8(SB)/4, $0x3f000000  // 0.5
DATA siluc<>+12(SB)/4, $0x3f318000 // c1 = 0.693359375
DATA siluc<>+16(SB)/4, $0xb95e8083 // c2 = -2.12194440e-4
DATA siluc<>+20(SB)/4, $0x39506967 // p0
DATA siluc<>+24(SB)/4, $0x3ab743ce // p1
DATA siluc<>+28(SB)/4, $0x3c088908 // p2
DATA siluc<>+32(SB)/4, $0x3d2aa9c1 // p3
DATA siluc<>+36(SB)/4, $0x3e2aaaaa // p4
DATA siluc<>+40(SB)/4, $0x3f000000 // p5
DATA siluc<>+44(SB)/4, $0x3f800000 // 1
DATA siluc<>+48(SB)/4, $127        // exponent bias (int32)
DATA siluc<>+52(SB)/4, $0x80000000 // sign bit
GLOBL siluc<>(SB), RODATA|NOPTR, $56

// func siLUMulAVX2(out, gate, up *float32, n8 int)
// Per 8 lanes: e = expf(−|g|) with the operations of expf in its order, t = 1 + e,
// s = (g < 0 ? e : 1) / t, out = (g·s)·up; each rounded (no FMA).
TEXT ·siLUMulAVX2(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         gate+8(FP), SI
	MOVQ         up+16(FP), DX
	MOVQ         n8+24(FP), CX
	VBROADCASTSS siluc<>+52(SB), Y15 // sign bit
	VBROADCASTSS siluc<>+0(SB), Y14  // min
	VBROADCASTSS siluc<>+4(SB), Y13  // log2e
	VBROADCASTSS siluc<>+8(SB), Y12  // 0.5
	VBROADCASTSS siluc<>+12(SB), Y11 // c1
	VBROADCASTSS siluc<>+16(SB), Y10 // c2
	VBROADCASTSS siluc<>+44(SB), Y9  // 1
	VPBROADCASTD siluc<>+48(SB), Y8  // 127

siloop:
	VMOVUPS      0(SI), Y0        // g
	VORPS        Y15, Y0, Y1      // x = -|g|
	VMULPS       Y13, Y1, Y2
	VADDPS       Y12, Y2, Y2
	VROUNDPS     $1, Y2, Y2       // fn = floor(x·log2e + 0.5)
	VMULPS       Y11, Y2, Y3
	VSUBPS       Y3, Y1, Y3       // r = x - fn·c1
	VMULPS       Y10, Y2, Y4
	VSUBPS       Y4, Y3, Y3       // r -= fn·c2
	VMULPS       Y3, Y3, Y4       // z = r·r
	VBROADCASTSS siluc<>+20(SB), Y5
	VMULPS       Y3, Y5, Y5       // p0·r
	VBROADCASTSS siluc<>+24(SB), Y6
	VADDPS       Y6, Y5, Y5
	VMULPS       Y3, Y5, Y5
	VBROADCASTSS siluc<>+28(SB), Y6
	VADDPS       Y6, Y5, Y5
	VMULPS       Y3, Y5, Y5
	VBROADCASTSS siluc<>+32(SB), Y6
	VADDPS       Y6, Y5, Y5
	VMULPS       Y3, Y5, Y5
	VBROADCASTSS siluc<>+36(SB), Y6
	VADDPS       Y6, Y5, Y5
	VMULPS       Y3, Y5, Y5
	VBROADCASTSS siluc<>+40(SB), Y6
	VADDPS       Y6, Y5, Y5
	VMULPS       Y4, Y5, Y5       // y·z
	VADDPS       Y3, Y5, Y5       // + r
	VADDPS       Y9, Y5, Y5       // + 1
	VCVTPS2DQ    Y2, Y2           // n (exact where kept: fn is an integer in [-126, 0])
	VPADDD       Y8, Y2, Y2
	VPSLLD       $23, Y2, Y2      // 2^n
	VMULPS       Y2, Y5, Y5
	VCMPPS       $0x1d, Y14, Y1, Y6 // x >= min (false for NaN and -Inf)
	VANDPS       Y6, Y5, Y5         // e = expf(x), 0 below min (and for NaN: g·s is NaN anyway)
	VADDPS       Y9, Y5, Y6         // t = 1 + e
	VBLENDVPS    Y0, Y5, Y9, Y5     // g's sign bit ? e : 1 (for -0, e = expf(-0) = 1 anyway)
	VDIVPS       Y6, Y5, Y5         // s = that / t
	VMULPS       Y0, Y5, Y5         // g·s
	VMULPS       0(DX), Y5, Y5      // ·up
	VMOVUPS      Y5, 0(DI)
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          siloop

	VZEROUPPER
	RET
