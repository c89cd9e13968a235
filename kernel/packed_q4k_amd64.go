//go:build !purego

package kernel

import "github.com/golem-llm/golem/gguf"

//go:noescape
func gemmQ4_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ4_Kx8VNNI(w, x *byte, nb, groups int, out *float32)

func init() {
	packedFormats[gguf.TypeQ4_K].vnni = packedKernels{gemm: gemmQ4_Kx8x8VNNI, gemv: gemvQ4_Kx8VNNI}
}
