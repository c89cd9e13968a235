package kernel

import (
	"encoding/binary"
	"math"
)

// Bit-level half-precision helpers private to the dot kernels. They follow the x86 F16C
// instructions (VCVTPH2PS / VCVTPS2PH with round-to-nearest-even), which is what ggml's
// GGML_CPU_FP16_TO_FP32 / GGML_CPU_FP32_TO_FP16 compile to on this target.

// f16ToF32 widens an IEEE 754 binary16 value exactly (subnormals included). A signalling
// NaN comes back quiet, as VCVTPH2PS returns it.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		if mant != 0 {
			return math.Float32frombits(sign | 0x7fc00000 | mant<<13)
		}
		return math.Float32frombits(sign | 0x7f800000)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// subnormal: value = mant·2^-24, exact in float32
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// f32ToF16 narrows f to binary16 with round-to-nearest-even; overflow gives ±Inf, NaN stays
// NaN with the top mantissa bits kept and the quiet bit set (as VCVTPS2PH does).
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 | uint16(mant>>13)
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 {
		// subnormal or zero in binary16: shift the full significand right, rounding to even.
		if e < -10 {
			return sign
		}
		m := mant | 0x800000
		shift := uint32(14 - e)
		h := m >> shift
		rem := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && h&1 != 0) {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && h&1 != 0) {
		h++ // may carry into the exponent, up to Inf: still correct
	}
	return sign | uint16(h)
}

// bf16ToF32 widens a bfloat16 (the top half of a float32), as ggml's GGML_BF16_TO_FP32.
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// le16 reads the little-endian binary16 at b[0:2] as float32.
func halfAt(b []byte) float32 { return f16ToF32(binary.LittleEndian.Uint16(b)) }
