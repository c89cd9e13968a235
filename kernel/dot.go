package kernel

import (
	"fmt"
	"math"
)

// Row dot products of one weight row (ggml block layout, ggml-common.h) with one activation row.
//
// Accumulation order. Every quantized kernel computes each block's integer dot product
// Σ q_w·q_x exactly, split into 8 int32 lanes: lane l takes the elements whose index modulo 32 is
// in [4l, 4l+4) (within a Q8_0/Q4_0 block of 32, or over all eight 32-element groups of a K-quant
// super-block, each element times its sub-block scale). Per block, lane l is converted to float32,
// multiplied by the float32 block scale d (the product of the weight's and the activation's
// scales) and added to the float32 accumulator lane acc[l] (a separate multiply and add, not a
// fused one). K-quants subtract their min term, dmin·Σ_j m_j·(bsums of sub-block j), accumulated
// in one float32 scalar. At the end the 8 lanes are reduced as hsum8:
// ((acc0+acc4)+(acc2+acc6)) + ((acc1+acc5)+(acc3+acc7)), as ggml's hsum_float_8.
// The pure-Go reference and the AVX2 kernels follow this order, so they agree bit for bit, and so
// do the multi-row and multi-column variants (batching never changes a result). The sum differs
// from ggml's (which fuses the multiply-add) only by float rounding.
//
// Shapes: n is the number of elements in the row; w must hold at least n/BlockSize blocks and x
// the matching activation blocks. A wrong n or a short slice is a programming error and panics
// with a message (the kernels never read out of bounds). Any bytes are valid weight data.

const (
	errShape = "kernel: %s: n=%d (must be a multiple of %d), len(w)=%d (need %d), len(x)=%d (need %d)"
)

func checkQ(name string, n, bs int, w []byte, wb int, x []byte, xb int) {
	nb := n / bs
	if n < 0 || n%bs != 0 || len(w) < nb*wb || len(x) < nb*xb {
		panic(fmt.Sprintf(errShape, name, n, bs, len(w), nb*wb, len(x), nb*xb))
	}
}

// DotQ8_0 returns w·x for a Q8_0 weight row w (34-byte blocks: F16 d, 32 int8 quants) and an
// activation row x from QuantizeQ8_0 (ggml_vec_dot_q8_0_q8_0). Per block:
// d_w·d_x·Σ q_w·q_x. x's quants must lie in [-127, 127] (QuantizeQ8_0 guarantees it): the AVX2
// kernel multiplies |q_w| by q_x·sign(q_w), which a -128 in x would overflow.
func DotQ8_0(n int, w, x []byte) float32 {
	checkQ("DotQ8_0", n, 32, w, q8_0BlockBytes, x, q8_0BlockBytes)
	return dotQ8_0(n, w, x)
}

// DotQ4_0 returns w·x for a Q4_0 weight row (18-byte blocks: F16 d, 16 bytes holding element j in
// the low nibble of byte j and element j+16 in the high nibble, value (q−8)·d) and a Q8_0
// activation row from QuantizeQ8_0 (ggml_vec_dot_q4_0_q8_0). Exact for any bytes.
func DotQ4_0(n int, w, x []byte) float32 {
	checkQ("DotQ4_0", n, 32, w, q4_0BlockBytes, x, q8_0BlockBytes)
	return dotQ4_0(n, w, x)
}

// DotQ4_K returns w·x for a Q4_K weight row (144-byte super-blocks of 256: F16 d, F16 dmin,
// 12 bytes of 6-bit scales and mins packed as ggml's get_scale_min_k4, 128 bytes of nibbles) and
// a Q8_K activation row from QuantizeQ8_K (ggml_vec_dot_q4_K_q8_K). Per super-block:
// d_x·d·Σ_j sc_j·Σ q·q_x − d_x·dmin·Σ_j m_j·bsum_j.
func DotQ4_K(n int, w, x []byte) float32 {
	checkQ("DotQ4_K", n, 256, w, q4_KBlockBytes, x, q8_KBlockBytes)
	return dotQ4_K(n, w, x)
}

// DotQ5_K returns w·x for a Q5_K weight row (176-byte super-blocks: F16 d, F16 dmin, 12 bytes of
// scales/mins as Q4_K, qh[32] high bits, qs[128] low nibbles) and a Q8_K activation row
// (ggml_vec_dot_q5_K_q8_K).
func DotQ5_K(n int, w, x []byte) float32 {
	checkQ("DotQ5_K", n, 256, w, q5_KBlockBytes, x, q8_KBlockBytes)
	return dotQ5_K(n, w, x)
}

// DotQ6_K returns w·x for a Q6_K weight row (210-byte super-blocks: ql[128] low nibbles,
// qh[64] 2-bit high parts, 16 int8 scales of 16 elements, F16 d; value d·sc·(q−32)) and a Q8_K
// activation row (ggml_vec_dot_q6_K_q8_K).
func DotQ6_K(n int, w, x []byte) float32 {
	checkQ("DotQ6_K", n, 256, w, q6_KBlockBytes, x, q8_KBlockBytes)
	return dotQ6_K(n, w, x)
}

func checkF(name string, n int, w []byte, x []uint16) {
	if n < 0 || len(w) < 2*n || len(x) < n {
		panic(fmt.Sprintf("kernel: %s: n=%d, len(w)=%d bytes (need %d), len(x)=%d (need %d)", name, n, len(w), 2*n, len(x), n))
	}
}

// DotF16 returns w·x for n F16 weights (little-endian binary16, 2n bytes) and n activations
// already rounded to F16 (F32ToF16Row), as ggml's ggml_vec_dot_f16. Products of two F16 values
// are exact in float32, so the result depends only on the summation order, which is fixed:
// element i < n&^7 is added to lane i%8 of one accumulator in order of i, which is reduced with
// hsum8, and the remaining n%8 elements are added in order to a scalar that is added last. One
// accumulator per output lets the batched kernels (MatMul's 4×4 tiles) keep sixteen outputs in
// registers and still equal this function bit for bit. Reference and AVX2 agree bit for bit
// (tolerance 0).
func DotF16(n int, w []byte, x []uint16) float32 {
	checkF("DotF16", n, w, x)
	return dotF16(n, w, x)
}

// DotBF16 returns w·x for n bfloat16 weights (2n bytes) and n bfloat16 activations, as ggml's
// ggml_vec_dot_bf16 (products are exact; tolerance 0), summed in the four-accumulator order:
// element i < n&^31 is added to lane i%8 of accumulator (i/8)%4, the accumulators are summed
// lane-wise as (a0+a1)+(a2+a3) and reduced with hsum8, and the remaining n%32 elements are added
// in order to a scalar that is added last.
func DotBF16(n int, w []byte, x []uint16) float32 {
	checkF("DotBF16", n, w, x)
	return dotBF16(n, w, x)
}

// DotF32 returns w·x over min(len(w), len(x)) float32s in DotBF16's four-accumulator order. The AVX2 kernel fuses
// each multiply-add and the reference does not, so they agree only within
// |ref−avx2| ≤ 2⁻²⁴·(n/32+10)·Σ|w_i·x_i| (each element meets one extra rounding per step of its
// accumulator chain); the tests assert this bound.
func DotF32(w, x []float32) float32 {
	if len(x) < len(w) {
		w = w[:len(x)]
	}
	return dotF32(w, x[:len(w)])
}

// hsum8 reduces 8 float32 lanes as ggml's hsum_float_8: ((a0+a4)+(a2+a6)) + ((a1+a5)+(a3+a7)).
func hsum8(a *[8]float32) float32 {
	r0, r1, r2, r3 := a[0]+a[4], a[1]+a[5], a[2]+a[6], a[3]+a[7]
	return (r0 + r2) + (r1 + r3)
}

// Reference kernels. Each product d·s is wrapped in float32() so that the compiler cannot fuse
// it with the following add (the Go spec allows fusing otherwise).

func dotQ8_0Ref(n int, w, x []byte) float32 {
	var acc [8]float32
	for b := 0; b < n/32; b++ {
		wb := w[b*q8_0BlockBytes : (b+1)*q8_0BlockBytes]
		xb := x[b*q8_0BlockBytes : (b+1)*q8_0BlockBytes]
		d := float32(halfAt(wb) * halfAt(xb))
		for l := 0; l < 8; l++ {
			var s int32
			for e := 4 * l; e < 4*l+4; e++ {
				s += int32(int8(wb[2+e])) * int32(int8(xb[2+e]))
			}
			acc[l] += float32(d * float32(s))
		}
	}
	return hsum8(&acc)
}

func dotQ4_0Ref(n int, w, x []byte) float32 {
	var acc [8]float32
	var q [32]int32
	for b := 0; b < n/32; b++ {
		wb := w[b*q4_0BlockBytes : (b+1)*q4_0BlockBytes]
		xb := x[b*q8_0BlockBytes : (b+1)*q8_0BlockBytes]
		d := float32(halfAt(wb) * halfAt(xb))
		for j := 0; j < 16; j++ {
			q[j] = int32(wb[2+j]&0xf) - 8
			q[j+16] = int32(wb[2+j]>>4) - 8
		}
		for l := 0; l < 8; l++ {
			var s int32
			for e := 4 * l; e < 4*l+4; e++ {
				s += q[e] * int32(int8(xb[2+e]))
			}
			acc[l] += float32(d * float32(s))
		}
	}
	return hsum8(&acc)
}

// scaleMinK4 unpacks the j-th 6-bit scale and min of a Q4_K/Q5_K super-block
// (ggml-quants.c get_scale_min_k4).
func scaleMinK4(j int, q []byte) (sc, m int32) {
	if j < 4 {
		return int32(q[j] & 63), int32(q[j+4] & 63)
	}
	return int32(q[j+4]&0xf | (q[j-4]>>6)<<4), int32(q[j+4]>>4 | (q[j]>>6)<<4)
}

// kquantAcc adds one K-quant super-block to the lanes: q are the 256 weight quants (offset
// already applied), sc the scale of each 32 (nsub=8) or 16 (nsub=16) elements, xq the 256
// activation quants, d the float scale.
func kquantAcc(acc *[8]float32, q *[256]int32, sc []int32, xb []byte, d float32) {
	var sumi [8]int32
	sub := 256 / len(sc)
	for e := 0; e < 256; e++ {
		sumi[(e%32)/4] += sc[e/sub] * q[e] * int32(int8(xb[4+e]))
	}
	for l := range sumi {
		acc[l] += float32(d * float32(sumi[l]))
	}
}

// kquantMins returns Σ_j m_j·(bsums[2j]+bsums[2j+1]) for the 8 sub-blocks of 32. The pair sum
// wraps to int16 as the AVX2 kernel's VPHADDW does; for activations from QuantizeQ8_K
// (|bsum| ≤ 16·127) it never wraps, so this is the exact sum.
func kquantMins(m *[8]int32, xb []byte) int32 {
	var s int32
	for j := 0; j < 8; j++ {
		b0 := int32(int16(uint16(xb[260+4*j]) | uint16(xb[261+4*j])<<8))
		b1 := int32(int16(uint16(xb[262+4*j]) | uint16(xb[263+4*j])<<8))
		s += m[j] * int32(int16(b0+b1))
	}
	return s
}

func q8KScale(xb []byte) float32 {
	return math.Float32frombits(uint32(xb[0]) | uint32(xb[1])<<8 | uint32(xb[2])<<16 | uint32(xb[3])<<24)
}

func dotQ4_KRef(n int, w, x []byte) float32 {
	var acc [8]float32
	var accm float32
	var q [256]int32
	var sc, m [8]int32
	for b := 0; b < n/256; b++ {
		wb := w[b*q4_KBlockBytes : (b+1)*q4_KBlockBytes]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		for j := 0; j < 8; j++ {
			sc[j], m[j] = scaleMinK4(j, wb[4:16])
		}
		qs := wb[16:144]
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l++ {
				q[64*j+l] = int32(qs[32*j+l] & 0xf)
				q[64*j+32+l] = int32(qs[32*j+l] >> 4)
			}
		}
		dx := q8KScale(xb)
		kquantAcc(&acc, &q, sc[:], xb, float32(dx*halfAt(wb)))
		accm += float32(float32(dx*halfAt(wb[2:])) * float32(kquantMins(&m, xb)))
	}
	return hsum8(&acc) - accm
}

func dotQ5_KRef(n int, w, x []byte) float32 {
	var acc [8]float32
	var accm float32
	var q [256]int32
	var sc, m [8]int32
	for b := 0; b < n/256; b++ {
		wb := w[b*q5_KBlockBytes : (b+1)*q5_KBlockBytes]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		for j := 0; j < 8; j++ {
			sc[j], m[j] = scaleMinK4(j, wb[4:16])
		}
		qh := wb[16:48]
		qs := wb[48:176]
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l++ {
				q[64*j+l] = int32(qs[32*j+l]&0xf) | int32(qh[l]>>(2*j)&1)<<4
				q[64*j+32+l] = int32(qs[32*j+l]>>4) | int32(qh[l]>>(2*j+1)&1)<<4
			}
		}
		dx := q8KScale(xb)
		kquantAcc(&acc, &q, sc[:], xb, float32(dx*halfAt(wb)))
		accm += float32(float32(dx*halfAt(wb[2:])) * float32(kquantMins(&m, xb)))
	}
	return hsum8(&acc) - accm
}

func dotQ6_KRef(n int, w, x []byte) float32 {
	var acc [8]float32
	var q [256]int32
	var sc [16]int32
	for b := 0; b < n/256; b++ {
		wb := w[b*q6_KBlockBytes : (b+1)*q6_KBlockBytes]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		ql, qh := wb[0:128], wb[128:192]
		for j := range sc {
			sc[j] = int32(int8(wb[192+j]))
		}
		for h := 0; h < 2; h++ {
			l0, h0, o := ql[64*h:], qh[32*h:], q[128*h:]
			for l := 0; l < 32; l++ {
				o[l] = int32(l0[l]&0xf|(h0[l]&3)<<4) - 32
				o[l+32] = int32(l0[l+32]&0xf|(h0[l]>>2&3)<<4) - 32
				o[l+64] = int32(l0[l]>>4|(h0[l]>>4&3)<<4) - 32
				o[l+96] = int32(l0[l+32]>>4|(h0[l]>>6&3)<<4) - 32
			}
		}
		kquantAcc(&acc, &q, sc[:], xb, float32(q8KScale(xb)*halfAt(wb[208:])))
	}
	return hsum8(&acc)
}

// dotFloatRef sums f(i) in the four-accumulator order of DotBF16 and DotF32.
func dotFloatRef(n int, f func(i int) float32) float32 {
	var acc [4][8]float32
	n32 := n &^ 31
	for i := 0; i < n32; i++ {
		acc[(i>>3)&3][i&7] += f(i)
	}
	var s [8]float32
	for l := range s {
		s[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
	}
	var t float32
	for i := n32; i < n; i++ {
		t += f(i)
	}
	return hsum8(&s) + t
}

func dotF16Ref(n int, w []byte, x []uint16) float32 {
	var acc [8]float32
	n8 := n &^ 7
	for i := 0; i < n8; i++ {
		acc[i&7] += float32(halfAt(w[2*i:]) * f16ToF32(x[i]))
	}
	return hsum8(&acc) + f16Tail(n, w, x)
}

// f16Tail sums elements [n&^7, n) of an F16 dot in order (the scalar DotF16 adds last).
func f16Tail(n int, w []byte, x []uint16) float32 {
	var t float32
	for i := n &^ 7; i < n; i++ {
		t += float32(halfAt(w[2*i:]) * f16ToF32(x[i]))
	}
	return t
}

func dotBF16Ref(n int, w []byte, x []uint16) float32 {
	return dotFloatRef(n, func(i int) float32 {
		return float32(bf16ToF32(uint16(w[2*i])|uint16(w[2*i+1])<<8) * bf16ToF32(x[i]))
	})
}

func dotF32Ref(w, x []float32) float32 {
	return dotFloatRef(len(w), func(i int) float32 { return float32(w[i] * x[i]) })
}
