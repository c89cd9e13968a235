//go:build !amd64 || purego

package kernel

func dotF16Rows(q []float32, k []byte, stride int, out []float32) {
	dotF16RowsRef(q, k, stride, out)
}

func axpyF16Rows(acc, w []float32, v []byte, stride int) { axpyF16RowsRef(acc, w, v, stride) }

func expShift(s []float32, m float32) float32 { return expShiftRef(s, m) }

func scaleMax(s []float32, scale float32) float32 { return scaleMaxRef(s, scale) }

func dotF16RowsG(q []float32, hd int, k []byte, stride, m int, out []float32, os int) {
	for h := 0; h < len(q)/hd; h++ {
		dotF16Rows(q[h*hd:(h+1)*hd], k, stride, out[h*os:h*os+m])
	}
}

func axpyF16RowsG(acc []float32, hd int, w []float32, ws, m int, v []byte, stride int) {
	for h := 0; h < len(acc)/hd; h++ {
		axpyF16Rows(acc[h*hd:(h+1)*hd], w[h*ws:h*ws+m], v, stride)
	}
}
