//go:build !purego

package kernel

// Packed Q5_K kernels (packed_q5k_amd64.s); callers have checked the lengths.

//go:noescape
func gemmQ5_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemm4Q5_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ5_Kx8VNNI(w, x *byte, nb, groups int, out *float32)

func init() {
	packedQ5_K.vnni = packedKernels{gemm: gemmQ5_Kx8x8VNNI, gemv: gemvQ5_Kx8VNNI, gemm4: gemm4Q5_Kx8x8VNNI}
}
