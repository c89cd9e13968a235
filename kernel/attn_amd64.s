//go:build !purego

#include "textflag.h"
#include "acc_amd64.h"
#include "hsum_amd64.h"
#include "expf_amd64.h"

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
	HSUM8(Y0, X0, X1)
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

// func expShiftAVX2(s *float32, n8 int, m float32) float32
// Per 8 lanes, the operations of expf in the same order, each rounded (no FMA).
TEXT ·expShiftAVX2(SB), NOSPLIT, $0-28
	MOVQ         s+0(FP), DI
	MOVQ         n8+8(FP), CX
	VBROADCASTSS m+16(FP), Y15
	EXPFCONSTS
	VXORPS       Y7, Y7, Y7         // lane sums

exloop:
	VMOVUPS      0(DI), Y0
	VSUBPS       Y15, Y0, Y0      // x = s - m
	EXPF(Y0, Y1, Y2, Y3, Y4, Y5)
	VCMPPS       $3, Y0, Y0, Y6     // x is NaN
	VBLENDVPS    Y6, Y0, Y4, Y4     // NaN stays NaN
	VMOVUPS      Y4, 0(DI)
	VADDPS       Y4, Y7, Y7
	ADDQ         $32, DI
	SUBQ         $8, CX
	JNZ          exloop

	HSUM8(Y7, X7, X1)
	VZEROUPPER
	MOVSS        X7, ret+24(FP)
	RET

// Four-head variants for grouped-query attention: the four query heads that share a K/V head
// read the same K/V rows, so each F16 row is widened once for all four. Per head the
// operations and their order are exactly those of dotF16RowsAVX2 / axpyF16RowsAVX2, so the
// results are bit-identical to four single-head calls.

// func dotF16Rows4HAVX2(q *float32, qs int, k *byte, stride, hd16, m int, out *float32, os int)
// out[h·os + j] = q_h · k_j for h < 4, j < m; q_h at q + h·qs floats, k_j at k + j·stride bytes.
TEXT ·dotF16Rows4HAVX2(SB), NOSPLIT, $0-64
	MOVQ  q+0(FP), DI
	MOVQ  qs+8(FP), AX
	SHLQ  $2, AX
	LEAQ  (DI)(AX*1), R11
	LEAQ  (R11)(AX*1), R12
	LEAQ  (R12)(AX*1), R13
	MOVQ  k+16(FP), SI
	MOVQ  stride+24(FP), R8
	MOVQ  hd16+32(FP), R9
	MOVQ  m+40(FP), CX
	MOVQ  out+48(FP), DX
	MOVQ  os+56(FP), R14
	SHLQ  $2, R14
	TESTQ CX, CX
	JZ    d4done

d4row:
	ZERO8
	MOVQ   SI, BX
	XORQ   R10, R10 // byte offset into the q rows
	MOVQ   R9, AX

d4col:
	VCVTPH2PS   0(BX), Y8
	VCVTPH2PS   16(BX), Y9
	VFMADD231PS 0(DI)(R10*1), Y8, Y0
	VFMADD231PS 32(DI)(R10*1), Y9, Y1
	VFMADD231PS 0(R11)(R10*1), Y8, Y2
	VFMADD231PS 32(R11)(R10*1), Y9, Y3
	VFMADD231PS 0(R12)(R10*1), Y8, Y4
	VFMADD231PS 32(R12)(R10*1), Y9, Y5
	VFMADD231PS 0(R13)(R10*1), Y8, Y6
	VFMADD231PS 32(R13)(R10*1), Y9, Y7
	ADDQ        $32, BX
	ADDQ        $64, R10
	SUBQ        $16, AX
	JNZ         d4col

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	HSUM8(Y0, X0, X1)
	HSUM8(Y2, X2, X3)
	HSUM8(Y4, X4, X5)
	HSUM8(Y6, X6, X7)
	MOVQ   DX, BX
	MOVSS  X0, 0(BX)
	ADDQ   R14, BX
	MOVSS  X2, 0(BX)
	ADDQ   R14, BX
	MOVSS  X4, 0(BX)
	ADDQ   R14, BX
	MOVSS  X6, 0(BX)
	ADDQ   $4, DX
	ADDQ   R8, SI
	DECQ   CX
	JNZ    d4row

d4done:
	VZEROUPPER
	RET

// func axpyF16Rows4HAVX2(acc *float32, as int, w *float32, ws int, v *byte, stride, hd16, m int)
// acc_h[x] += Σ_j w_h[j]·v_j[x] for h < 4 (acc_h at acc + h·as floats, w_h at w + h·ws floats),
// in strips of 16 columns whose eight accumulators stay in registers across the m rows.
TEXT ·axpyF16Rows4HAVX2(SB), NOSPLIT, $0-64
	MOVQ  acc+0(FP), DI
	MOVQ  as+8(FP), AX
	SHLQ  $2, AX
	MOVQ  w+16(FP), R11
	MOVQ  ws+24(FP), R12
	SHLQ  $2, R12
	MOVQ  v+32(FP), SI
	MOVQ  stride+40(FP), R8
	MOVQ  hd16+48(FP), R9
	MOVQ  m+56(FP), CX
	TESTQ CX, CX
	JZ    a4done
	LEAQ  (DI)(AX*1), R13 // acc_1
	LEAQ  (R13)(AX*1), R14 // acc_2
	LEAQ  (R14)(AX*1), R15 // acc_3

a4strip:
	VMOVUPS 0(DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 0(R13), Y2
	VMOVUPS 32(R13), Y3
	VMOVUPS 0(R14), Y4
	VMOVUPS 32(R14), Y5
	VMOVUPS 0(R15), Y6
	VMOVUPS 32(R15), Y7
	MOVQ    SI, BX
	MOVQ    R11, R10
	MOVQ    CX, DX

a4row:
	VCVTPH2PS    0(BX), Y8
	VCVTPH2PS    16(BX), Y9
	VBROADCASTSS 0(R10), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS 0(R10)(R12*1), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	LEAQ         (R10)(R12*2), AX
	VBROADCASTSS 0(AX), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS 0(AX)(R12*1), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $4, R10
	ADDQ         R8, BX
	DECQ         DX
	JNZ          a4row

	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 0(R13)
	VMOVUPS Y3, 32(R13)
	VMOVUPS Y4, 0(R14)
	VMOVUPS Y5, 32(R14)
	VMOVUPS Y6, 0(R15)
	VMOVUPS Y7, 32(R15)
	ADDQ    $64, DI
	ADDQ    $64, R13
	ADDQ    $64, R14
	ADDQ    $64, R15
	ADDQ    $32, SI
	SUBQ    $16, R9
	JNZ     a4strip

a4done:
	VZEROUPPER
	RET

// func scaleMaxAVX2(s *float32, n8 int, scale float32) float32
// s[j] *= scale for j < n8 (a multiple of 8); returns the largest product (−Inf for n8 = 0).
TEXT ·scaleMaxAVX2(SB), NOSPLIT, $0-28
	MOVQ         s+0(FP), DI
	MOVQ         n8+8(FP), CX
	VBROADCASTSS scale+16(FP), Y1
	MOVL         $0xff800000, AX // -Inf
	VMOVD        AX, X2
	VPBROADCASTD X2, Y2
	SHRQ         $3, CX
	JZ           smdone

smloop:
	VMULPS  0(DI), Y1, Y0
	VMOVUPS Y0, 0(DI)
	VMAXPS  Y2, Y0, Y2
	ADDQ    $32, DI
	DECQ    CX
	JNZ     smloop

smdone:
	VEXTRACTF128 $1, Y2, X3
	VMAXPS       X3, X2, X2
	VMOVHLPS     X2, X2, X3
	VMAXPS       X3, X2, X2
	VMOVSHDUP    X2, X3
	VMAXSS       X3, X2, X2
	VZEROUPPER
	MOVSS        X2, ret+24(FP)
	RET
