//go:build !purego

package kernel

// Packed Q6_K kernels (packed_q6k_amd64.s: AVX512-VNNI; packed_q6k_avx2_amd64.s: AVX2 only);
// callers have checked the lengths.

//go:noescape
func gemmQ6_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemm4Q6_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ6_Kx8VNNI(w, x *byte, nb, groups int, out *float32)

//go:noescape
func gemmQ6_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemm4Q6_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ6_Kx8AVX2(w, x *byte, nb, groups int, out *float32)

func init() {
	packedQ6_K.vnni = packedKernels{gemm: gemmQ6_Kx8x8VNNI, gemv: gemvQ6_Kx8VNNI, gemm4: gemm4Q6_Kx8x8VNNI}
	packedQ6_K.avx2 = packedKernels{gemm: gemmQ6_Kx8x8AVX2, gemv: gemvQ6_Kx8AVX2, gemm4: gemm4Q6_Kx8x8AVX2}
}
