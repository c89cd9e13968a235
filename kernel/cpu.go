package kernel

import "golang.org/x/sys/cpu"

// hasAVX2 is true when the CPU and OS support everything the amd64 kernels use:
// AVX2 (256-bit integer ops), FMA and F16C (half-precision conversion).
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C && cpu.X86.HasAVX

// Impl names the implementation the kernels dispatch to: "avx512vnni" (AVX2 kernels plus the
// VNNI tile and packed kernels), "avx2" (AVX2/FMA/F16C kernels, packed ones included) or "ref"
// (pure Go; always "ref" when built with the purego tag or off amd64).
func Impl() string {
	if useVNNI {
		return "avx512vnni"
	}
	if useAVX2 {
		return "avx2"
	}
	return "ref"
}
