// Macros the AVX2 Q4_K and Q5_K kernels share (packed_q4k_avx2_amd64.s,
// packed_q5k_avx2_amd64.s): both read K-quant activation records of P = 8 from DI (quants),
// R8 (d_x) and R9 (Σx pairs), and both end a super-block with the same d/dmin epilogue.

// KA2NEXT adds activation row c's products with the current chunk k of sub-block s (unsigned
// quants in Y12) to its int16 pair sums y; Y13 is scratch.
#define KA2NEXT(s, k, c, y) \
	VPBROADCASTD (256*(c)+32*(s)+4*(k))(DI), Y13; \
	VPMADDUBSW   Y13, Y12, Y13;                    \
	VPADDW       Y13, y, y

// KA2FIN finishes activation row c's super-block (isum yi, acc ya): with d in Y12, dmin in
// Y13 and the mins pairs in Y8…Y11, acc += float32(isum)·(d·d_x), then imin = Σ_p (m_2p,
// m_2p+1)·(Σx_2p, Σx_2p+1) and acc −= float32(imin)·(dmin·d_x). Y14, Y15 and yi are scratch.
#define KA2FIN(c, yi, ya) \
	VBROADCASTSS (4*(c))(R8), Y15;     \
	VMULPS       Y15, Y12, Y14;        \
	VCVTDQ2PS    yi, yi;               \
	VMULPS       Y14, yi, yi;          \
	VADDPS       yi, ya, ya;           \
	VMULPS       Y15, Y13, Y15;        \
	VPBROADCASTD (16*(c))(R9), Y14;    \
	VPMADDWD     Y8, Y14, Y14;         \
	VPBROADCASTD (16*(c)+4)(R9), yi;   \
	VPMADDWD     Y9, yi, yi;           \
	VPADDD       yi, Y14, Y14;         \
	VPBROADCASTD (16*(c)+8)(R9), yi;   \
	VPMADDWD     Y10, yi, yi;          \
	VPADDD       yi, Y14, Y14;         \
	VPBROADCASTD (16*(c)+12)(R9), yi;  \
	VPMADDWD     Y11, yi, yi;          \
	VPADDD       yi, Y14, Y14;         \
	VCVTDQ2PS    Y14, Y14;             \
	VMULPS       Y15, Y14, Y14;        \
	VSUBPS       Y14, ya, ya
