package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestDotTileF16 checks the batched F16 kernels (4×4 tiles, four-row kernels and their tails)
// against dotF16Ref bit for bit: k with and without a tail of 8, odd row and column counts,
// ±65504 and subnormal weights.
func TestDotTileF16(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, k := range []int{3, 8, 36, 100, 512} {
		for _, rows := range []int{1, 4, 5, 9} {
			for _, cols := range []int{1, 3, 4, 8, 9} {
				w := make([]byte, rows*2*k+2)[1:] // odd offset: unaligned rows
				wf := make([]float32, rows*k)
				for i := range wf {
					wf[i] = float32(r.NormFloat64())
					switch r.IntN(50) {
					case 0:
						wf[i] = 65504
					case 1:
						wf[i] = -65504
					case 2:
						wf[i] = 3e-6 // subnormal in F16
					}
				}
				for i, v := range wf {
					h := f32ToF16(v)
					w[2*i], w[2*i+1] = byte(h), byte(h>>8)
				}
				x := make([]uint16, cols*k)
				for i := range x {
					x[i] = f32ToF16(float32(r.NormFloat64()))
				}
				out := make([]float32, cols*rows)
				dotTileF16(k, w, 2*k, x, k, rows, cols, out, rows)
				name := fmt.Sprintf("k=%d %dx%d", k, rows, cols)
				for c := 0; c < cols; c++ {
					for i := 0; i < rows; i++ {
						want := dotF16Ref(k, w[i*2*k:], x[c*k:])
						if out[c*rows+i] != want {
							t.Fatalf("%s: out[%d][%d] = %v, want %v", name, c, i, out[c*rows+i], want)
						}
					}
				}
				one := make([]float32, rows)
				dotRowsF16(k, w, 2*k, x, one)
				for i := range one {
					if want := dotF16Ref(k, w[i*2*k:], x); one[i] != want {
						t.Fatalf("%s: rows kernel out[%d] = %v, want %v", name, i, one[i], want)
					}
				}
			}
		}
	}
}
