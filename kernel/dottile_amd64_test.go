//go:build !purego

package kernel

import (
	"math/rand/v2"

	"github.com/golem-llm/golem/gguf"
	"testing"
)

// BenchmarkTileQ8_0 times the tile kernels alone on one thread (K=2048, a 16-row weight tile
// against 48 activation rows, all in cache); MB/s counts weight bytes times activation rows,
// so the kernels compare per output.
func BenchmarkTileQ8_0(b *testing.B) {
	if !useAVX2 {
		b.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(1, 2))
	const k, rows, cols = 2048, 16, 48
	m := randMatrix(b, r, gguf.TypeQ8_0, k, rows)
	xf := make([]float32, k)
	rb := Q8_0RowBytes(k)
	x := make([]byte, cols*rb)
	for c := 0; c < cols; c++ {
		for i := range xf {
			xf[i] = float32(r.NormFloat64())
		}
		QuantizeQ8_0(xf, x[c*rb:])
	}
	out := make([]float32, cols*rows)
	nb := k / 32
	run := func(name string, cw int, f func(c, r int)) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(m.Data) * cols))
			for b.Loop() {
				for c := 0; c+cw <= cols; c += cw {
					for r := 0; r < rows; r += 4 {
						f(c, r)
					}
				}
			}
		})
	}
	run("4x1", 1, func(c, r int) { dotQ8_0x4AVX2(&m.Data[r*m.RowBytes], m.RowBytes, &x[c*rb], nb, &out[c*rows+r]) })
	run("4x2", 2, func(c, r int) {
		dotQ8_0x4x2AVX2(&m.Data[r*m.RowBytes], m.RowBytes, &x[c*rb], rb, nb, &out[c*rows+r], rows)
	})
}
