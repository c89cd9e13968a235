//go:build !purego

#include "textflag.h"

// Element-wise kernels of ops.go (ops.go documents each order). VEX only, Y0…Y15. Go operand
// order is reversed from Intel's: VOP src2, src1, dst.

// func addAVX2(out, a, b *float32, n8 int)
// out = a + b, 32 lanes per iteration, then 8.
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n8+24(FP), CX
	CMPQ CX, $32
	JLT  add8

add32:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS  0(DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VADDPS  64(DX), Y2, Y2
	VADDPS  96(DX), Y3, Y3
	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     add32
	TESTQ   CX, CX
	JZ      adddone

add8:
	VMOVUPS 0(SI), Y0
	VADDPS  0(DX), Y0, Y0
	VMOVUPS Y0, 0(DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     add8

adddone:
	VZEROUPPER
	RET

// func sumSquaresAVX2(x *float32, n16 int, p *[16]float64)
// Four float64 accumulators of four lanes: element 4k+l of each 16 goes to Y(k) lane l, as
// x², rounded to float32 (VMULPS), widened (VCVTPS2PD) and added (VADDPD).
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n16+8(FP), CX
	MOVQ   p+16(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

sqloop:
	VMOVUPS   0(SI), X4
	VMOVUPS   16(SI), X5
	VMOVUPS   32(SI), X6
	VMOVUPS   48(SI), X7
	VMULPS    X4, X4, X4
	VMULPS    X5, X5, X5
	VMULPS    X6, X6, X6
	VMULPS    X7, X7, X7
	VCVTPS2PD X4, Y4
	VCVTPS2PD X5, Y5
	VCVTPS2PD X6, Y6
	VCVTPS2PD X7, Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $64, SI
	SUBQ      $16, CX
	JNZ       sqloop

	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func rmsScaleAVX2(out, x, w *float32, scale float32, n8 int)
// out = (x·scale)·w, or x·scale when w is nil; each product rounded.
TEXT ·rmsScaleAVX2(SB), NOSPLIT, $0-40
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	VBROADCASTSS scale+24(FP), Y0
	MOVQ         n8+32(FP), CX
	TESTQ        DX, DX
	JZ           noweight

wloop:
	VMULPS  0(SI), Y0, Y1
	VMULPS  0(DX), Y1, Y1
	VMOVUPS Y1, 0(DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     wloop
	VZEROUPPER
	RET

noweight:
	VMULPS  0(SI), Y0, Y1
	VMOVUPS Y1, 0(DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     noweight
	VZEROUPPER
	RET

// func ropeNormAVX2(x *float32, nHeads, headDim int, cache *float32, nd8 int)
// Per block of four pairs (the same cos/sin for every head): c = (c c c' c' …) (VMOVSLDUP),
// s = (s s s' s' …) (VMOVSHDUP), x = (x0 x1 …), xs = (x1 x0 …) (VPERMILPS); VADDSUBPS of
// x·c and xs·s gives x0·c − x1·s in the even lanes and x1·c + x0·s in the odd ones.
TEXT ·ropeNormAVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), DI
	MOVQ nHeads+8(FP), BX
	MOVQ headDim+16(FP), DX
	SHLQ $2, DX                // head stride in bytes
	MOVQ cache+24(FP), SI
	MOVQ nd8+32(FP), CX

nblock:
	VMOVUPS   0(SI), Y0
	VMOVSLDUP Y0, Y1
	VMOVSHDUP Y0, Y2
	MOVQ      DI, R9
	MOVQ      BX, R10

nhead:
	VMOVUPS   0(R9), Y3
	VPERMILPS $0xB1, Y3, Y4
	VMULPS    Y1, Y3, Y3
	VMULPS    Y2, Y4, Y4
	VADDSUBPS Y4, Y3, Y3
	VMOVUPS   Y3, 0(R9)
	ADDQ      DX, R9
	DECQ      R10
	JNZ       nhead

	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  nblock
	VZEROUPPER
	RET

// func ropeNeoXAVX2(x *float32, nHeads, headDim, half int, cache *float32, h8 int)
// Per block of eight pairs (the same cos/sin for every head): the sixteen cache floats
// (c0 s0 … c7 s7) are split into c = (c0 … c7) and s = (s0 … s7) with VSHUFPS and VPERMPD;
// then v[i] = x0·c − x1·s and v[i+half] = x0·s + x1·c lane-wise.
TEXT ·ropeNeoXAVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), DI
	MOVQ nHeads+8(FP), BX
	MOVQ headDim+16(FP), DX
	SHLQ $2, DX                // head stride in bytes
	MOVQ half+24(FP), R11
	SHLQ $2, R11               // offset of the second half in bytes
	MOVQ cache+32(FP), SI
	MOVQ h8+40(FP), CX

xblock:
	VMOVUPS 0(SI), Y0          // c0 s0 c1 s1 | c2 s2 c3 s3
	VMOVUPS 32(SI), Y1         // c4 s4 c5 s5 | c6 s6 c7 s7
	VSHUFPS $0x88, Y1, Y0, Y2  // c0 c1 c4 c5 | c2 c3 c6 c7
	VSHUFPS $0xDD, Y1, Y0, Y3  // s0 s1 s4 s5 | s2 s3 s6 s7
	VPERMPD $0xD8, Y2, Y2      // c0 … c7
	VPERMPD $0xD8, Y3, Y3      // s0 … s7
	MOVQ    DI, R9
	MOVQ    BX, R10

xhead:
	VMOVUPS 0(R9), Y4          // x0
	VMOVUPS 0(R9)(R11*1), Y5   // x1
	VMULPS  Y2, Y4, Y6         // x0·c
	VMULPS  Y3, Y5, Y7         // x1·s
	VSUBPS  Y7, Y6, Y6         // x0·c − x1·s
	VMULPS  Y3, Y4, Y4         // x0·s
	VMULPS  Y2, Y5, Y5         // x1·c
	VADDPS  Y5, Y4, Y4         // x0·s + x1·c
	VMOVUPS Y6, 0(R9)
	VMOVUPS Y4, 0(R9)(R11*1)
	ADDQ    DX, R9
	DECQ    R10
	JNZ     xhead

	ADDQ $32, DI
	ADDQ $64, SI
	SUBQ $8, CX
	JNZ  xblock
	VZEROUPPER
	RET
