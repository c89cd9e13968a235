//go:build !purego

package kernel

import "unsafe"

//go:noescape
func dotF16x4AVX2(w *byte, ws int, x *uint16, n8 int, out *float32)

//go:noescape
func dotF16x4x4AVX512(w *byte, ws int, x *uint16, xs int, n8 int, out *float32, os int)

// dotRowsF16 sets out[r] = DotF16 of weight row r (rows at stride wstride bytes) with x, four
// rows at a time.
func dotRowsF16(n int, w []byte, wstride int, x []uint16, out []float32) {
	if !useAVX2 || n < 8 {
		for r := range out {
			out[r] = dotF16(n, w[r*wstride:], x)
		}
		return
	}
	r := 0
	for ; r+4 <= len(out); r += 4 {
		_ = w[(r+3)*wstride+2*n-1]
		dotF16x4AVX2(&w[r*wstride], wstride, unsafe.SliceData(x), n&^7, &out[r])
		if n%8 != 0 {
			for j := r; j < r+4; j++ {
				out[j] += f16Tail(n, w[j*wstride:], x)
			}
		}
	}
	for ; r < len(out); r++ {
		out[r] = dotF16(n, w[r*wstride:], x)
	}
}

// dotTileF16 sets out[c·ostride + r] = DotF16(weight row r, activation row c) for r < rows,
// c < cols: 4×4 tiles where the CPU has AVX512VL, four-row kernels otherwise and for the tails.
func dotTileF16(n int, w []byte, wstride int, x []uint16, xstride, rows, cols int, out []float32, ostride int) {
	c := 0
	if useVNNI && n >= 8 {
		for ; c+4 <= cols; c += 4 {
			r := 0
			for ; r+4 <= rows; r += 4 {
				_ = w[(r+3)*wstride+2*n-1]
				_ = x[(c+3)*xstride+n-1]
				_ = out[(c+3)*ostride+r+3]
				dotF16x4x4AVX512(&w[r*wstride], wstride, &x[c*xstride], 2*xstride, n&^7, &out[c*ostride+r], ostride)
				if n%8 != 0 {
					for j := c; j < c+4; j++ {
						for i := r; i < r+4; i++ {
							out[j*ostride+i] += f16Tail(n, w[i*wstride:], x[j*xstride:])
						}
					}
				}
			}
			for ; r < rows; r++ {
				for j := c; j < c+4; j++ {
					out[j*ostride+r] = dotF16(n, w[r*wstride:], x[j*xstride:])
				}
			}
		}
	}
	for ; c < cols; c++ {
		dotRowsF16(n, w, wstride, x[c*xstride:], out[c*ostride:c*ostride+rows])
	}
}
