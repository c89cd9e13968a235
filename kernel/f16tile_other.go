//go:build !amd64 || purego

package kernel

func dotRowsF16(n int, w []byte, wstride int, x []uint16, out []float32) {
	for r := range out {
		out[r] = dotF16(n, w[r*wstride:], x)
	}
}

func dotTileF16(n int, w []byte, wstride int, x []uint16, xstride, rows, cols int, out []float32, ostride int) {
	for c := 0; c < cols; c++ {
		dotRowsF16(n, w, wstride, x[c*xstride:], out[c*ostride:c*ostride+rows])
	}
}
