//go:build !purego

package kernel

import "github.com/golem-llm/golem/gguf"

//go:noescape
func gemmQ4_Kx8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ4_Kx8VNNI(w, x *byte, nb, groups int, out *float32)

func init() {
	f := packedFormats[gguf.TypeQ4_K]
	f.gemm, f.gemv = gemmQ4_Kx8x8VNNI, gemvQ4_Kx8VNNI
}
