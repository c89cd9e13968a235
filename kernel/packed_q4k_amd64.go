//go:build !purego

package kernel

import "github.com/golem-llm/golem/gguf"

//go:noescape
func gemmQ4_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ4_Kx8VNNI(w, x *byte, nb, groups int, out *float32)

// AVX2 kernels (packed_q4k_avx2_amd64.s), for CPUs without AVX512-VNNI.

//go:noescape
func gemmQ4_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemm4Q4_Kx8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ4_Kx8AVX2(w, x *byte, nb, groups int, out *float32)

func init() {
	f := packedFormats[gguf.TypeQ4_K]
	f.vnni = packedKernels{gemm: gemmQ4_Kx8x8VNNI, gemv: gemvQ4_Kx8VNNI}
	f.avx2 = packedKernels{gemm: gemmQ4_Kx8x8AVX2, gemv: gemvQ4_Kx8AVX2, gemm4: gemm4Q4_Kx8x8AVX2}
}
