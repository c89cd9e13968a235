package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Activation block sizes in bytes (ggml-common.h: block_q8_0, block_q8_K).
const (
	q8_0BlockBytes = 2 + 32           // ggml_half d; int8 qs[32]
	q8_KBlockBytes = 4 + 256 + 16*2   // float d; int8 qs[256]; int16 bsums[16]
	q4_0BlockBytes = 2 + 16           // ggml_half d; uint8 qs[16]
	q4_KBlockBytes = 2 + 2 + 12 + 128 // d, dmin, scales[12], qs[128]
	q5_KBlockBytes = 2 + 2 + 12 + 32 + 128
	q6_KBlockBytes = 128 + 64 + 16 + 2 // ql[128], qh[64], int8 scales[16], d
)

// Q8_0RowBytes is the size in bytes of n activations quantized by QuantizeQ8_0 (n a multiple of 32).
func Q8_0RowBytes(n int) int { return n / 32 * q8_0BlockBytes }

// Q8_KRowBytes is the size in bytes of n activations quantized by QuantizeQ8_K (n a multiple of 256).
func Q8_KRowBytes(n int) int { return n / 256 * q8_KBlockBytes }

// QuantizeQ8_0 quantizes the activation row x into Q8_0 blocks in dst (ggml's block_q8_0:
// float16 d, then 32 int8 quants; Q8_0RowBytes(len(x)) bytes), so that x[i] ≈ d·q[i].
//
// It follows ggml's AVX2 quantize_row_q8_0 (ggml/src/ggml-cpu/arch/x86/quants.c), which is
// what llama.cpp multiplies Q8_0/Q4_0 weights with on this machine: per block of 32,
// amax = max|x|, d = amax/127 (stored as F16), id = 127/amax (0 for an all-zero block) and
// q = round-half-to-even(x·id). ggml's scalar quantize_row_q8_0_ref (used to quantize weight
// files, and by tensor.Quantize) instead computes id = 1/d and rounds halves away from zero, so
// the two agree on d and differ by at most 1 in a quant, only where x·id lands within float error
// of .5. Quants always lie in [-127, 127] for finite input, which the integer dot products rely on.
// An Inf gives d = Inf and quants 0 (-128 for the Inf itself); NaN input gives unspecified quants.
//
// The pure-Go and AVX2 versions produce identical bytes. Panics if len(x) is not a multiple of
// 32 or dst is shorter than Q8_0RowBytes(len(x)) (a programming error, like an index out of range).
func QuantizeQ8_0(x []float32, dst []byte) {
	if len(x)%32 != 0 || len(dst) < Q8_0RowBytes(len(x)) {
		panic(fmt.Sprintf("kernel: QuantizeQ8_0: %d values (want a multiple of 32) into %d bytes (need %d)",
			len(x), len(dst), Q8_0RowBytes(len(x))))
	}
	quantizeQ8_0(x, dst)
}

func quantizeQ8_0Ref(x []float32, dst []byte) {
	for b := 0; b < len(x)/32; b++ {
		xb := x[b*32 : b*32+32]
		out := dst[b*q8_0BlockBytes : (b+1)*q8_0BlockBytes]
		var amax float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax = a
			}
		}
		d := amax / 127
		binary.LittleEndian.PutUint16(out, f32ToF16(d))
		var id float32
		if amax != 0 {
			id = 127 / amax
		}
		for j, v := range xb {
			out[2+j] = byte(cvtRoundSat8(float32(v * id)))
		}
	}
}

// cvtRoundSat8 rounds v half-to-even to int32 the way VCVTPS2DQ does (NaN and out-of-range
// give the "integer indefinite" 0x80000000), then saturates to int8 as VPACKSSDW+VPACKSSWB do.
func cvtRoundSat8(v float32) int8 {
	r := math.RoundToEven(float64(v))
	if r != r || r >= 1<<31 || r < -(1<<31) {
		return -128
	}
	switch {
	case r > 127:
		return 127
	case r < -128:
		return -128
	}
	return int8(r)
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// QuantizeQ8_K quantizes the activation row x into Q8_K super-blocks in dst (ggml's block_q8_K:
// float32 d, 256 int8 quants, 16 int16 bsums = sums of each 16 consecutive quants;
// Q8_KRowBytes(len(x)) bytes), the activation format of the K-quant dot products.
//
// Exactly ggml's quantize_row_q8_K_ref (ggml/src/ggml-quants.c), which ggml's x86 build also uses:
// per 256 values, max = the value of largest magnitude (the first one on ties), iscale = -127/max,
// q = min(127, round-half-to-even(iscale·x)), d = 1/iscale; an all-zero block gets d = 0.
// Quants lie in [-127, 127] for finite input. Non-finite input gives unspecified quants.
// Panics if len(x) is not a multiple of 256 or dst is too short.
func QuantizeQ8_K(x []float32, dst []byte) {
	if len(x)%256 != 0 || len(dst) < Q8_KRowBytes(len(x)) {
		panic(fmt.Sprintf("kernel: QuantizeQ8_K: %d values (want a multiple of 256) into %d bytes (need %d)",
			len(x), len(dst), Q8_KRowBytes(len(x))))
	}
	quantizeQ8_K(x, dst)
}

func quantizeQ8_KRef(x []float32, dst []byte) {
	for b := 0; b < len(x)/256; b++ {
		xb := x[b*256 : b*256+256]
		out := dst[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		var max, amax float32
		for _, v := range xb {
			if a := abs32(v); a > amax {
				amax, max = a, v
			}
		}
		if amax == 0 {
			clear(out)
			continue
		}
		iscale := -127 / max
		qs := out[4 : 4+256]
		for j, v := range xb {
			q := nearestInt(float32(iscale * v))
			if q > 127 {
				q = 127
			}
			qs[j] = byte(int8(q))
		}
		for g := 0; g < 16; g++ {
			var s int16
			for _, q := range qs[g*16 : g*16+16] {
				s += int16(int8(q))
			}
			binary.LittleEndian.PutUint16(out[4+256+2*g:], uint16(s))
		}
		binary.LittleEndian.PutUint32(out, math.Float32bits(1/iscale))
	}
}

// nearestInt is ggml's nearest_int (round half to even, |v| < 2^22).
func nearestInt(v float32) int32 {
	r := math.RoundToEven(float64(v))
	if r != r || r > 1<<22 || r < -(1<<22) {
		return 0
	}
	return int32(r)
}

// F32ToF16Row rounds each x[i] to IEEE binary16 (round-half-to-even, overflow to ±Inf,
// subnormals kept) into dst[i], as F16C's VCVTPS2PH and ggml's GGML_CPU_FP32_TO_FP16 do; this
// is how ggml prepares activations for F16 weights. Panics if len(dst) < len(x).
func F32ToF16Row(x []float32, dst []uint16) {
	if len(dst) < len(x) {
		panic(fmt.Sprintf("kernel: F32ToF16Row: %d values into %d", len(x), len(dst)))
	}
	f32ToF16Row(x, dst[:len(x)])
}

func f32ToF16RowRef(x []float32, dst []uint16) {
	for i, v := range x {
		dst[i] = f32ToF16(v)
	}
}
