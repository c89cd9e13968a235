package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// BenchmarkPackedKernel times one packed kernel call on cache-resident data: the 8×8 tile over
// k = 2048 (64 blocks) and the one-row kernel over 64 groups; MB/s counts weight bytes.
func BenchmarkPackedKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0} {
		const k = 2048
		for _, n := range []int{8, 512} {
			m := randMatrix(b, r, typ, k, n)
			m.packed = packMatrix(&m)
			nb := k / 32
			p := 8
			if n > 8 {
				p = 1
			}
			pa := make([]byte, nb*p*actRecBytes)
			a8 := make([]byte, Q8_0RowBytes(k))
			x := make([]float32, k)
			for c := 0; c < p; c++ {
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				quantizeQ8_0Ref(x, a8)
				packAct(a8, nb, p, c, pa)
			}
			out := make([]float32, max(64, n))
			name := fmt.Sprintf("%s/tile8x8/k=%d", typ, k)
			if p == 1 {
				name = fmt.Sprintf("%s/gemv/%dx%d", typ, n, k)
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(m.packed)))
				for b.Loop() {
					if p == 8 {
						gemmPacked(typ, m.packed, pa, nb, out, 8)
					} else {
						gemvPacked(typ, m.packed, pa, nb, n/8, out)
					}
				}
			})
		}
	}
}

// BenchmarkPackedKKernel is BenchmarkPackedKernel for the k-quant packed kernels.
func BenchmarkPackedKKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, typ := range []gguf.Type{gguf.TypeQ4_K, gguf.TypeQ6_K} {
		if packedFormats[typ] == nil {
			continue
		}
		const k = 2048
		for _, n := range []int{8, 512} {
			m := randMatrix(b, r, typ, k, n)
			m.packed = packMatrix(&m)
			nb := k / 256
			p := 8
			if n > 8 {
				p = 1
			}
			pa := make([]byte, nb*p*actKRecBytes)
			a8 := make([]byte, Q8_KRowBytes(k))
			x := make([]float32, k)
			for c := 0; c < p; c++ {
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				quantizeQ8_KRef(x, a8)
				packActK(a8, nb, p, c, pa)
			}
			out := make([]float32, max(64, n))
			name := fmt.Sprintf("%s/tile8x8/k=%d", typ, k)
			if p == 1 {
				name = fmt.Sprintf("%s/gemv/%dx%d", typ, n, k)
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(m.packed)))
				for b.Loop() {
					if p == 8 {
						gemmPacked(typ, m.packed, pa, nb, out, 8)
					} else {
						gemvPacked(typ, m.packed, pa, nb, n/8, out)
					}
				}
			})
		}
	}
}
