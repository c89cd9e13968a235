package tensor

import "math"

// fp16Table holds FP16ToFP32 for all 65536 halves (256 KiB, as ggml's
// ggml_table_f32_f16): a lookup is several times faster than the bit manipulation.
var fp16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = fp16ToFP32Bits(uint16(i))
	}
	return &t
}()

// FP16ToFP32 converts an IEEE 754 binary16 value (bits h) to float32. The conversion is
// exact: normals, subnormals, ±0, ±inf and NaN (payload kept, shifted into the float32
// mantissa) all map to the float32 of the same value (ggml_compute_fp16_to_fp32).
func FP16ToFP32(h uint16) float32 { return fp16Table[h] }

// fp16ToFP32Bits computes FP16ToFP32 by rebiasing the exponent.
func fp16ToFP32Bits(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp != 0: // normal: rebias 15 → 127
		return math.Float32frombits(sign | (exp+112)<<23 | man<<13)
	case man == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: man × 2^-24, which is a normal float32; normalise the mantissa.
	e := uint32(113) // biased float32 exponent of 2^-14
	for man&0x400 == 0 {
		man <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
}

// FP32ToFP16 converts f to IEEE binary16 bits, rounding to nearest with ties to even
// (as F16C's vcvtps2ph and ggml's GGML_FP32_TO_FP16 do). Values whose magnitude rounds
// past 65504 become ±inf; values below half the smallest subnormal (2^-25) become ±0.
// Every NaN becomes the quiet NaN 0x7e00 with f's sign, as ggml's software
// ggml_compute_fp32_to_fp16 (ggml-impl.h) does; F16C would instead keep the top
// payload bits.
func FP32ToFP16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // biased half exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// Half subnormal (or zero): value = m × 2^(exp-150), half unit is 2^-24,
		// so the half mantissa is m >> (126-exp) = m >> (14-e).
		if exp == 0 {
			return sign // float32 subnormals are far below 2^-25
		}
		m := man | 0x800000
		shift := uint32(14 - e)
		if shift > 24 {
			return sign // below 2^-25: rounds to zero
		}
		return sign | uint16(roundShift(m, shift))
	}
	// Normal: keep 10 mantissa bits, round the 13 dropped ones. A carry out of the
	// mantissa correctly bumps the exponent (and yields 0x7c00 = inf past 65504).
	q := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && q&1 == 1) {
		q++
	}
	return sign | uint16(q)
}

// roundShift returns m >> shift rounded to nearest, ties to even (1 ≤ shift ≤ 31).
func roundShift(m, shift uint32) uint32 {
	q := m >> shift
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

// BF16ToFP32 converts bfloat16 bits to float32 (exact: the bits become the high half).
func BF16ToFP32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// FP32ToBF16 converts f to bfloat16 bits as ggml_compute_fp32_to_bf16 (ggml-impl.h) does:
// round to nearest, ties to even, with no flushing of subnormals; a NaN keeps its top
// bits and gets the quiet bit (0x40) set.
func FP32ToBF16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}
