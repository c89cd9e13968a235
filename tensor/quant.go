package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/golem-llm/golem/gguf"
)

// Quantize converts len(src) float32 elements to type t in dst, byte for byte as ggml's
// ggml_quantize_chunk does without an importance matrix (ggml-quants.c
// quantize_row_*_ref; ggml_fp32_to_fp16_row / ggml_fp32_to_bf16_row_ref for F16/BF16).
// dst must hold exactly QuantizedSize(t, len(src)) bytes. Supported: F32, F16, BF16,
// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K. It returns an
// error naming the type and sizes when the type is unsupported or the sizes disagree; it
// never panics. Inputs are expected to be finite; NaN or inf give ggml's (meaningless but
// deterministic) bytes for the float types only.
func Quantize(t Type, src []float32, dst []byte) error {
	if err := sizeCheck("Quantize", t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case gguf.TypeF32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case gguf.TypeF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FP32ToFP16(v))
		}
	case gguf.TypeBF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], FP32ToBF16(v))
		}
	case gguf.TypeQ4_0:
		quantQ4_0(src, dst)
	case gguf.TypeQ4_1:
		quantQ4_1(src, dst)
	case gguf.TypeQ5_0:
		quantQ5_0(src, dst)
	case gguf.TypeQ5_1:
		quantQ5_1(src, dst)
	case gguf.TypeQ8_0:
		quantQ8_0(src, dst)
	case gguf.TypeQ8_1:
		quantQ8_1(src, dst)
	case gguf.TypeQ2_K:
		quantQ2_K(src, dst)
	case gguf.TypeQ3_K:
		quantQ3_K(src, dst)
	case gguf.TypeQ4_K:
		quantQ4_K(src, dst)
	case gguf.TypeQ5_K:
		quantQ5_K(src, dst)
	case gguf.TypeQ6_K:
		quantQ6_K(src, dst)
	case gguf.TypeQ8_K:
		quantQ8_K(src, dst)
	default:
		return fmt.Errorf("tensor: Quantize %v: type not supported", t)
	}
	return nil
}

func putFP16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, FP32ToFP16(f)) }

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

// truncInt converts like C's (int) cast of a float: toward zero. (ggml casts to int8_t or
// uint8_t; the values it casts are in range for finite input, and the low byte is kept.)
func truncInt(f float32) int32 { return int32(f) }

// roundAway rounds half away from zero, as C's roundf.
func roundAway(f float32) float32 { return float32(math.Round(float64(f))) }

// nearestInt is ggml's nearest_int: adding 1.5·2^23 puts the integer part in the low
// mantissa bits under round-to-nearest-even, so ties go to even. Valid for |f| ≤ 2^22−1;
// beyond that it returns the same meaningless value ggml does.
func nearestInt(f float32) int32 {
	v := float32(f) + 12582912
	return int32(math.Float32bits(v)&0x007fffff) - 0x00400000
}

// absMax returns the element of largest magnitude (the first one on ties) and that
// magnitude, as ggml's legacy quantizers find it.
func absMax(x []float32) (maxv, amax float32) {
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, maxv = a, v
		}
	}
	return maxv, amax
}

func quantQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK4_0; i++ {
		x := src[i*QK4_0 : (i+1)*QK4_0]
		b := dst[i*BlockBytesQ4_0 : (i+1)*BlockBytesQ4_0]
		maxv, _ := absMax(x)
		d := maxv / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		for j := 0; j < 16; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+16] * id)
			xi0 := min(15, int8(truncInt(x0+8.5)))
			xi1 := min(15, int8(truncInt(x1+8.5)))
			b[Q4_0QsOff+j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

func quantQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK4_1; i++ {
		x := src[i*QK4_1 : (i+1)*QK4_1]
		b := dst[i*BlockBytesQ4_1 : (i+1)*BlockBytesQ4_1]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b[Q4_1DOff:], d)
		putFP16(b[Q4_1MOff:], lo)
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+16] - lo) * id)
			xi0 := min(15, int8(truncInt(x0+0.5)))
			xi1 := min(15, int8(truncInt(x1+0.5)))
			b[Q4_1QsOff+j] = uint8(xi0) | uint8(xi1)<<4
		}
	}
}

func quantQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK5_0; i++ {
		x := src[i*QK5_0 : (i+1)*QK5_0]
		b := dst[i*BlockBytesQ5_0 : (i+1)*BlockBytesQ5_0]
		maxv, _ := absMax(x)
		d := maxv / -16
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b, d)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := float32(x[j] * id)
			x1 := float32(x[j+16] * id)
			xi0 := uint8(min(31, int8(truncInt(x0+16.5))))
			xi1 := uint8(min(31, int8(truncInt(x1+16.5))))
			b[Q5_0QsOff+j] = xi0&0xf | (xi1&0xf)<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[Q5_0QhOff:], qh)
	}
}

func quantQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK5_1; i++ {
		x := src[i*QK5_1 : (i+1)*QK5_1]
		b := dst[i*BlockBytesQ5_1 : (i+1)*BlockBytesQ5_1]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		var id float32
		if d != 0 {
			id = 1 / d
		}
		putFP16(b[Q5_1DOff:], d)
		putFP16(b[Q5_1MOff:], lo)
		var qh uint32
		for j := 0; j < 16; j++ {
			x0 := float32((x[j] - lo) * id)
			x1 := float32((x[j+16] - lo) * id)
			xi0 := uint8(truncInt(x0 + 0.5))
			xi1 := uint8(truncInt(x1 + 0.5))
			b[Q5_1QsOff+j] = xi0&0xf | (xi1&0xf)<<4
			qh |= uint32(xi0&0x10) >> 4 << j
			qh |= uint32(xi1&0x10) >> 4 << (j + 16)
		}
		binary.LittleEndian.PutUint32(b[Q5_1QhOff:], qh)
	}
}

// q8Scale returns ggml's Q8_0/Q8_1 scale d = amax/127 and its inverse (0 for d = 0).
func q8Scale(x []float32) (d, id float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d = amax / 127
	if d != 0 {
		id = 1 / d
	}
	return d, id
}

func quantQ8_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK8_0; i++ {
		x := src[i*QK8_0 : (i+1)*QK8_0]
		b := dst[i*BlockBytesQ8_0 : (i+1)*BlockBytesQ8_0]
		d, id := q8Scale(x)
		putFP16(b, d)
		for j, v := range x {
			b[Q8_0QsOff+j] = uint8(int8(truncInt(roundAway(float32(v * id)))))
		}
	}
}

// quantQ8_1 is quantize_row_q8_1_ref: Q8_0's quants plus s = fp16(Σq·d).
func quantQ8_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK8_1; i++ {
		x := src[i*QK8_1 : (i+1)*QK8_1]
		b := dst[i*BlockBytesQ8_1 : (i+1)*BlockBytesQ8_1]
		d, id := q8Scale(x)
		putFP16(b[Q8_1DOff:], d)
		var sum int32
		for j, v := range x {
			q := int8(truncInt(roundAway(float32(v * id))))
			b[Q8_1QsOff+j] = uint8(q)
			sum += int32(q)
		}
		putFP16(b[Q8_1SOff:], float32(sum)*d)
	}
}
