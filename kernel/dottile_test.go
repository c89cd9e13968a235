package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

// TestDotTileMatchesSingle checks the batched-matmul tiles of unpacked Q8_0 and Q4_0 (four
// weight rows × two activation rows in assembly for Q8_0, the four-row kernel per column for
// Q4_0, plus odd-column and odd-row tails) against the pure-Go reference dot, bit for bit, for
// every rows 1..9 × cols 1..9 and block counts 1..17, with unaligned, padded rows of arbitrary
// weight bytes (−128 quants, Inf/NaN scales included) and some extreme scales, and checks that
// no output outside the tile is written.
func TestDotTileMatchesSingle(t *testing.T) { checkDotTiles(t) }

type tileFunc func(n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int)

func checkDotTiles(t *testing.T) {
	checkDotTile(t, "Q8_0", q8_0BlockBytes, dotTileQ8_0, dotQ8_0Ref)
	checkDotTile(t, "Q4_0", q4_0BlockBytes, dotTileQ4_0, dotQ4_0Ref)
}

func checkDotTile(t *testing.T, name string, wb int, tile tileFunc, ref dotFunc) {
	r := rand.New(rand.NewPCG(21, 22))
	const pad = 3
	for nb := 1; nb <= 17; nb++ {
		n := 32 * nb
		for rows := 1; rows <= 9; rows++ {
			for cols := 1; cols <= 9; cols++ {
				mode := (nb + rows + cols) % 3
				wstride, xstride, ostride := nb*wb+pad, nb*q8_0BlockBytes+1, rows+2
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
							binary.LittleEndian.PutUint16(w[i*wstride+b*wb:], h)
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
				tile(n, w, wstride, x, xstride, rows, cols, out, ostride)
				for c := 0; c < cols; c++ {
					for i := 0; i < ostride; i++ {
						got := out[c*ostride+i]
						if i >= rows {
							if got != sentinel {
								t.Fatalf("%s nb=%d rows=%d cols=%d: out[%d][%d] outside the tile written (%v)", name, nb, rows, cols, c, i, got)
							}
							continue
						}
						want := ref(n, w[i*wstride:], x[c*xstride:])
						if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
							t.Fatalf("%s nb=%d rows=%d cols=%d mode=%d: w%d·x%d = %v (%#x), reference %v (%#x)",
								name, nb, rows, cols, mode, i, c, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	}
}
