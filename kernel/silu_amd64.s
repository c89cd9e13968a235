//go:build !purego

#include "textflag.h"
#include "expf_amd64.h"

// SiLUMul kernel (ops.go documents the order). Go operand order is reversed from Intel's:
// VOP src2, src1, dst.

DATA signbit<>+0(SB)/4, $0x80000000
GLOBL signbit<>(SB), RODATA|NOPTR, $4

// func siLUMulAVX2(out, gate, up *float32, n8 int)
// Per 8 lanes: e = expf(−|g|) with the operations of expf in its order, t = 1 + e,
// s = (g < 0 ? e : 1) / t, out = (g·s)·up; each rounded (no FMA).
TEXT ·siLUMulAVX2(SB), NOSPLIT, $0-32
	MOVQ         out+0(FP), DI
	MOVQ         gate+8(FP), SI
	MOVQ         up+16(FP), DX
	MOVQ         n8+24(FP), CX
	VBROADCASTSS signbit<>(SB), Y15
	EXPFCONSTS

siloop:
	VMOVUPS      0(SI), Y0        // g
	VORPS        Y15, Y0, Y1      // x = -|g|
	EXPF(Y1, Y2, Y3, Y4, Y5, Y6) // e = expf(x), 0 below min (and for NaN: g·s is NaN anyway)
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
