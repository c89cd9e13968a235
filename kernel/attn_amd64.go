//go:build !purego

package kernel

import "unsafe"

// dotF16RowsAVX2 computes m row dots of hd16 (a multiple of 16) elements (attn_amd64.s).
//
//go:noescape
func dotF16RowsAVX2(q *float32, k *byte, stride, hd16, m int, out *float32)

// axpyF16RowsAVX2 adds Σ_j w[j]·v_j over m rows to acc[0:hd16], hd16 a multiple of 16.
//
//go:noescape
func axpyF16RowsAVX2(acc, w *float32, v *byte, stride, hd16, m int)

func dotF16Rows(q []float32, k []byte, stride int, out []float32) {
	hd := len(q)
	if !useAVX2 || hd < 16 {
		dotF16RowsRef(q, k, stride, out)
		return
	}
	h16 := hd &^ 15
	dotF16RowsAVX2(unsafe.SliceData(q), bptr(k), stride, h16, len(out), unsafe.SliceData(out))
	if h16 == hd {
		return
	}
	for j := range out {
		r := k[j*stride:]
		var t float32
		for i := h16; i < hd; i++ {
			t += float32(q[i] * halfAt(r[2*i:]))
		}
		out[j] += t
	}
}

func axpyF16Rows(acc, w []float32, v []byte, stride int) {
	hd := len(acc)
	if !useAVX2 || hd < 16 {
		axpyF16RowsRef(acc, w, v, stride)
		return
	}
	h16 := hd &^ 15
	axpyF16RowsAVX2(unsafe.SliceData(acc), unsafe.SliceData(w), bptr(v), stride, h16, len(w))
	if h16 < hd {
		axpyF16RowsRef(acc[h16:], w, v[2*h16:], stride)
	}
}

// expShiftAVX2 is ExpShift over n8 (a multiple of 8) elements; it returns the hsum8 of the
// lane sums.
//
//go:noescape
func expShiftAVX2(s *float32, n8 int, m float32) float32

func expShift(s []float32, m float32) float32 {
	if !useAVX2 {
		return expShiftRef(s, m)
	}
	n8 := len(s) &^ 7
	var sum float32
	if n8 > 0 {
		sum = expShiftAVX2(unsafe.SliceData(s), n8, m)
	}
	return expTail(s, m, n8, sum)
}
