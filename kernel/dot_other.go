//go:build !amd64 || purego

package kernel

// useAVX2 and useVNNI are false: this build has only the pure-Go reference kernels.
const (
	useAVX2 = false
	useVNNI = false
)

func dotQ8_0(n int, w, x []byte) float32          { return dotQ8_0Ref(n, w, x) }
func dotQ4_0(n int, w, x []byte) float32          { return dotQ4_0Ref(n, w, x) }
func dotQ4_K(n int, w, x []byte) float32          { return dotQ4_KRef(n, w, x) }
func dotQ5_K(n int, w, x []byte) float32          { return dotQ5_KRef(n, w, x) }
func dotQ6_K(n int, w, x []byte) float32          { return dotQ6_KRef(n, w, x) }
func dotF16(n int, w []byte, x []uint16) float32  { return dotF16Ref(n, w, x) }
func dotBF16(n int, w []byte, x []uint16) float32 { return dotBF16Ref(n, w, x) }
func dotF32(w, x []float32) float32               { return dotF32Ref(w, x) }
func quantizeQ8_0(x []float32, dst []byte)        { quantizeQ8_0Ref(x, dst) }
func quantizeQ8_K(x []float32, dst []byte)        { quantizeQ8_KRef(x, dst) }
func f32ToF16Row(x []float32, dst []uint16)       { f32ToF16RowRef(x, dst) }

func dotRowsQ8_0(n int, w []byte, wstride int, x []byte, out []float32) {
	dotRows(dotQ8_0, n, w, wstride, x, out)
}
func dotRowsQ4_0(n int, w []byte, wstride int, x []byte, out []float32) {
	dotRows(dotQ4_0, n, w, wstride, x, out)
}
func dotTileQ8_0(n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int) {
	dotTile(dotQ8_0, n, w, wstride, x, xstride, rows, cols, out, ostride)
}
func dotTileQ4_0(n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int) {
	dotTile(dotQ4_0, n, w, wstride, x, xstride, rows, cols, out, ostride)
}
func dotColsQ8_0(n int, w []byte, x []byte, xstride int, out []float32) {
	dotCols(dotQ8_0, n, w, x, xstride, out)
}
func dotColsQ4_0(n int, w []byte, x []byte, xstride int, out []float32) {
	dotCols(dotQ4_0, n, w, x, xstride, out)
}

func streamRead(b []byte) uint64 { return streamReadRef(b) }
