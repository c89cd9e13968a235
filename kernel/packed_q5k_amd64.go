//go:build !purego

package kernel

// Packed Q5_K kernels (packed_q5k_amd64.s: VNNI; packed_q5k_avx2_amd64.s: AVX2, for CPUs
// without AVX512-VNNI); callers have checked the lengths.

//go:noescape
func gemmQ5_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemm4Q5_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ5_Kx8VNNI(w, x *byte, nb, groups int, out *float32)

//go:noescape
func gemmQ5_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemm4Q5_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ5_Kx8AVX2(w, x *byte, nb, groups int, out *float32)

func init() {
	packedQ5_K.vnni = packedKernels{gemm: gemmQ5_Kx8x8VNNI, gemv: gemvQ5_Kx8VNNI, gemm4: gemm4Q5_Kx8x8VNNI}
	packedQ5_K.avx2 = packedKernels{gemm: gemmQ5_Kx8x8AVX2, gemv: gemvQ5_Kx8AVX2, gemm4: gemm4Q5_Kx8x8AVX2}
}
