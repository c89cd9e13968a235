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

//go:noescape
func gemmQ8_0x8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ8_0x8x4AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ8_0x8AVX2(w, x *byte, nb, groups int, out *float32)

//go:noescape
func gemmQ4_0x8x8AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ4_0x8x4AVX2(w, x *byte, nb int, out *float32, os int)

//go:noescape
func gemvQ4_0x8AVX2(w, x *byte, nb, groups int, out *float32)

func init() {
	q8, q4 := packedFormats[gguf.TypeQ8_0], packedFormats[gguf.TypeQ4_0]
	q8.vnni = packedKernels{gemm: gemmQ8_0x8x8VNNI, gemv: gemvQ8_0x8VNNI, gemm4: gemmQ8_0x8x4VNNI}
	q4.vnni = packedKernels{gemm: gemmQ4_0x8x8VNNI, gemv: gemvQ4_0x8VNNI, gemm4: gemmQ4_0x8x4VNNI}
	q8.avx2 = packedKernels{gemm: gemmQ8_0x8x8AVX2, gemv: gemvQ8_0x8AVX2, gemm4: gemmQ8_0x8x4AVX2}
	q4.avx2 = packedKernels{gemm: gemmQ4_0x8x8AVX2, gemv: gemvQ4_0x8AVX2, gemm4: gemmQ4_0x8x4AVX2}
}

// kernels returns the packed kernels of f this CPU runs: the VNNI set where the CPU has
// AVX512-VNNI, else the AVX2 set; nil when it has neither (then the pure-Go reference runs).
// It reads useVNNI and useAVX2 at every call so that tests can switch instruction sets.
func (f *packedFormat) kernels() *packedKernels {
	switch {
	case useVNNI && f.vnni.gemm != nil:
		return &f.vnni
	case useAVX2 && f.avx2.gemm != nil:
		return &f.avx2
	}
	return nil
}

// packable reports whether NewMatrix packs weights of type t: when this CPU runs packed kernels
// for t (packed F16 needs AVX2, F16C and FMA only).
func packable(t gguf.Type) bool {
	if t == gguf.TypeF16 {
		return useAVX2
	}
	f := packedFormats[t]
	return f != nil && f.kernels() != nil
}
