//go:build !amd64 || purego

package kernel

func dotF16Rows(q []float32, k []byte, stride int, out []float32) {
	dotF16RowsRef(q, k, stride, out)
}

func axpyF16Rows(acc, w []float32, v []byte, stride int) { axpyF16RowsRef(acc, w, v, stride) }

func expShift(s []float32, m float32) float32 { return expShiftRef(s, m) }
