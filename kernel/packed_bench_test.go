package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// BenchmarkPacked times one call of each packed kernel on cache-resident data, for every packed
// type: the 8×8 tile and the 8×4 tile over k = 2048, and the one-row kernel over 512 rows × 2048
// (64 groups); MB/s counts weight bytes.
func BenchmarkPacked(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	const k = 2048
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		f := packedFormats[typ]
		nb := k / f.blockElems
		for _, n := range []int{8, 512} {
			m := randMatrix(b, r, typ, k, n)
			m.packed = packMatrix(&m)
			p := 8
			if n > 8 {
				p = 1
			}
			pa := make([]byte, nb*f.actRec(p))
			a8 := make([]byte, max(Q8_0RowBytes(k), Q8_KRowBytes(k)))
			x := make([]float32, k)
			for c := 0; c < p; c++ {
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				quantAct(typ, x, a8)
				if f.kquant {
					packActK(a8, nb, p, c, pa)
				} else {
					packAct(a8, nb, p, c, pa)
				}
			}
			out := make([]float32, max(64, n))
			run := func(name string, kernel func() bool) {
				b.Run(fmt.Sprintf("%s/%s", typ, name), func(b *testing.B) {
					b.SetBytes(int64(len(m.packed)))
					for b.Loop() {
						if !kernel() {
							b.Skip("no such kernel")
						}
					}
				})
			}
			if p == 1 {
				run(fmt.Sprintf("gemv/%dx%d", n, k), func() bool { gemvPacked(typ, m.packed, pa, nb, n/8, out); return true })
				continue
			}
			run(fmt.Sprintf("tile8x8/k=%d", k), func() bool { gemmPacked(typ, m.packed, pa, nb, out, 8); return true })
			run(fmt.Sprintf("tile8x4/k=%d", k), func() bool { return gemm4Packed(typ, m.packed, pa, nb, out, 8) })
		}
	}
}
