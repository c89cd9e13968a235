package kernel

// Packed F16: eight rows interleaved in 8-element chunks, so that decode reads one sequential
// stream per thread (measured: ~30 GB/s on two threads against ~26 GB/s for four rows read side
// by side). Group g (rows 8g … 8g+7), chunk b (elements 8b … 8b+7) is a 128-byte record at
// (g·nb + b)·128 holding the 8 F16 values of each row r at 16r. The kernels keep one 8-lane
// accumulator per output and reduce it with hsum8: the DotF16 order, so results equal DotF16
// bit for bit (products of F16 values are exact in float32, so fused multiply-adds equal
// mul+add).
var packedF16 = packedFormat{rec: 128, blockElems: 8, pack: packGroupF16}

func packGroupF16(m *Matrix, g, nb int, dst []byte) {
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*128:][:128]
		for r := 0; r < packRows; r++ {
			copy(o[16*r:16*r+16], m.Data[(8*g+r)*m.RowBytes+16*b:][:16])
		}
	}
}

// runPackedF16 computes rows [lo, hi) (multiples of 8) of packed F16 weights m for nx F16
// activation rows x (K each): one row by gemvF16x8, batches by 8×2 tiles over column chunks
// that stay in L2, a last odd column by gemvF16x8.
func runPackedF16(m *Matrix, x []uint16, nx int, out []float32, lo, hi int) {
	nb := m.K / 8
	wg := nb * 128
	g0, g1 := lo/packRows, hi/packRows
	if nx == 1 {
		gemvF16Packed(m.packed[g0*wg:g1*wg], x[:m.K], nb, g1-g0, out[lo:hi])
		return
	}
	chunk := max(2, (packChunkBytes/(2*m.K))&^1)
	for c0 := 0; c0 < nx; c0 += chunk {
		c1 := min(c0+chunk, nx)
		for g := g0; g < g1; g++ {
			w := m.packed[g*wg : (g+1)*wg]
			c := c0
			for ; c+2 <= c1; c += 2 {
				gemmF16Packed(w, x[c*m.K:(c+2)*m.K], nb, out[c*m.N+8*g:], m.N)
			}
			if c < c1 {
				gemvF16Packed(w, x[c*m.K:(c+1)*m.K], nb, 1, out[c*m.N+8*g:c*m.N+8*g+8])
			}
		}
	}
}

// gemvF16PackedRef is the reference of gemvF16x8: out[8g + r] for groups packed groups times
// one F16 activation row x (8·nb values).
func gemvF16PackedRef(w []byte, x []uint16, nb, groups int, out []float32) {
	for g := 0; g < groups; g++ {
		for r := 0; r < packRows; r++ {
			var acc [8]float32
			for b := 0; b < nb; b++ {
				rec := w[(g*nb+b)*128+16*r:]
				for l := 0; l < 8; l++ {
					acc[l] += float32(halfAt(rec[2*l:]) * f16ToF32(x[8*b+l]))
				}
			}
			out[8*g+r] = hsum8(&acc)
		}
	}
}

// gemmF16PackedRef is the reference of gemmF16x8x2: out[c·os + r] for one packed group and
// two F16 activation rows x (8·nb values each, one after the other).
func gemmF16PackedRef(w []byte, x []uint16, nb int, out []float32, os int) {
	gemvF16PackedRef(w, x[:8*nb], nb, 1, out[:8])
	gemvF16PackedRef(w, x[8*nb:16*nb], nb, 1, out[os:os+8])
}
