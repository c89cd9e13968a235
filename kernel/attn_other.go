//go:build !amd64 || purego

package kernel

func dotF16Rows(q []float32, k []byte, stride int, out []float32) {
	dotF16RowsRef(q, k, stride, out)
}

func axpyF16Rows(acc, w []float32, v []byte, stride int) { axpyF16RowsRef(acc, w, v, stride) }

func expShift(s []float32, m float32) float32 { return expShiftRef(s, m) }

func scaleMax(s []float32, scale float32) float32 { return scaleMaxRef(s, scale) }

func dotF16Rows4H(q []float32, hd int, k []byte, stride, m int, out []float32, os int) int {
	return 0
}

func axpyF16Rows4H(acc []float32, hd int, w []float32, ws, m int, v []byte, stride int) int {
	return 0
}
