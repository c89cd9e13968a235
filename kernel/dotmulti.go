package kernel

import "fmt"

// Multi-row and multi-column dot products. Each output equals the single-row kernel's result
// bit for bit (same accumulation order), so a matmul gives the same numbers however it is tiled
// or batched.
//
//   DotRows*: out[r] = Dot*(n, w[r·wstride:], x)       for r < len(out) — matvec (decode):
//             several weight rows against one activation row, the activation loaded once.
//   DotCols*: out[c] = Dot*(n, w, x[c·xstride:])       for c < len(out) — batched matmul
//             (prefill): one weight row against several activation rows, the weights loaded once.
//
// Strides are in bytes and must be at least the row size; slices too short for the last row or
// column panic (a programming error).

func checkDotRows(name string, n, bs, wb int, w []byte, wstride, rows int) {
	need := n / bs * wb
	if n%bs != 0 || (rows > 1 && wstride < need) || (rows > 0 && len(w) < (rows-1)*wstride+need) {
		panic(fmt.Sprintf("kernel: %s: n=%d, %d rows of stride %d need %d bytes of %d-byte rows, have %d",
			name, n, rows, wstride, (rows-1)*wstride+need, need, len(w)))
	}
}

type dotFunc func(n int, w, x []byte) float32

func dotRows(f dotFunc, n int, w []byte, wstride int, x []byte, out []float32) {
	for r := range out {
		out[r] = f(n, w[r*wstride:], x)
	}
}

// dotTile computes a rows×cols tile of a batched matmul: out[c·ostride+r] = f(n, w[r·wstride:],
// x[c·xstride:]) for r < rows, c < cols (strides in bytes for w and x, in float32s for out).
func dotTile(f dotFunc, n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int) {
	for c := 0; c < cols; c++ {
		for r := 0; r < rows; r++ {
			out[c*ostride+r] = f(n, w[r*wstride:], x[c*xstride:])
		}
	}
}

func dotCols(f dotFunc, n int, w []byte, x []byte, xstride int, out []float32) {
	for c := range out {
		out[c] = f(n, w, x[c*xstride:])
	}
}

// DotRowsQ8_0 is the multi-row DotQ8_0 (see the comment above).
func DotRowsQ8_0(n int, w []byte, wstride int, x []byte, out []float32) {
	checkDotRows("DotRowsQ8_0", n, 32, q8_0BlockBytes, w, wstride, len(out))
	checkDotRows("DotRowsQ8_0 (x)", n, 32, q8_0BlockBytes, x, 0, 1)
	dotRowsQ8_0(n, w, wstride, x, out)
}

// DotColsQ8_0 is the multi-column DotQ8_0 (see the comment above).
func DotColsQ8_0(n int, w []byte, x []byte, xstride int, out []float32) {
	checkDotRows("DotColsQ8_0", n, 32, q8_0BlockBytes, x, xstride, len(out))
	checkDotRows("DotColsQ8_0 (w)", n, 32, q8_0BlockBytes, w, 0, 1)
	dotColsQ8_0(n, w, x, xstride, out)
}

// DotRowsQ4_0 is the multi-row DotQ4_0.
func DotRowsQ4_0(n int, w []byte, wstride int, x []byte, out []float32) {
	checkDotRows("DotRowsQ4_0", n, 32, q4_0BlockBytes, w, wstride, len(out))
	checkDotRows("DotRowsQ4_0 (x)", n, 32, q8_0BlockBytes, x, 0, 1)
	dotRowsQ4_0(n, w, wstride, x, out)
}

// DotColsQ4_0 is the multi-column DotQ4_0.
func DotColsQ4_0(n int, w []byte, x []byte, xstride int, out []float32) {
	checkDotRows("DotColsQ4_0", n, 32, q8_0BlockBytes, x, xstride, len(out))
	checkDotRows("DotColsQ4_0 (w)", n, 32, q4_0BlockBytes, w, 0, 1)
	dotColsQ4_0(n, w, x, xstride, out)
}

// DotRowsQ4_K is the multi-row DotQ4_K.
func DotRowsQ4_K(n int, w []byte, wstride int, x []byte, out []float32) {
	checkDotRows("DotRowsQ4_K", n, 256, q4_KBlockBytes, w, wstride, len(out))
	checkDotRows("DotRowsQ4_K (x)", n, 256, q8_KBlockBytes, x, 0, 1)
	dotRowsQ4_K(n, w, wstride, x, out)
}

// DotColsQ4_K is the multi-column DotQ4_K.
func DotColsQ4_K(n int, w []byte, x []byte, xstride int, out []float32) {
	checkDotRows("DotColsQ4_K", n, 256, q8_KBlockBytes, x, xstride, len(out))
	checkDotRows("DotColsQ4_K (w)", n, 256, q4_KBlockBytes, w, 0, 1)
	dotCols(dotQ4_K, n, w, x, xstride, out)
}

// DotRowsQ5_K is the multi-row DotQ5_K.
func DotRowsQ5_K(n int, w []byte, wstride int, x []byte, out []float32) {
	checkDotRows("DotRowsQ5_K", n, 256, q5_KBlockBytes, w, wstride, len(out))
	checkDotRows("DotRowsQ5_K (x)", n, 256, q8_KBlockBytes, x, 0, 1)
	dotRowsQ5_K(n, w, wstride, x, out)
}

// DotColsQ5_K is the multi-column DotQ5_K.
func DotColsQ5_K(n int, w []byte, x []byte, xstride int, out []float32) {
	checkDotRows("DotColsQ5_K", n, 256, q8_KBlockBytes, x, xstride, len(out))
	checkDotRows("DotColsQ5_K (w)", n, 256, q5_KBlockBytes, w, 0, 1)
	dotCols(dotQ5_K, n, w, x, xstride, out)
}

// DotRowsQ6_K is the multi-row DotQ6_K.
func DotRowsQ6_K(n int, w []byte, wstride int, x []byte, out []float32) {
	checkDotRows("DotRowsQ6_K", n, 256, q6_KBlockBytes, w, wstride, len(out))
	checkDotRows("DotRowsQ6_K (x)", n, 256, q8_KBlockBytes, x, 0, 1)
	dotRowsQ6_K(n, w, wstride, x, out)
}

// DotColsQ6_K is the multi-column DotQ6_K.
func DotColsQ6_K(n int, w []byte, x []byte, xstride int, out []float32) {
	checkDotRows("DotColsQ6_K", n, 256, q8_KBlockBytes, x, xstride, len(out))
	checkDotRows("DotColsQ6_K (w)", n, 256, q6_KBlockBytes, w, 0, 1)
	dotCols(dotQ6_K, n, w, x, xstride, out)
}

func dotRowsQ4_K(n int, w []byte, wstride int, x []byte, out []float32) {
	dotRows(dotQ4_K, n, w, wstride, x, out)
}

func dotRowsQ5_K(n int, w []byte, wstride int, x []byte, out []float32) {
	dotRows(dotQ5_K, n, w, wstride, x, out)
}

func dotRowsQ6_K(n int, w []byte, wstride int, x []byte, out []float32) {
	dotRows(dotQ6_K, n, w, wstride, x, out)
}
