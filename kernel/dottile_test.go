package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotTileQ8_0MatchesSingle checks the batched-matmul tile (four weight rows × two activation
// rows in assembly, plus odd-column and odd-row tails) against the pure-Go reference dot, bit
// for bit, for every rows 1..9 × cols 1..9 and block counts 1..17, with unaligned, padded rows
// of arbitrary weight bytes (−128 quants, Inf/NaN scales included) and some extreme scales, and
// checks that no output outside the tile is written. On amd64 it runs the AVX512-VNNI variant
// when the CPU has it; TestDotTileQ8_0AVX2 repeats it with plain AVX2.
func TestDotTileQ8_0MatchesSingle(t *testing.T) { checkDotTileQ8_0(t) }

func checkDotTileQ8_0(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const pad = 3
	for nb := 1; nb <= 17; nb++ {
		n := 32 * nb
		for rows := 1; rows <= 9; rows++ {
			for cols := 1; cols <= 9; cols++ {
				mode := (nb + rows + cols) % 3
				wstride, xstride, ostride := nb*q8_0BlockBytes+pad, nb*q8_0BlockBytes+1, rows+2
				w := make([]byte, rows*wstride+1)[1:] // unaligned
				for i := range w {
					w[i] = byte(r.Uint32())
				}
				if mode != 0 { // finite scales, some at ±65504 in mode 2
					for i := 0; i < rows; i++ {
						for b := 0; b < nb; b++ {
							h := f32ToF16(float32(r.NormFloat64() * 0.01))
							if mode == 2 && r.IntN(2) == 0 {
								h = 0x7bff | uint16(r.IntN(2))<<15
							}
							binary.LittleEndian.PutUint16(w[i*wstride+b*q8_0BlockBytes:], h)
						}
					}
				}
				x := make([]byte, cols*xstride+3)[3:]
				xf := make([]float32, n)
				for c := 0; c < cols; c++ {
					for i := range xf {
						xf[i] = float32(r.NormFloat64())
						if mode == 2 && i%64 < 32 {
							xf[i] *= 30000
						}
					}
					QuantizeQ8_0(xf, x[c*xstride:])
				}
				const sentinel = 12345.5
				out := make([]float32, cols*ostride)
				for i := range out {
					out[i] = sentinel
				}
				dotTileQ8_0(n, w, wstride, x, xstride, rows, cols, out, ostride)
				for c := 0; c < cols; c++ {
					for i := 0; i < ostride; i++ {
						got := out[c*ostride+i]
						if i >= rows {
							if got != sentinel {
								t.Fatalf("nb=%d rows=%d cols=%d: out[%d][%d] outside the tile written (%v)", nb, rows, cols, c, i, got)
							}
							continue
						}
						want := dotQ8_0Ref(n, w[i*wstride:], x[c*xstride:])
						if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
							t.Fatalf("nb=%d rows=%d cols=%d mode=%d: w%d·x%d = %v (%#x), reference %v (%#x)",
								nb, rows, cols, mode, i, c, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	}
}
