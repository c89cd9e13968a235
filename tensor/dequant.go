package tensor

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/golem-llm/golem/gguf"
)

// QuantizedSize returns the bytes n elements of type t occupy (gguf.Type.RowSize), or an
// error when t is unknown or n is negative or not a whole number of t's blocks.
func QuantizedSize(t Type, n int) (int, error) {
	s, err := t.RowSize(int64(n))
	if err != nil {
		return 0, fmt.Errorf("tensor: %w", err)
	}
	return int(s), nil
}

// sizeCheck validates that n elements of t occupy exactly nbytes.
func sizeCheck(op string, t Type, n, nbytes int) error {
	want, err := t.RowSize(int64(n))
	if err != nil {
		return fmt.Errorf("tensor: %s: %w", op, err)
	}
	if int64(nbytes) != want {
		return fmt.Errorf("tensor: %s %v: %d elements need %d bytes, got %d", op, t, n, want, nbytes)
	}
	return nil
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }

func fp16At(b []byte) float32 { return FP16ToFP32(binary.LittleEndian.Uint16(b)) }

// Dequantize converts len(dst) elements of type t from src to float32, exactly as ggml's
// to_float (ggml-quants.c dequantize_row_*; ggml_fp16_to_fp32_row for F16/BF16). src must
// hold exactly QuantizedSize(t, len(dst)) bytes. Supported: F32, F16, BF16, Q4_0, Q4_1,
// Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K. It returns an error naming the type
// and sizes when the type is unsupported or the sizes disagree; it never panics.
func Dequantize(t Type, src []byte, dst []float32) error {
	if err := sizeCheck("Dequantize", t, len(dst), len(src)); err != nil {
		return err
	}
	switch t {
	case gguf.TypeF32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case gguf.TypeF16:
		for i := range dst {
			dst[i] = FP16ToFP32(le16(src[2*i:]))
		}
	case gguf.TypeBF16:
		for i := range dst {
			dst[i] = BF16ToFP32(le16(src[2*i:]))
		}
	case gguf.TypeQ4_0:
		dequantQ4_0(src, dst)
	case gguf.TypeQ4_1:
		dequantQ4_1(src, dst)
	case gguf.TypeQ5_0:
		dequantQ5_0(src, dst)
	case gguf.TypeQ5_1:
		dequantQ5_1(src, dst)
	case gguf.TypeQ8_0:
		dequantQ8_0(src, dst)
	case gguf.TypeQ2_K:
		dequantQ2_K(src, dst)
	case gguf.TypeQ3_K:
		dequantQ3_K(src, dst)
	case gguf.TypeQ4_K:
		dequantQ4_K(src, dst)
	case gguf.TypeQ5_K:
		dequantQ5_K(src, dst)
	case gguf.TypeQ6_K:
		dequantQ6_K(src, dst)
	case gguf.TypeQ8_K:
		dequantQ8_K(src, dst)
	default:
		return fmt.Errorf("tensor: Dequantize %v: type not supported", t)
	}
	return nil
}

// The float expressions below keep ggml's operation order; explicit float32(...) around a
// product stops Go from fusing it with a following add into an FMA (Go spec,
// "Arithmetic operators"), which would change the rounding.

func dequantQ4_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK4_0; i++ {
		b := src[i*BlockBytesQ4_0 : (i+1)*BlockBytesQ4_0]
		y := dst[i*QK4_0 : (i+1)*QK4_0]
		d := fp16At(b)
		qs := b[Q4_0QsOff:]
		for j := 0; j < 16; j++ {
			y[j] = float32(int32(qs[j]&0xf)-8) * d
			y[j+16] = float32(int32(qs[j]>>4)-8) * d
		}
	}
}

func dequantQ4_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK4_1; i++ {
		b := src[i*BlockBytesQ4_1 : (i+1)*BlockBytesQ4_1]
		y := dst[i*QK4_1 : (i+1)*QK4_1]
		d, m := fp16At(b), fp16At(b[Q4_1MOff:])
		qs := b[Q4_1QsOff:]
		for j := 0; j < 16; j++ {
			y[j] = float32(float32(qs[j]&0xf)*d) + m
			y[j+16] = float32(float32(qs[j]>>4)*d) + m
		}
	}
}

func dequantQ5_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK5_0; i++ {
		b := src[i*BlockBytesQ5_0 : (i+1)*BlockBytesQ5_0]
		y := dst[i*QK5_0 : (i+1)*QK5_0]
		d := fp16At(b)
		qh := binary.LittleEndian.Uint32(b[Q5_0QhOff:])
		qs := b[Q5_0QsOff:]
		for j := 0; j < 16; j++ {
			h0 := uint8(qh>>j<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			y[j] = float32(int32(qs[j]&0xf|h0)-16) * d
			y[j+16] = float32(int32(qs[j]>>4|h1)-16) * d
		}
	}
}

func dequantQ5_1(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK5_1; i++ {
		b := src[i*BlockBytesQ5_1 : (i+1)*BlockBytesQ5_1]
		y := dst[i*QK5_1 : (i+1)*QK5_1]
		d, m := fp16At(b), fp16At(b[Q5_1MOff:])
		qh := binary.LittleEndian.Uint32(b[Q5_1QhOff:])
		qs := b[Q5_1QsOff:]
		for j := 0; j < 16; j++ {
			h0 := uint8(qh>>j<<4) & 0x10
			h1 := uint8(qh>>(j+12)) & 0x10
			y[j] = float32(float32(qs[j]&0xf|h0)*d) + m
			y[j+16] = float32(float32(qs[j]>>4|h1)*d) + m
		}
	}
}

func dequantQ8_0(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK8_0; i++ {
		b := src[i*BlockBytesQ8_0 : (i+1)*BlockBytesQ8_0]
		y := dst[i*QK8_0 : (i+1)*QK8_0]
		d := fp16At(b)
		qs := b[Q8_0QsOff:]
		for j := range y {
			y[j] = float32(int8(qs[j])) * d
		}
	}
}

func dequantQ2_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*BlockBytesQ2_K : (i+1)*BlockBytesQ2_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d, dmin := fp16At(b[Q2_KDOff:]), fp16At(b[Q2_KDminOff:])
		scales := b[Q2_KScalesOff : Q2_KScalesOff+16]
		k := 0
		for h := 0; h < 2; h++ {
			q := b[Q2_KQsOff+32*h : Q2_KQsOff+32*h+32]
			for s := uint(0); s < 8; s += 2 {
				for half := 0; half < 2; half++ {
					sc := scales[0]
					scales = scales[1:]
					dl := d * float32(sc&0xf)
					ml := dmin * float32(sc>>4)
					for l := 16 * half; l < 16*half+16; l++ {
						y[k] = float32(dl*float32((q[l]>>s)&3)) - ml
						k++
					}
				}
			}
		}
	}
}

func dequantQ3_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*BlockBytesQ3_K : (i+1)*BlockBytesQ3_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d := fp16At(b[Q3_KDOff:])
		hm := b[Q3_KHmaskOff : Q3_KHmaskOff+32]
		sc := b[Q3_KScalesOff : Q3_KScalesOff+KScaleBytes]
		k, g := 0, 0
		m := uint8(1)
		for h := 0; h < 2; h++ {
			q := b[Q3_KQsOff+32*h : Q3_KQsOff+32*h+32]
			for s := uint(0); s < 8; s += 2 {
				for half := 0; half < 2; half++ {
					dl := d * float32(int32(Q3KScale(g, sc)))
					g++
					for l := 16 * half; l < 16*half+16; l++ {
						v := int32((q[l] >> s) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						y[k] = dl * float32(v)
						k++
					}
				}
				m <<= 1
			}
		}
	}
}

func dequantQ4_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*BlockBytesQ4_K : (i+1)*BlockBytesQ4_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d, dmin := fp16At(b[Q4_KDOff:]), fp16At(b[Q4_KDminOff:])
		scales := b[Q4_KScalesOff : Q4_KScalesOff+KScaleBytes]
		for c := 0; c < 4; c++ {
			q := b[Q4_KQsOff+32*c : Q4_KQsOff+32*c+32]
			sc, mn := GetScaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(mn)
			sc, mn = GetScaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(mn)
			yc := y[64*c : 64*c+64]
			for l := 0; l < 32; l++ {
				yc[l] = float32(d1*float32(q[l]&0xf)) - m1
				yc[l+32] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
	}
}

func dequantQ5_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*BlockBytesQ5_K : (i+1)*BlockBytesQ5_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d, dmin := fp16At(b[Q5_KDOff:]), fp16At(b[Q5_KDminOff:])
		scales := b[Q5_KScalesOff : Q5_KScalesOff+KScaleBytes]
		qh := b[Q5_KQhOff : Q5_KQhOff+32]
		u1, u2 := uint8(1), uint8(2)
		for c := 0; c < 4; c++ {
			ql := b[Q5_KQsOff+32*c : Q5_KQsOff+32*c+32]
			sc, mn := GetScaleMinK4(2*c, scales)
			d1, m1 := d*float32(sc), dmin*float32(mn)
			sc, mn = GetScaleMinK4(2*c+1, scales)
			d2, m2 := d*float32(sc), dmin*float32(mn)
			yc := y[64*c : 64*c+64]
			for l := 0; l < 32; l++ {
				v1, v2 := int32(ql[l]&0xf), int32(ql[l]>>4)
				if qh[l]&u1 != 0 {
					v1 += 16
				}
				if qh[l]&u2 != 0 {
					v2 += 16
				}
				yc[l] = float32(d1*float32(v1)) - m1
				yc[l+32] = float32(d2*float32(v2)) - m2
			}
			u1 <<= 2
			u2 <<= 2
		}
	}
}

func dequantQ6_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*BlockBytesQ6_K : (i+1)*BlockBytesQ6_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d := fp16At(b[Q6_KDOff:])
		for h := 0; h < 2; h++ {
			ql := b[Q6_KQlOff+64*h : Q6_KQlOff+64*h+64]
			qh := b[Q6_KQhOff+32*h : Q6_KQhOff+32*h+32]
			sc := b[Q6_KScalesOff+8*h : Q6_KScalesOff+8*h+8]
			yh := y[128*h : 128*h+128]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int32(ql[l]&0xf|(qh[l]>>0&3)<<4) - 32
				q2 := int32(ql[l+32]&0xf|(qh[l]>>2&3)<<4) - 32
				q3 := int32(ql[l]>>4|(qh[l]>>4&3)<<4) - 32
				q4 := int32(ql[l+32]>>4|(qh[l]>>6&3)<<4) - 32
				yh[l] = float32(d*float32(int8(sc[is]))) * float32(q1)
				yh[l+32] = float32(d*float32(int8(sc[is+2]))) * float32(q2)
				yh[l+64] = float32(d*float32(int8(sc[is+4]))) * float32(q3)
				yh[l+96] = float32(d*float32(int8(sc[is+6]))) * float32(q4)
			}
		}
	}
}

func dequantQ8_K(src []byte, dst []float32) {
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*BlockBytesQ8_K : (i+1)*BlockBytesQ8_K]
		y := dst[i*QK_K : (i+1)*QK_K]
		d := math.Float32frombits(binary.LittleEndian.Uint32(b[Q8_KDOff:]))
		qs := b[Q8_KQsOff : Q8_KQsOff+QK_K]
		for j := range y {
			y[j] = d * float32(int8(qs[j]))
		}
	}
}
