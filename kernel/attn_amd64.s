//go:build !purego

#include "textflag.h"

// Attention row kernels over F16 K/V rows (attn_simd.go documents the orders).
// Go operand order is reversed from Intel's: VOP src2, src1, dst.

// func dotF16RowsAVX2(q *float32, k *byte, stride, hd16, m int, out *float32)
TEXT ·dotF16RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ  q+0(FP), DI
	MOVQ  k+8(FP), SI
	MOVQ  stride+16(FP), R8
	MOVQ  hd16+24(FP), R9
	MOVQ  m+32(FP), CX
	MOVQ  out+40(FP), DX
	TESTQ CX, CX
	JZ    drdone

drrow:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	MOVQ   SI, BX
	MOVQ   DI, R10
	MOVQ   R9, AX

drcol:
	VCVTPH2PS   0(BX), Y2
	VCVTPH2PS   16(BX), Y3
	VFMADD231PS 0(R10), Y2, Y0
	VFMADD231PS 32(R10), Y3, Y1
	ADDQ        $32, BX
	ADDQ        $64, R10
	SUBQ        $16, AX
	JNZ         drcol

	// (a0+a1) lane-wise, then hsum8: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	MOVSS        X0, 0(DX)
	ADDQ         $4, DX
	ADDQ         R8, SI
	DECQ         CX
	JNZ          drrow

drdone:
	VZEROUPPER
	RET

// func axpyF16RowsAVX2(acc, w *float32, v *byte, stride, hd16, m int)
// Columns in strips of 32 (then one of 16), each strip's accumulators kept in registers
// across all m rows; per element the multiply-adds run in row order.
TEXT ·axpyF16RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ  acc+0(FP), DI
	MOVQ  w+8(FP), R11
	MOVQ  v+16(FP), SI
	MOVQ  stride+24(FP), R8
	MOVQ  hd16+32(FP), R9
	MOVQ  m+40(FP), CX
	TESTQ CX, CX
	JZ    axdone

ax32:
	CMPQ    R9, $32
	JLT     ax16
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ    SI, BX
	MOVQ    R11, R10
	MOVQ    CX, DX

ax32row:
	VBROADCASTSS 0(R10), Y8
	VCVTPH2PS    0(BX), Y4
	VCVTPH2PS    16(BX), Y5
	VCVTPH2PS    32(BX), Y6
	VCVTPH2PS    48(BX), Y7
	VFMADD231PS  Y4, Y8, Y0
	VFMADD231PS  Y5, Y8, Y1
	VFMADD231PS  Y6, Y8, Y2
	VFMADD231PS  Y7, Y8, Y3
	ADDQ         $4, R10
	ADDQ         R8, BX
	DECQ         DX
	JNZ          ax32row

	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, DI
	ADDQ    $64, SI
	SUBQ    $32, R9
	JMP     ax32

ax16:
	TESTQ   R9, R9
	JZ      axdone
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	MOVQ    SI, BX
	MOVQ    R11, R10
	MOVQ    CX, DX

ax16row:
	VBROADCASTSS 0(R10), Y8
	VCVTPH2PS    0(BX), Y4
	VCVTPH2PS    16(BX), Y5
	VFMADD231PS  Y4, Y8, Y0
	VFMADD231PS  Y5, Y8, Y1
	ADDQ         $4, R10
	ADDQ         R8, BX
	DECQ         DX
	JNZ          ax16row

	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)

axdone:
	VZEROUPPER
	RET
