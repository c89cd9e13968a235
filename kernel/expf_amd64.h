// expf over eight float32 lanes, as Cephes' expf and its Go port expf (attn_simd.go) compute
// it: the same operations in the same order, each rounded (no FMA), so the AVX2 kernels that
// use it (SiLU, ExpShift) equal their pure-Go references bit for bit. Go operand order is
// reversed from Intel's: VOP src2, src1, dst.

// Constants of expf, as float32 bit patterns.
DATA expc<>+0(SB)/4, $0xc2aeae14  // -87.34
DATA expc<>+4(SB)/4, $0x3fb8aa3b  // log2e
DATA expc<>+8(SB)/4, $0x3f000000  // 0.5
DATA expc<>+12(SB)/4, $0x3f318000 // c1 = 0.693359375
DATA expc<>+16(SB)/4, $0xb95e8083 // c2 = -2.12194440e-4
DATA expc<>+20(SB)/4, $0x39506967 // p0
DATA expc<>+24(SB)/4, $0x3ab743ce // p1
DATA expc<>+28(SB)/4, $0x3c088908 // p2
DATA expc<>+32(SB)/4, $0x3d2aa9c1 // p3
DATA expc<>+36(SB)/4, $0x3e2aaaaa // p4
DATA expc<>+40(SB)/4, $0x3f000000 // p5
DATA expc<>+44(SB)/4, $0x3f800000 // 1
DATA expc<>+48(SB)/4, $127        // exponent bias (int32)
GLOBL expc<>(SB), RODATA|NOPTR, $52

// EXPFCONSTS broadcasts the constants EXPF keeps in registers: Y14 min, Y13 log2e, Y12 0.5,
// Y11 c1, Y10 c2, Y9 1.0, Y8 the exponent bias 127 (int32).
#define EXPFCONSTS \
	VBROADCASTSS expc<>+0(SB), Y14;  \
	VBROADCASTSS expc<>+4(SB), Y13;  \
	VBROADCASTSS expc<>+8(SB), Y12;  \
	VBROADCASTSS expc<>+12(SB), Y11; \
	VBROADCASTSS expc<>+16(SB), Y10; \
	VBROADCASTSS expc<>+44(SB), Y9;  \
	VPBROADCASTD expc<>+48(SB), Y8

// EXPF sets p = expf(x) for x ≤ 0 lanes (0 below min, and for NaN or −Inf): fn = floor(x·log2e
// + 0.5), r = x − fn·c1 − fn·c2, p = ((((((p0·r + p1)·r + p2)·r + p3)·r + p4)·r + p5)·r²
// + r + 1)·2^fn. fn, r, z and t are scratch; x is kept. Needs EXPFCONSTS.
#define EXPF(x, fn, r, z, p, t) \
	VMULPS       Y13, x, fn;            \
	VADDPS       Y12, fn, fn;           \
	VROUNDPS     $1, fn, fn;            \
	VMULPS       Y11, fn, r;            \
	VSUBPS       r, x, r;               \
	VMULPS       Y10, fn, z;            \
	VSUBPS       z, r, r;               \
	VMULPS       r, r, z;               \
	VBROADCASTSS expc<>+20(SB), p;      \
	VMULPS       r, p, p;               \
	VBROADCASTSS expc<>+24(SB), t;      \
	VADDPS       t, p, p;               \
	VMULPS       r, p, p;               \
	VBROADCASTSS expc<>+28(SB), t;      \
	VADDPS       t, p, p;               \
	VMULPS       r, p, p;               \
	VBROADCASTSS expc<>+32(SB), t;      \
	VADDPS       t, p, p;               \
	VMULPS       r, p, p;               \
	VBROADCASTSS expc<>+36(SB), t;      \
	VADDPS       t, p, p;               \
	VMULPS       r, p, p;               \
	VBROADCASTSS expc<>+40(SB), t;      \
	VADDPS       t, p, p;               \
	VMULPS       z, p, p;               \
	VADDPS       r, p, p;               \
	VADDPS       Y9, p, p;              \
	VCVTPS2DQ    fn, fn;                \
	VPADDD       Y8, fn, fn;            \
	VPSLLD       $23, fn, fn;           \
	VMULPS       fn, p, p;              \
	VCMPPS       $0x1d, Y14, x, t;      \
	VANDPS       t, p, p
