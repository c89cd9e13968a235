//go:build !amd64 || purego

package kernel

func dotF16Rows(q []float32, k []byte, stride int, out []float32) {
	dotF16RowsRef(q, k, stride, out)
}

func axpyF16Rows(acc, w []float32, v []byte, stride int) { axpyF16RowsRef(acc, w, v, stride) }
