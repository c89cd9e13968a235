//go:build !purego

#include "textflag.h"

// q8perm undoes the lane interleaving of VPACKSSDW/VPACKSSWB (ggml's quantize_row_q8_0 perm).
DATA q8perm<>+0x00(SB)/4, $0
DATA q8perm<>+0x04(SB)/4, $4
DATA q8perm<>+0x08(SB)/4, $1
DATA q8perm<>+0x0c(SB)/4, $5
DATA q8perm<>+0x10(SB)/4, $2
DATA q8perm<>+0x14(SB)/4, $6
DATA q8perm<>+0x18(SB)/4, $3
DATA q8perm<>+0x1c(SB)/4, $7
GLOBL q8perm<>(SB), RODATA|NOPTR, $32

// func quantizeQ8_0AVX2(x *float32, dst *byte, nb int)
// ggml's AVX2 quantize_row_q8_0 (ggml-cpu/arch/x86/quants.c), block by block: amax over 32
// floats, d = amax/127 stored as F16 (VCVTPS2PH, nearest-even), id = 127/amax (0 when amax
// is 0), quants = saturate8(round-nearest-even(x·id)). Same bytes as quantizeQ8_0Ref.
TEXT ·quantizeQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15     // |·| mask
	MOVL $0x42fe0000, AX      // 127.0f
	VMOVD AX, X14
	VMOVDQU q8perm<>(SB), Y13
	VXORPS X12, X12, X12
	TESTQ CX, CX
	JZ    done

loop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y15, Y0, Y4
	VANDPS  Y15, Y1, Y5
	VANDPS  Y15, Y2, Y6
	VANDPS  Y15, Y3, Y7
	VMAXPS  Y5, Y4, Y4
	VMAXPS  Y7, Y6, Y6
	VMAXPS  Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS  X5, X4, X4
	VMOVHLPS X4, X4, X5
	VMAXPS  X5, X4, X4
	VMOVSHDUP X4, X5
	VMAXSS  X5, X4, X4        // amax
	VDIVSS  X14, X4, X5       // d = amax/127
	VCVTPS2PH $0, X5, X5
	VMOVD   X5, AX
	MOVW    AX, 0(DI)
	VXORPS  X6, X6, X6
	VUCOMISS X12, X4
	JEQ     zero
	VDIVSS  X4, X14, X6       // id = 127/amax

zero:
	VBROADCASTSS X6, Y6
	VMULPS  Y6, Y0, Y0
	VMULPS  Y6, Y1, Y1
	VMULPS  Y6, Y2, Y2
	VMULPS  Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD  Y0, Y13, Y0
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  loop

done:
	VZEROUPPER
	RET

// QKHSUM stores the int16 sum of the eight int32 lanes of yt at off(DI) (clobbers xu, AX).
#define QKHSUM(yt, xt, xu, off) \
	VEXTRACTI128 $1, yt, xu; \
	VPADDD       xu, xt, xt; \
	VPSHUFD      $0x4e, xt, xu; \
	VPADDD       xu, xt, xt; \
	VPSHUFD      $0xb1, xt, xu; \
	VPADDD       xu, xt, xt; \
	VMOVD        xt, AX;     \
	MOVW         AX, off(DI)

// QKGROUP quantizes elements 32g … 32g+31 (at 128g(SI)) with iscale in Y7: quants to
// 4+32g(DI), the sums of elements 32g…32g+15 and 32g+16…32g+31 to bsums 2g and 2g+1.
#define QKGROUP(g) \
	VMULPS    (128*g)(SI), Y7, Y0;    \
	VMULPS    (128*g+32)(SI), Y7, Y1; \
	VMULPS    (128*g+64)(SI), Y7, Y2; \
	VMULPS    (128*g+96)(SI), Y7, Y3; \
	VCVTPS2DQ Y0, Y0;                 \
	VCVTPS2DQ Y1, Y1;                 \
	VCVTPS2DQ Y2, Y2;                 \
	VCVTPS2DQ Y3, Y3;                 \
	VPMINSD   Y11, Y0, Y0;            \
	VPMINSD   Y11, Y1, Y1;            \
	VPMINSD   Y11, Y2, Y2;            \
	VPMINSD   Y11, Y3, Y3;            \
	VPADDD    Y1, Y0, Y4;             \
	QKHSUM(Y4, X4, X5, 260+4*g);      \
	VPADDD    Y3, Y2, Y4;             \
	QKHSUM(Y4, X4, X5, 262+4*g);      \
	VPACKSSDW Y1, Y0, Y0;             \
	VPACKSSDW Y3, Y2, Y2;             \
	VPACKSSWB Y2, Y0, Y0;             \
	VPERMD    Y0, Y13, Y0;            \
	VMOVDQU   Y0, (4+32*g)(DI)

// func quantizeQ8_KAVX2(x *float32, dst *byte, nb int)
// quantizeQ8_KRef block by block, same bytes for finite input: max = the value of largest
// magnitude (the first on ties: found by comparing |x| with amax in order), iscale = −127/max,
// q = min(127, round-half-even(iscale·x)) (VCVTPS2DQ rounds to nearest even), bsums of 16, and
// d = 1/iscale. An all-zero block is all zero bytes. NaN input cannot hang the search (it is
// bounded) but gives unspecified quants.
TEXT ·quantizeQ8_KAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         dst+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15 // |·| mask
	MOVL         $0xc2fe0000, AX // -127.0f
	VMOVD        AX, X14
	MOVL         $0x3f800000, AX // 1.0f
	VMOVD        AX, X10
	MOVL         $127, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	VMOVDQU      q8perm<>(SB), Y13
	VXORPS       X12, X12, X12
	TESTQ        CX, CX
	JZ           qkdone

qkblock:
	VXORPS Y4, Y4, Y4
	MOVQ   SI, R8
	MOVQ   $8, DX

qkamax:
	VANDPS 0(R8), Y15, Y0
	VMAXPS Y0, Y4, Y4
	VANDPS 32(R8), Y15, Y0
	VMAXPS Y0, Y4, Y4
	VANDPS 64(R8), Y15, Y0
	VMAXPS Y0, Y4, Y4
	VANDPS 96(R8), Y15, Y0
	VMAXPS Y0, Y4, Y4
	ADDQ   $128, R8
	DECQ   DX
	JNZ    qkamax

	VEXTRACTF128 $1, Y4, X5
	VMAXPS       X5, X4, X4
	VMOVHLPS     X4, X4, X5
	VMAXPS       X5, X4, X4
	VMOVSHDUP    X4, X5
	VMAXSS       X5, X4, X4 // amax
	VUCOMISS     X12, X4
	JEQ          qkzero

	// The first element whose magnitude is amax.
	VBROADCASTSS X4, Y5
	MOVQ         SI, R8
	XORQ         R9, R9

qkfind:
	VANDPS    0(R8), Y15, Y0
	VCMPPS    $0, Y5, Y0, Y0
	VMOVMSKPS Y0, AX
	TESTL     AX, AX
	JNZ       qkfound
	ADDQ      $32, R8
	ADDQ      $8, R9
	CMPQ      R9, $256
	JLT       qkfind
	XORQ      AX, AX
	XORQ      R9, R9 // not found (NaN input): use element 0

qkfound:
	TZCNTL AX, AX
	ADDQ   AX, R9
	ANDQ   $255, R9
	VMOVSS (SI)(R9*4), X6  // max
	VDIVSS X6, X14, X7     // iscale = -127/max
	VDIVSS X7, X10, X8     // d = 1/iscale
	VMOVSS X8, 0(DI)
	VMOVD  X7, AX
	ANDL   $0x7fffffff, AX
	CMPL   AX, $0x7f800000
	JEQ    qkinf           // |max| so small that iscale overflows: every quant rounds from ±Inf or NaN to 0
	VBROADCASTSS X7, Y7
	QKGROUP(0)
	QKGROUP(1)
	QKGROUP(2)
	QKGROUP(3)
	QKGROUP(4)
	QKGROUP(5)
	QKGROUP(6)
	QKGROUP(7)
	JMP qknext

qkinf:
	VXORPS  Y0, Y0, Y0
	VMOVDQU Y0, 4(DI)
	VMOVDQU Y0, 36(DI)
	VMOVDQU Y0, 68(DI)
	VMOVDQU Y0, 100(DI)
	VMOVDQU Y0, 132(DI)
	VMOVDQU Y0, 164(DI)
	VMOVDQU Y0, 196(DI)
	VMOVDQU Y0, 228(DI)
	VMOVDQU Y0, 260(DI)
	JMP     qknext

qkzero:
	VXORPS  Y0, Y0, Y0
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y0, 32(DI)
	VMOVDQU Y0, 64(DI)
	VMOVDQU Y0, 96(DI)
	VMOVDQU Y0, 128(DI)
	VMOVDQU Y0, 160(DI)
	VMOVDQU Y0, 192(DI)
	VMOVDQU Y0, 224(DI)
	VMOVDQU Y0, 256(DI)
	MOVL    $0, 288(DI)

qknext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  qkblock

qkdone:
	VZEROUPPER
	RET
