package kernel

import (
	"fmt"
	"math"
)

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

// DotF16RowsG is DotF16Rows for the G = len(q)/hd query heads of a grouped-query attention
// group, which read the same m K rows: q holds G rows of hd floats, and out[h·os + j] =
// q_h · k_j for j < m. Results equal G DotF16Rows calls bit for bit (each F16 row is only
// widened once for all heads). Panics if len(q) is not a multiple of hd, os < m, or out or k is
// too short.
func DotF16RowsG(q []float32, hd int, k []byte, stride, m int, out []float32, os int) {
	g := checkGroup("DotF16RowsG", len(q), hd, m, len(out), os)
	if g == 0 || m == 0 {
		return
	}
	checkF16Rows("DotF16RowsG", hd, len(k), stride, m)
	dotF16RowsG(q, hd, k, stride, m, out, os)
}

// AxpyF16RowsG is AxpyF16Rows for G = len(acc)/hd heads over the same m V rows: acc holds G
// rows of hd floats and acc_h += Σ_{j<m} w[h·ws + j]·v_j. Results equal G AxpyF16Rows calls
// bit for bit. Panics on inconsistent lengths or a short v.
func AxpyF16RowsG(acc []float32, hd int, w []float32, ws, m int, v []byte, stride int) {
	g := checkGroup("AxpyF16RowsG", len(acc), hd, m, len(w), ws)
	if g == 0 || m == 0 {
		return
	}
	checkF16Rows("AxpyF16RowsG", hd, len(v), stride, m)
	axpyF16RowsG(acc, hd, w, ws, m, v, stride)
}

// ScaleMax multiplies every score s[j] by scale (each product rounded to float32) and returns
// the largest product, −Inf for an empty s: the first step of a softmax over attention scores.
// The AVX2 kernel and the reference agree bit for bit for NaN-free input (the max of values
// that are all finite or ±Inf does not depend on the order; a NaN gives an unspecified max).
func ScaleMax(s []float32, scale float32) float32 { return scaleMax(s, scale) }

func scaleMaxRef(s []float32, scale float32) float32 {
	mx := float32(math.Inf(-1))
	for j := range s {
		s[j] *= scale
		mx = max(mx, s[j])
	}
	return mx
}

// dotF16RowsG is DotF16RowsG without the checks: four heads at a time where there is a kernel
// for it, the rest one by one.
func dotF16RowsG(q []float32, hd int, k []byte, stride, m int, out []float32, os int) {
	for h := dotF16Rows4H(q, hd, k, stride, m, out, os); h < len(q)/hd; h++ {
		dotF16Rows(q[h*hd:(h+1)*hd], k, stride, out[h*os:h*os+m])
	}
}

// axpyF16RowsG is AxpyF16RowsG without the checks, as dotF16RowsG.
func axpyF16RowsG(acc []float32, hd int, w []float32, ws, m int, v []byte, stride int) {
	for h := axpyF16Rows4H(acc, hd, w, ws, m, v, stride); h < len(acc)/hd; h++ {
		axpyF16Rows(acc[h*hd:(h+1)*hd], w[h*ws:h*ws+m], v, stride)
	}
}

// checkGroup returns G = nq/hd after checking that nq is a multiple of hd and that G rows of m
// values at stride s fit in n.
func checkGroup(name string, nq, hd, m, n, s int) int {
	if hd <= 0 || nq%hd != 0 || m < 0 || s < m || (nq > 0 && m > 0 && n < (nq/hd-1)*s+m) {
		panic(fmt.Sprintf("kernel: %s: %d query floats for heads of %d, %d rows at stride %d in %d floats", name, nq, hd, m, s, n))
	}
	return nq / hd
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

// ExpShift sets s[j] = e^(s[j]−m) in float32 and returns Σ_j s[j], summed as: element j <
// len(s)&^7 into lane j%8 in order, lanes reduced with hsum8, then the remaining elements
// added in order. It is the exponent step of a softmax (m the running max, so the arguments
// are ≤ 0). e^x is Cephes' expf (Moshier, Cephes Math Library, expf.c): x = n·ln2 + r with
// n = ⌊x·log2e + ½⌋ (Cody–Waite: ln2 split into 0.693359375 − 2.12194440e-4), a degree-5
// polynomial in r, scaled by 2^n; relative error below 3e-7 (about 2.5 ulp). Every product
// and sum is rounded separately, so the AVX2 kernel and the reference agree bit for bit.
// Arguments below −87.34 (where 2^n would leave the normal range) and −Inf give 0; NaN stays
// NaN. Arguments above 0 are not supported (no overflow handling).
func ExpShift(s []float32, m float32) float32 {
	return expShift(s, m)
}

// expf is one element of ExpShift.
func expf(x float32) float32 {
	if !(x >= expMin) {
		if x != x {
			return x
		}
		return 0
	}
	fn := float32(math.Floor(float64(float32(x*expLog2e) + 0.5)))
	r := x - float32(fn*expC1)
	r -= float32(fn * expC2)
	z := float32(r * r)
	y := float32(expP0 * r)
	y = float32(float32(y+expP1) * r)
	y = float32(float32(y+expP2) * r)
	y = float32(float32(y+expP3) * r)
	y = float32(float32(y+expP4) * r)
	y = float32(y + expP5)
	y = float32(y*z) + r + 1
	return float32(y * math.Float32frombits(uint32(int32(fn)+127)<<23))
}

// Constants of expf (attn_amd64.s has the same values).
const (
	expMin   float32 = -87.34 // just below ln 2⁻¹²⁶ ≈ −87.3365, so 2^n stays normal
	expLog2e float32 = 1.44269504088896341
	expC1    float32 = 0.693359375
	expC2    float32 = -2.12194440e-4
	expP0    float32 = 1.9875691500e-4
	expP1    float32 = 1.3981999507e-3
	expP2    float32 = 8.3334519073e-3
	expP3    float32 = 4.1665795894e-2
	expP4    float32 = 1.6666665459e-1
	expP5    float32 = 5.0000001201e-1
)

func expShiftRef(s []float32, m float32) float32 {
	var lanes [8]float32
	n8 := len(s) &^ 7
	for j := 0; j < n8; j++ {
		s[j] = expf(s[j] - m)
		lanes[j%8] += s[j]
	}
	return expTail(s, m, n8, hsum8(&lanes))
}

// expTail finishes ExpShift over s[n8:] onto sum.
func expTail(s []float32, m float32, n8 int, sum float32) float32 {
	for j := n8; j < len(s); j++ {
		s[j] = expf(s[j] - m)
		sum += s[j]
	}
	return sum
}
