package tensor

import (
	"math"
	"testing"
)

// ggmlFP32ToFP16 is ggml's software ggml_compute_fp32_to_fp16 (ggml-impl.h, after
// Maratyszcza's FP16 library): a float trick entirely different from FP32ToFP16's integer
// rounding, used here as an independent reference.
func ggmlFP32ToFP16(f float32) uint16 {
	const scaleToInf = float32(0x1.0p+112)
	const scaleToZero = float32(0x1.0p-110)
	base := float32(abs32(f)*scaleToInf) * scaleToZero
	w := math.Float32bits(f)
	shl1w := w + w
	sign := w & 0x80000000
	bias := shl1w & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	nonsign := (bits>>13)&0x7c00 + bits&0x0fff
	if shl1w > 0xff000000 {
		nonsign = 0x7e00
	}
	return uint16(sign>>16 | nonsign)
}

// halfValue computes the value of binary16 bits h in float64 from the IEEE definition.
func halfValue(h uint16) float64 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch {
	case e == 0x1f && m == 0:
		return math.Inf(int(s))
	case e == 0x1f:
		return math.NaN()
	case e == 0:
		return s * math.Ldexp(m, -24)
	}
	return s * math.Ldexp(1+m/1024, e-15)
}

func TestFP16ToFP32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got, want := FP16ToFP32(h), halfValue(h)
		if math.IsNaN(want) {
			if got == got {
				t.Fatalf("FP16ToFP32(%#04x) = %g, want NaN", h, got)
			}
			// The payload is kept, shifted into the top of the float32 mantissa.
			if want := uint32(h&0x8000)<<16 | 0x7f800000 | uint32(h&0x3ff)<<13; math.Float32bits(got) != want {
				t.Fatalf("FP16ToFP32(%#04x) = %#08x, want %#08x", h, math.Float32bits(got), want)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("FP16ToFP32(%#04x) = %g, want %g", h, got, want)
		}
		// Every half is exactly representable, so the round trip is the identity.
		if back := FP32ToFP16(got); back != h {
			t.Fatalf("FP32ToFP16(FP16ToFP32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestFP32ToFP16Cases(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{65504, 0x7bff},  // largest finite half
		{-65504, 0xfbff}, //
		{65519, 0x7bff},  // below the midpoint to 65536: rounds down
		{65520, 0x7c00},  // midpoint 65504…65536: ties to even = 0x7c00 = inf
		{1e6, 0x7c00},
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{float32(math.NaN()), 0x7e00},
		{math.Float32frombits(0xffc00001), 0xfe00},      // negative NaN keeps its sign
		{0x1p-24, 0x0001},                               // smallest subnormal
		{0x1p-25, 0x0000},                               // half of it: tie to even 0
		{math.Float32frombits(0x33000001), 0x0001},      // just above 2^-25 rounds up
		{0x1.8p-24, 0x0002},                             // 1.5 units: tie to even 2
		{0x1p-14, 0x0400},                               // smallest normal
		{0x1.ffcp-15, 0x0400},                           // 1023.5 units: tie to even 1024 (normal)
		{1 + 0x1p-11, 0x3c00},                           // tie between 1 and 1+2^-10: even
		{1 + 0x3p-11, 0x3c02},                           // tie between 1+2^-10 and 1+2^-9: even
		{math.Float32frombits(0x3f801001), 0x3c01},      // just above the tie
		{math.Float32frombits(0x00000001), 0x0000},      // float32 subnormal
		{-math.Float32frombits(0x00400000) * 1, 0x8000}, // negative float32 subnormal
		{math.MaxFloat32, 0x7c00},
	}
	for _, c := range cases {
		if got := FP32ToFP16(c.f); got != c.want {
			t.Errorf("FP32ToFP16(%g [%#08x]) = %#04x, want %#04x", c.f, math.Float32bits(c.f), got, c.want)
		}
	}
}

// TestFP32ToFP16MatchesGGML compares with ggml's own algorithm over a sweep of float32
// bit patterns (every exponent, many mantissas) and every half midpoint ± 1 ulp.
func TestFP32ToFP16MatchesGGML(t *testing.T) {
	check := func(b uint32) {
		f := math.Float32frombits(b)
		if got, want := FP32ToFP16(f), ggmlFP32ToFP16(f); got != want {
			t.Fatalf("FP32ToFP16(%g [%#08x]) = %#04x, ggml gives %#04x", f, b, got, want)
		}
	}
	step := uint32(9973)
	if testing.Short() {
		step = 99991
	}
	for b := uint64(0); b < 1<<32; b += uint64(step) {
		check(uint32(b))
	}
	for h := uint32(0); h < 0x7c00; h++ {
		mid := (halfValue(uint16(h)) + halfValue(uint16(h+1))) / 2 // exact in float32
		m := math.Float32bits(float32(mid))
		for _, b := range []uint32{m - 1, m, m + 1} {
			check(b)
			check(b | 0x80000000)
		}
	}
}

func TestBF16(t *testing.T) {
	cases := []struct {
		bits uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1.0
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x80000000, 0x8000}, // -0
		{0x00000001, 0x0000}, // subnormal rounds to 0 (not flushed: next case)
		{0x00008000, 0x0000}, // tie at the subnormal boundary: even
		{0x00018000, 0x0002}, // subnormals are rounded, not flushed
		{0x7f800000, 0x7f80}, // +inf
		{0xff800000, 0xff80}, // -inf
		{0x7f7fffff, 0x7f80}, // max float rounds to inf, as ggml does
		{0x7f800001, 0x7fc0}, // signalling NaN: top bits kept, quiet bit set
		{0xffc00000, 0xffc0}, // negative quiet NaN
		{0x7fa12345, 0x7fe1}, // payload's top bits survive
	}
	for _, c := range cases {
		if got := FP32ToBF16(math.Float32frombits(c.bits)); got != c.want {
			t.Errorf("FP32ToBF16(%#08x) = %#04x, want %#04x", c.bits, got, c.want)
		}
	}
	for i := 0; i < 1<<16; i++ {
		f := BF16ToFP32(uint16(i))
		if math.Float32bits(f) != uint32(i)<<16 {
			t.Fatalf("BF16ToFP32(%#04x) = %#08x", i, math.Float32bits(f))
		}
		if want := uint16(i); f == f && FP32ToBF16(f) != want {
			t.Fatalf("FP32ToBF16(BF16ToFP32(%#04x)) = %#04x", i, FP32ToBF16(f))
		}
	}
}

func TestNearestInt(t *testing.T) {
	cases := map[float32]int32{
		0: 0, 0.5: 0, 1.5: 2, 2.5: 2, 3.5: 4, -0.5: 0, -1.5: -2, -2.5: -2,
		0.49999997: 0, 2.6: 3, -2.6: -3, 4194303: 4194303, -4194303: -4194303,
	}
	for f, want := range cases {
		if got := nearestInt(f); got != want {
			t.Errorf("nearestInt(%g) = %d, want %d", f, got, want)
		}
	}
}
