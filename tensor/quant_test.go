package tensor

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// Every type Quantize supports; Dequantize supports all of them but Q8_1.
var quantTypes = []Type{
	gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ4_0, gguf.TypeQ4_1, gguf.TypeQ5_0,
	gguf.TypeQ5_1, gguf.TypeQ8_0, gguf.TypeQ8_1, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K,
	gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeQ8_K,
}

// TestQ4_0HandBlock checks one block worked out by hand.
//
// x[j] = j − 16 for j = 0…31. The element of largest magnitude is x[0] = −16, so
// d = −16 / −8 = 2 (fp16 0x4000) and id = 0.5. Each quant is trunc(x·id + 8.5)
// = trunc(j/2 + 0.5), capped at 15: q = 0,1,1,2,2,…,15,15,15 (q[31] = 16 → 15). Byte j
// holds q[j] | q[j+16]<<4: 0x80, 0x91, 0x91, 0xa2, 0xa2, …, 0xf7, 0xf7, 0xf8. Dequantized,
// y[j] = 2·(q[j] − 8): x = −15 (a tie between −16 and −14) becomes −14, since ggml's
// +8.5-and-truncate rounds ties up.
func TestQ4_0HandBlock(t *testing.T) {
	x := make([]float32, 32)
	for j := range x {
		x[j] = float32(j - 16)
	}
	want := []byte{0x00, 0x40,
		0x80, 0x91, 0x91, 0xa2, 0xa2, 0xb3, 0xb3, 0xc4, 0xc4, 0xd5, 0xd5, 0xe6, 0xe6, 0xf7, 0xf7, 0xf8}
	got := make([]byte, BlockBytesQ4_0)
	if err := Quantize(gguf.TypeQ4_0, x, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Q4_0 block\n got %x\nwant %x", got, want)
	}
	y := make([]float32, 32)
	if err := Dequantize(gguf.TypeQ4_0, got, y); err != nil {
		t.Fatal(err)
	}
	for j, v := range []float32{-16, -14, -14, -12, -12} {
		if y[j] != v {
			t.Errorf("y[%d] = %g, want %g", j, y[j], v)
		}
	}
	if y[16] != 0 || y[30] != 14 || y[31] != 14 {
		t.Errorf("y[16], y[30], y[31] = %g, %g, %g; want 0, 14, 14", y[16], y[30], y[31])
	}
}

// TestQ8_0HandBlock: with amax = 127 the scale is exactly 1 (fp16 0x3c00), so the quants
// are roundf(x) — ties away from zero (0.5 → 1, 2.5 → 3, −0.5 → −1), unlike nearest_int.
// Q8_1 stores the same quants after d and s = fp16(d·Σq).
func TestQ8_0HandBlock(t *testing.T) {
	x := make([]float32, 32)
	copy(x, []float32{127, -127, 0.5, 2.5, -0.5, -2.5, 1.49, 3})
	wantQ := []int8{127, -127, 1, 3, -1, -3, 1, 3}
	got := make([]byte, BlockBytesQ8_0)
	if err := Quantize(gguf.TypeQ8_0, x, got); err != nil {
		t.Fatal(err)
	}
	if d := binary.LittleEndian.Uint16(got); d != 0x3c00 {
		t.Errorf("d = %#04x, want 0x3c00", d)
	}
	for j, q := range wantQ {
		if int8(got[Q8_0QsOff+j]) != q {
			t.Errorf("q[%d] = %d, want %d", j, int8(got[Q8_0QsOff+j]), q)
		}
	}
	for j := len(wantQ); j < 32; j++ {
		if got[Q8_0QsOff+j] != 0 {
			t.Errorf("q[%d] = %d, want 0", j, int8(got[Q8_0QsOff+j]))
		}
	}

	g1 := make([]byte, BlockBytesQ8_1)
	if err := Quantize(gguf.TypeQ8_1, x, g1); err != nil {
		t.Fatal(err)
	}
	// Σq = 127 − 127 + 1 + 3 − 1 − 3 + 1 + 3 = 4; d = 1 → s = 4.0 = fp16 0x4400.
	if d, s := binary.LittleEndian.Uint16(g1), binary.LittleEndian.Uint16(g1[Q8_1SOff:]); d != 0x3c00 || s != 0x4400 {
		t.Errorf("Q8_1 d, s = %#04x, %#04x; want 0x3c00, 0x4400", d, s)
	}
	if !bytes.Equal(g1[Q8_1QsOff:], got[Q8_0QsOff:]) {
		t.Errorf("Q8_1 quants %x differ from Q8_0's %x", g1[Q8_1QsOff:], got[Q8_0QsOff:])
	}
}

// TestQ8_K checks the activation quantizer (no ggml golden for it): quants within
// [−127, 127] with the extreme element at ∓127, bsums the sums of 16, and the
// dequantization within half a step of the input.
func TestQ8_K(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, 2*QK_K)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	x[17] = -9 // largest magnitude in block 0 (negative): d = 9/127 > 0
	x[300] = 7 // largest magnitude in block 1 (positive): d = −7/127 < 0
	b := make([]byte, 2*BlockBytesQ8_K)
	if err := Quantize(gguf.TypeQ8_K, x, b); err != nil {
		t.Fatal(err)
	}
	y := make([]float32, len(x))
	if err := Dequantize(gguf.TypeQ8_K, b, y); err != nil {
		t.Fatal(err)
	}
	for blk, ext := range []struct {
		i int
		q int8
		d float32
	}{{17, -127, float32(1) / (-127 / float32(-9))}, {300 - QK_K, -127, float32(1) / (-127 / float32(7))}} {
		bb := b[blk*BlockBytesQ8_K:]
		d := math.Float32frombits(binary.LittleEndian.Uint32(bb))
		if d != ext.d {
			t.Errorf("block %d: d = %g, want %g", blk, d, ext.d)
		}
		if q := int8(bb[Q8_KQsOff+ext.i]); q != ext.q {
			t.Errorf("block %d: extreme quant %d, want %d", blk, q, ext.q)
		}
		for j := 0; j < 16; j++ {
			var sum int16
			for _, q := range bb[Q8_KQsOff+16*j : Q8_KQsOff+16*j+16] {
				sum += int16(int8(q))
			}
			if got := int16(binary.LittleEndian.Uint16(bb[Q8_KBsumsOff+2*j:])); got != sum {
				t.Errorf("block %d: bsums[%d] = %d, want %d", blk, j, got, sum)
			}
		}
		half := float64(abs32(d))/2 + 1e-6
		for j := 0; j < QK_K; j++ {
			if e := math.Abs(float64(x[blk*QK_K+j] - y[blk*QK_K+j])); e > half {
				t.Fatalf("block %d element %d: |%g − %g| > d/2", blk, j, x[blk*QK_K+j], y[blk*QK_K+j])
			}
		}
	}
}

// TestZeroBlocks: an all-zero input dequantizes back to exact zeros for every type, and
// Q4_0's zero block is as ggml writes it (the all-zero row of q4_0.bin): d = 0/−8 = −0
// (fp16 0x8000) and every quant at the offset 8 (0x88).
func TestZeroBlocks(t *testing.T) {
	x := make([]float32, 2*QK_K)
	for _, typ := range quantTypes {
		n, err := QuantizedSize(typ, len(x))
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = 0xa5 // Quantize must overwrite every byte
		}
		if err := Quantize(typ, x, b); err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		if typ == gguf.TypeQ4_0 {
			want := append([]byte{0x00, 0x80}, bytes.Repeat([]byte{0x88}, 16)...)
			if !bytes.Equal(b[:BlockBytesQ4_0], want) {
				t.Errorf("Q4_0 zero block = %x, want %x", b[:BlockBytesQ4_0], want)
			}
		}
		if typ == gguf.TypeQ8_1 {
			continue // activations only: ggml has no to_float for Q8_1
		}
		y := make([]float32, len(x))
		for i := range y {
			y[i] = 1
		}
		if err := Dequantize(typ, b, y); err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%v: zero input dequantized to %g at %d", typ, v, i)
			}
		}
	}
}

// TestRoundTripError bounds the error of quantize→dequantize on Gaussian data per type:
// a coarse check that a quantizer and its dequantizer agree on the layout, on inputs the
// goldens do not cover (random rows, 16 super-blocks).
func TestRoundTripError(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 16*QK_K)
	var ss float64
	for i := range x {
		x[i] = float32(r.NormFloat64())
		ss += float64(x[i]) * float64(x[i])
	}
	// Relative RMS error ceilings: about twice what each format achieves on N(0,1).
	limits := map[Type]float64{
		gguf.TypeF32: 0, gguf.TypeF16: 1e-3, gguf.TypeBF16: 5e-3, gguf.TypeQ8_0: 0.01,
		gguf.TypeQ8_K: 0.01, gguf.TypeQ6_K: 0.04, gguf.TypeQ5_0: 0.09, gguf.TypeQ5_1: 0.08,
		gguf.TypeQ5_K: 0.07, gguf.TypeQ4_0: 0.18, gguf.TypeQ4_1: 0.16, gguf.TypeQ4_K: 0.13,
		gguf.TypeQ3_K: 0.35, gguf.TypeQ2_K: 0.6,
	}
	for typ, limit := range limits {
		n, _ := QuantizedSize(typ, len(x))
		b := make([]byte, n)
		y := make([]float32, len(x))
		if err := Quantize(typ, x, b); err != nil {
			t.Fatal(err)
		}
		if err := Dequantize(typ, b, y); err != nil {
			t.Fatal(err)
		}
		var es float64
		for i := range x {
			d := float64(x[i] - y[i])
			es += d * d
		}
		rel := math.Sqrt(es / ss)
		t.Logf("%v: relative RMS error %.4f (limit %.4f)", typ, rel, limit)
		if rel > limit {
			t.Errorf("%v: relative RMS error %.4f > %.4f", typ, rel, limit)
		}
	}
}

func TestSizeErrors(t *testing.T) {
	cases := []struct {
		name    string
		typ     Type
		nElem   int
		nBytes  int
		wantMsg []string
	}{
		{"short src", gguf.TypeQ4_0, 64, 35, []string{"Q4_0", "64 elements", "36 bytes", "got 35"}},
		{"long src", gguf.TypeQ4_K, 256, 145, []string{"Q4_K", "144 bytes", "got 145"}},
		{"partial block", gguf.TypeQ8_0, 33, 36, []string{"Q8_0", "33 elements"}},
		{"partial super-block", gguf.TypeQ6_K, 255, 210, []string{"Q6_K", "255"}},
		{"unknown type", Type(99), 32, 32, []string{"unknown", "99"}},
		{"F16 odd bytes", gguf.TypeF16, 4, 7, []string{"F16", "8 bytes", "got 7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := make([]byte, c.nBytes)
			f := make([]float32, c.nElem)
			for _, err := range []error{Dequantize(c.typ, src, f), Quantize(c.typ, f, src)} {
				if err == nil {
					t.Fatal("no error")
				}
				for _, m := range c.wantMsg {
					if !strings.Contains(err.Error(), m) {
						t.Errorf("error %q does not mention %q", err, m)
					}
				}
			}
		})
	}
	// Known layouts without a converter are refused by name, not panicked on.
	if err := Dequantize(gguf.TypeI32, make([]byte, 8), make([]float32, 2)); err == nil || !strings.Contains(err.Error(), "I32") {
		t.Errorf("Dequantize I32: %v", err)
	}
	if err := Dequantize(gguf.TypeQ8_1, make([]byte, 36), make([]float32, 32)); err == nil || !strings.Contains(err.Error(), "Q8_1") {
		t.Errorf("Dequantize Q8_1: %v", err)
	}
	if err := Quantize(gguf.TypeI8, make([]float32, 2), make([]byte, 2)); err == nil {
		t.Error("Quantize I8: no error")
	}
	if _, err := QuantizedSize(gguf.TypeQ4_K, -256); err == nil {
		t.Error("QuantizedSize(-256): no error")
	}
	// Zero elements are a valid, empty conversion.
	if err := Dequantize(gguf.TypeQ4_K, nil, nil); err != nil {
		t.Errorf("empty Dequantize: %v", err)
	}
}

func TestGetScaleMinK4(t *testing.T) {
	// Hand-packed: group 1 in the low 6 bits of q[1] (scale 5) and q[5] (min 6); group 4's
	// low nibbles in q[8] = 0x21 (scale 1, min 2), high bits in q[0]>>6 = 3 (scale += 48)
	// and q[4]>>6 = 2 (min += 32).
	q := make([]byte, 12)
	q[0] = 3 << 6
	q[1] = 5
	q[4] = 2 << 6
	q[5] = 6
	q[8] = 0x21
	if sc, m := GetScaleMinK4(1, q); sc != 5 || m != 6 {
		t.Errorf("group 1 = %d, %d; want 5, 6", sc, m)
	}
	if sc, m := GetScaleMinK4(4, q); sc != 49 || m != 34 {
		t.Errorf("group 4 = %d, %d; want 49, 34", sc, m)
	}
	if sc, m := GetScaleMinK4(0, q); sc != 0 || m != 0 {
		t.Errorf("group 0 = %d, %d; want 0, 0 (high bits belong to group 4)", sc, m)
	}
	// Packing then unpacking random 6-bit values is the identity.
	r := rand.New(rand.NewPCG(5, 6))
	for it := 0; it < 100; it++ {
		var ls, lm [8]uint8
		for j := range ls {
			ls[j], lm[j] = uint8(r.IntN(64)), uint8(r.IntN(64))
		}
		packed := make([]byte, 12)
		packKScales(packed, &ls, &lm)
		for j := 0; j < 8; j++ {
			if sc, m := GetScaleMinK4(j, packed); sc != ls[j] || m != lm[j] {
				t.Fatalf("group %d: unpacked %d, %d; packed %d, %d", j, sc, m, ls[j], lm[j])
			}
		}
	}
}

func TestQ3KScale(t *testing.T) {
	// Group 9: low nibble is the high nibble of q[1] (0x70 → 7), high 2 bits are
	// q[8+1]>>(2·2)&3 = 1, so the stored value is 7 | 1<<4 = 23 and the scale 23 − 32 = −9.
	// Group 0: q[0]&15 = 15, q[8]&3 = 3 → 63 − 32 = 31.
	q := make([]byte, 12)
	q[0] = 0x0f
	q[1] = 0x70
	q[8] = 0x03
	q[9] = 1 << 4
	if s := Q3KScale(9, q); s != -9 {
		t.Errorf("group 9 = %d, want -9", s)
	}
	if s := Q3KScale(0, q); s != 31 {
		t.Errorf("group 0 = %d, want 31", s)
	}
	if s := Q3KScale(2, q); s != -32 {
		t.Errorf("group 2 = %d, want -32", s)
	}
}

func BenchmarkDequantize(b *testing.B) {
	for _, e := range goldenIndex(b) {
		b.Run(e.Type, func(b *testing.B) {
			typ := gguf.Type(e.GGMLType)
			src := readFile(b, e.Type+".bin")
			dst := make([]float32, e.Rows*e.NPerRow)
			b.SetBytes(int64(4 * len(dst))) // MB/s of float32 output
			for b.Loop() {
				if err := Dequantize(typ, src, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkQuantize(b *testing.B) {
	input := floats(b, readFile(b, "input.f32"))
	for _, e := range goldenIndex(b) {
		b.Run(e.Type, func(b *testing.B) {
			typ := gguf.Type(e.GGMLType)
			dst := make([]byte, e.Bytes)
			b.SetBytes(int64(4 * len(input)))
			for b.Loop() {
				if err := Quantize(typ, input, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHostileInputsDoNotPanic: NaN, ±inf, huge and subnormal inputs give ggml's
// meaningless but deterministic bytes; they must never panic or index out of range.
func TestHostileInputsDoNotPanic(t *testing.T) {
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.MaxFloat32, -math.MaxFloat32, 1e-45, -1e-40, 0, 1, -1}
	r := rand.New(rand.NewPCG(7, 8))
	x := make([]float32, 4*QK_K)
	for it := 0; it < 20; it++ {
		for i := range x {
			if r.IntN(3) == 0 {
				x[i] = specials[r.IntN(len(specials))]
			} else {
				x[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.IntN(60)-30)))
			}
		}
		for _, typ := range quantTypes {
			n, _ := QuantizedSize(typ, len(x))
			b := make([]byte, n)
			if err := Quantize(typ, x, b); err != nil {
				t.Fatal(err)
			}
			if typ != gguf.TypeQ8_1 {
				if err := Dequantize(typ, b, make([]float32, len(x))); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// FuzzDequantize: any bytes of any type id either convert or return an error.
func FuzzDequantize(f *testing.F) {
	f.Add(uint32(12), []byte{1, 2, 3})
	f.Add(uint32(2), make([]byte, 18))
	f.Fuzz(func(t *testing.T, typ uint32, src []byte) {
		tp := Type(typ)
		if bs, ts := tp.BlockSize(), tp.TypeSize(); bs > 0 && ts > 0 {
			// Use the element count that src would hold if whole, so both paths run.
			n := len(src) / ts * bs
			_ = Dequantize(tp, src, make([]float32, n))
			_ = Dequantize(tp, src, make([]float32, n+1))
		}
	})
}
