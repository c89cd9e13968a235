package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// randPackedQ4_K returns groups packed Q4_K groups of nb super-blocks of random bytes (every
// nibble pattern; 6-bit scales and mins, some records with every nibble 15 and every scale and
// min 63, some with every nibble 0) with finite d and dmin (|d| < 2, or ±65504).
func randPackedQ4_K(r *rand.Rand, groups, nb int) []byte {
	w := make([]byte, groups*nb*q4KRecBytes)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for rec := 0; rec < groups*nb; rec++ {
		o := w[rec*q4KRecBytes:][:q4KRecBytes]
		for i := 32; i < 160; i++ {
			o[i] &= 63 // scales and mins are 6-bit
		}
		switch r.IntN(4) {
		case 0:
			for i := 32; i < 160; i++ {
				o[i] = 63
			}
			for i := 160; i < q4KRecBytes; i++ {
				o[i] = 0xff
			}
		case 1:
			for i := 160; i < q4KRecBytes; i++ {
				o[i] = 0
			}
		}
		for i := 0; i < 16; i++ {
			randHalfScale(r, o[2*i:])
		}
	}
	return w
}

// TestPackedQ4_KKernels checks the assembly kernels (VNNI and AVX2) against packedDotRef on
// random packed records (every nibble pattern, all-15 and all-0 nibbles, scales and mins up to
// 63, |d| and |dmin| up to 65504, activations at −128 and 127), so the kernels are checked at
// the ends of their ranges (the AVX2 kernels' int16 sums included), which quantized matrices
// rarely reach.
func TestPackedQ4_KKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, nb := range []int{1, 2, 5} {
		checkPackedKernels(t, r, gguf.TypeQ4_K, randPackedQ4_K(r, 6, nb), 6, nb)
	}
}
