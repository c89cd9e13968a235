//go:build !purego

package kernel

import "github.com/golem-llm/golem/gguf"

// Packed kernels (packed_amd64.s); callers have checked the lengths.

//go:noescape
func gemmQ8_0x8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ4_0x8x8VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ8_0x8x4VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ4_0x8x4VNNI(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ8_0x8VNNI(w, x *byte, nb, groups int, out *float32)

//go:noescape
func gemvQ4_0x8VNNI(w, x *byte, nb, groups int, out *float32)

func init() {
	packedFormats[gguf.TypeQ8_0].gemm = gemmQ8_0x8x8VNNI
	packedFormats[gguf.TypeQ8_0].gemv = gemvQ8_0x8VNNI
	packedFormats[gguf.TypeQ8_0].gemm4 = gemmQ8_0x8x4VNNI
	packedFormats[gguf.TypeQ4_0].gemm4 = gemmQ4_0x8x4VNNI
	packedFormats[gguf.TypeQ4_0].gemm = gemmQ4_0x8x8VNNI
	packedFormats[gguf.TypeQ4_0].gemv = gemvQ4_0x8VNNI
}

// packedOK reports whether the packed kernels can run (they need AVX512-VNNI). It is read at
// every call so that tests can switch the VNNI kernels off and reach the unpacked path.
func packedOK() bool { return useVNNI }
