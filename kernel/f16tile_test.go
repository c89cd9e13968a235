package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
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

// TestPackedF16 checks MatMul on packed F16 weights (one row by the packed GEMV, batches by
// 8×2 tiles and a last odd column) against dotF16Ref bit for bit, for 1 to 3 threads, with each
// instruction set's kernels. Without AVX2 the matrix is packed by hand and the pure-Go kernels
// run.
func TestPackedF16(t *testing.T) { eachImpl(t, testPackedF16) }

func testPackedF16(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, shape := range [][2]int{{8, 8}, {64, 24}, {2048, 16}} {
		k, n := shape[0], shape[1]
		m := randMatrix(t, r, gguf.TypeF16, k, n)
		for i := 0; i < len(m.Data); i += 2 * 97 { // some ±65504
			m.Data[i], m.Data[i+1] = 0xff, 0x7b|byte(i&1)<<7
		}
		m.packed = packMatrix(&m)
		if m.packed == nil {
			t.Fatalf("%dx%d: not packed", n, k)
		}
		for _, nx := range []int{1, 2, 3, 5} {
			x := make([]float32, nx*k)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			x16 := make([]uint16, nx*k)
			f32ToF16RowRef(x, x16)
			want := make([]float32, nx*n)
			for c := 0; c < nx; c++ {
				for i := 0; i < n; i++ {
					want[c*n+i] = dotF16Ref(k, m.Row(i), x16[c*k:])
				}
			}
			for _, threads := range []int{1, 2, 3} {
				got := make([]float32, nx*n)
				if useAVX2 {
					p := NewPool(threads)
					p.MatMul(got, &m, x, nx)
					p.Close()
				} else {
					runPackedF16(&m, x16, nx, got, 0, n)
				}
				sameSlice(t, fmt.Sprintf("F16 %dx%d nx=%d threads=%d", n, k, nx, threads), got, want)
			}
		}
	}
}
