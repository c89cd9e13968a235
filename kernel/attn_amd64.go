//go:build !purego

package kernel

import (
	"math"
	"unsafe"
)

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

// dotF16Rows4HAVX2 is dotF16RowsAVX2 for four query heads (q_h at q + h·qs floats) over the
// same rows: out[h·os + j].
//
//go:noescape
func dotF16Rows4HAVX2(q *float32, qs int, k *byte, stride, hd16, m int, out *float32, os int)

// axpyF16Rows4HAVX2 is axpyF16RowsAVX2 for four heads (acc_h at acc + h·as floats, weights w_h
// at w + h·ws floats) over the same rows.
//
//go:noescape
func axpyF16Rows4HAVX2(acc *float32, as int, w *float32, ws int, v *byte, stride, hd16, m int)

// dotF16Rows4H runs dotF16Rows4HAVX2 over the first heads of q four at a time and returns how
// many heads it did (0 without AVX2 or when hd is not a multiple of 16).
func dotF16Rows4H(q []float32, hd int, k []byte, stride, m int, out []float32, os int) int {
	h := 0
	if useAVX2 && hd >= 16 && hd%16 == 0 {
		for ; h+4 <= len(q)/hd; h += 4 {
			dotF16Rows4HAVX2(&q[h*hd], hd, bptr(k), stride, hd, m, &out[h*os], os)
		}
	}
	return h
}

// axpyF16Rows4H is dotF16Rows4H for axpyF16Rows4HAVX2.
func axpyF16Rows4H(acc []float32, hd int, w []float32, ws, m int, v []byte, stride int) int {
	h := 0
	if useAVX2 && hd >= 16 && hd%16 == 0 {
		for ; h+4 <= len(acc)/hd; h += 4 {
			axpyF16Rows4HAVX2(&acc[h*hd], hd, &w[h*ws], ws, bptr(v), stride, hd, m)
		}
	}
	return h
}

// scaleMaxAVX2 scales n8 (a multiple of 8) scores and returns their max.
//
//go:noescape
func scaleMaxAVX2(s *float32, n8 int, scale float32) float32

func scaleMax(s []float32, scale float32) float32 {
	if !useAVX2 {
		return scaleMaxRef(s, scale)
	}
	n8 := len(s) &^ 7
	mx := float32(math.Inf(-1))
	if n8 > 0 {
		mx = scaleMaxAVX2(unsafe.SliceData(s), n8, scale)
	}
	return max(mx, scaleMaxRef(s[n8:], scale))
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
