//go:build !amd64 || purego

package kernel

func dotF16Rows(q []float32, k []byte, stride int, out []float32) {
	dotF16RowsRef(q, k, stride, out)
}

func axpyF16Rows(acc, w []float32, v []byte, stride int) { axpyF16RowsRef(acc, w, v, stride) }

func expShift(s []float32, m float32) float32 { return expShiftRef(s, m) }

func dotF16RowsG(q []float32, hd int, k []byte, stride int, out []float32) {
	g := len(q) / hd
	m := len(out) / g
	for h := 0; h < g; h++ {
		dotF16Rows(q[h*hd:(h+1)*hd], k, stride, out[h*m:(h+1)*m])
	}
}

func axpyF16RowsG(acc []float32, hd int, w []float32, v []byte, stride int) {
	g := len(acc) / hd
	m := len(w) / g
	for h := 0; h < g; h++ {
		axpyF16Rows(acc[h*hd:(h+1)*hd], w[h*m:(h+1)*m], v, stride)
	}
}
