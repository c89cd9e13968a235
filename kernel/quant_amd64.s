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
