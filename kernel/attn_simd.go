package kernel

import "fmt"

// Row kernels for attention over F16 K/V rows (the paged KV cache stores F16 by default, as
// llama.cpp's cache_type_k/v). Queries and accumulators stay float32; each F16 element is
// widened exactly (F16C's VCVTPH2PS), so the only rounding is the float32 arithmetic.
//
// Orders (fixed, so a result never depends on threads or batching):
//   - DotF16Rows: for each row, element i < hd&^15 goes to lane i%8 of accumulator (i/8)%2
//     (multiply-add, fused in the AVX2 kernel), the two accumulators are added lane-wise and
//     reduced with hsum8; elements hd&^15 … hd-1 are added in order to a scalar added last.
//   - AxpyF16Rows: acc[x] += w[j]·v_j[x] for j = 0, 1, … in order, per element x (fused in
//     the AVX2 kernel).
//
// The pure-Go reference does not fuse, so it agrees with AVX2 only within float32 rounding:
// per multiply-add at most one extra rounding of 2⁻²⁴ relative to the running |sum|.

// DotF16Rows sets out[j] = q · k_j for j < len(out), where k_j is len(q) F16 values
// (little-endian binary16) starting at byte j·stride of k. Panics if k is too short or
// stride < 2·len(q).
func DotF16Rows(q []float32, k []byte, stride int, out []float32) {
	hd := len(q)
	checkF16Rows("DotF16Rows", hd, len(k), stride, len(out))
	if len(out) == 0 || hd == 0 {
		clear(out)
		return
	}
	dotF16Rows(q, k, stride, out)
}

// AxpyF16Rows adds Σ_j w[j]·v_j to acc, for j < len(w), where v_j is len(acc) F16 values
// starting at byte j·stride of v. Panics if v is too short or stride < 2·len(acc).
func AxpyF16Rows(acc, w []float32, v []byte, stride int) {
	hd := len(acc)
	checkF16Rows("AxpyF16Rows", hd, len(v), stride, len(w))
	if len(w) == 0 || hd == 0 {
		return
	}
	axpyF16Rows(acc, w, v, stride)
}

func checkF16Rows(name string, hd, n, stride, rows int) {
	if rows > 0 && (stride < 2*hd || n < (rows-1)*stride+2*hd) {
		panic(fmt.Sprintf("kernel: %s: %d rows of %d F16 values at stride %d bytes need %d bytes, have %d",
			name, rows, hd, stride, (rows-1)*stride+2*hd, n))
	}
}

func dotF16RowsRef(q []float32, k []byte, stride int, out []float32) {
	hd := len(q)
	for j := range out {
		r := k[j*stride : j*stride+2*hd]
		var a [2][8]float32
		i := 0
		for ; i+16 <= hd; i += 16 {
			for l := 0; l < 8; l++ {
				a[0][l] += float32(q[i+l] * halfAt(r[2*(i+l):]))
				a[1][l] += float32(q[i+8+l] * halfAt(r[2*(i+8+l):]))
			}
		}
		for l := range a[0] {
			a[0][l] += a[1][l]
		}
		var t float32
		for ; i < hd; i++ {
			t += float32(q[i] * halfAt(r[2*i:]))
		}
		out[j] = hsum8(&a[0]) + t
	}
}

func axpyF16RowsRef(acc, w []float32, v []byte, stride int) {
	for j, wj := range w {
		r := v[j*stride : j*stride+2*len(acc)]
		for x := range acc {
			acc[x] += float32(wj * halfAt(r[2*x:]))
		}
	}
}
