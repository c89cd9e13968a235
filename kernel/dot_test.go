package kernel

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "dot", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readF32(t testing.TB, name string) []float32 {
	b := readGolden(t, name)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func TestF16ConversionRoundTrip(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := f16ToF32(uint16(h))
		if f != f {
			if got := f32ToF16(f); got != uint16(h)|0x200 {
				t.Fatalf("NaN %#04x -> %#04x, want quiet %#04x", h, got, h|0x200)
			}
			continue
		}
		if got := f32ToF16(f); got != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, got)
		}
	}
	cases := []struct {
		f float32
		h uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {65519.99, 0x7bff},
		{float32(math.Inf(-1)), 0xfc00}, {5.960464477539063e-08, 0x0001}, {2.9802322387695312e-08, 0x0000},
		{2.9802326e-08, 0x0001}, {1.0009765625 + 0.00048828125, 0x3c02}, // tie rounds to even
		{1 + 0.00048828125, 0x3c00},
	}
	for _, c := range cases {
		if got := f32ToF16(c.f); got != c.h {
			t.Errorf("f32ToF16(%v) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
}

func TestF32ToF16RowGolden(t *testing.T) {
	x := readF32(t, "input.f32")
	want := readGolden(t, "f16.bin")
	got := make([]uint16, len(x))
	F32ToF16Row(x, got)
	for i, h := range got {
		if w := binary.LittleEndian.Uint16(want[2*i:]); h != w {
			t.Fatalf("element %d (%v): %#04x, ggml %#04x", i, x[i], h, w)
		}
	}
}

// TestQuantizeQ8_0Golden compares with ggml's scalar quantize_row_q8_0_ref output: d must be
// identical; quants may differ by 1 only where x·127/amax is within rounding of a half.
func TestQuantizeQ8_0Golden(t *testing.T) {
	x := readF32(t, "input.f32")
	want := readGolden(t, "q8_0.bin")
	got := make([]byte, Q8_0RowBytes(len(x)))
	QuantizeQ8_0(x, got)
	diffs := 0
	for b := 0; b < len(x)/32; b++ {
		o := b * q8_0BlockBytes
		if got[o] != want[o] || got[o+1] != want[o+1] {
			t.Fatalf("block %d: d %#04x, ggml %#04x", b, binary.LittleEndian.Uint16(got[o:]), binary.LittleEndian.Uint16(want[o:]))
		}
		d := f16ToF32(binary.LittleEndian.Uint16(got[o:]))
		for j := 0; j < 32; j++ {
			g, w := int(int8(got[o+2+j])), int(int8(want[o+2+j]))
			if g == w {
				continue
			}
			diffs++
			v := float64(x[b*32+j]) / float64(d)
			if g-w != 1 && w-g != 1 || math.Abs(math.Abs(v-math.Trunc(v))-0.5) > 1e-4 {
				t.Errorf("block %d elem %d (x=%v, x/d=%v): q=%d, ggml %d", b, j, x[b*32+j], v, g, w)
			}
		}
	}
	if diffs > len(x)/100 {
		t.Errorf("%d of %d quants differ from ggml's reference", diffs, len(x))
	}
}

func TestQuantizeQ8_0HandChecked(t *testing.T) {
	x := make([]float32, 32)
	x[0], x[1], x[2], x[3], x[4] = 127, 0.5, 2.5, -1.5, -127
	dst := make([]byte, 34)
	QuantizeQ8_0(x, dst)
	// amax=127: d=1 (0x3c00), id=1, halves round to even.
	want := []int8{127, 0, 2, -2, -127}
	if h := binary.LittleEndian.Uint16(dst); h != 0x3c00 {
		t.Fatalf("d = %#04x, want 0x3c00", h)
	}
	for i, w := range want {
		if int8(dst[2+i]) != w {
			t.Errorf("q[%d] = %d, want %d", i, int8(dst[2+i]), w)
		}
	}
	clear(x)
	dst[5] = 9
	QuantizeQ8_0(x, dst)
	for i, b := range dst {
		if b != 0 {
			t.Fatalf("all-zero block: byte %d = %d", i, b)
		}
	}
}

func TestQuantizeQ8_KHandChecked(t *testing.T) {
	x := make([]float32, 256)
	x[5], x[9], x[20], x[200] = 4, -4, 1, -0.5
	dst := make([]byte, q8_KBlockBytes)
	QuantizeQ8_K(x, dst)
	// max=4 (first of the two largest magnitudes), iscale=-127/4=-31.75, d=1/iscale.
	if d := q8KScale(dst); d != float32(1)/float32(-31.75) {
		t.Errorf("d = %v, want %v", d, float32(1)/float32(-31.75))
	}
	wantQ := map[int]int8{5: -127, 9: 127, 20: -32, 200: 16} // -31.75 → -32, 15.875 → 16
	for i := 0; i < 256; i++ {
		if int8(dst[4+i]) != wantQ[i] {
			t.Errorf("q[%d] = %d, want %d", i, int8(dst[4+i]), wantQ[i])
		}
	}
	wantB := map[int]int16{0: 0, 1: -32, 12: 16}
	for g := 0; g < 16; g++ {
		if b := int16(binary.LittleEndian.Uint16(dst[260+2*g:])); b != wantB[g] {
			t.Errorf("bsums[%d] = %d, want %d", g, b, wantB[g])
		}
	}
}

func dequantQ8_0(b []byte, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		blk := b[i/32*q8_0BlockBytes:]
		out[i] = float64(halfAt(blk)) * float64(int8(blk[2+i%32]))
	}
	return out
}

func dequantQ8_K(b []byte, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		blk := b[i/256*q8_KBlockBytes:]
		out[i] = float64(q8KScale(blk)) * float64(int8(blk[4+i%256]))
	}
	return out
}

// TestDotAgainstGgmlDequant checks the layout decoding of every quantized dot product against
// ggml's own dequantization of ggml-quantized weights: w·x must equal Σ deq(w)_i·deq(x)_i up to
// float rounding.
func TestDotAgainstGgmlDequant(t *testing.T) {
	x := readF32(t, "input.f32")
	const rows, n = 8, 512
	for _, tc := range []struct {
		typ   string
		rowB  int
		k     bool
		dot   func(n int, w, x []byte) float32
		refFn func(n int, w, x []byte) float32
	}{
		{"q8_0", n / 32 * q8_0BlockBytes, false, DotQ8_0, dotQ8_0Ref},
		{"q4_0", n / 32 * q4_0BlockBytes, false, DotQ4_0, dotQ4_0Ref},
		{"q4_k", n / 256 * q4_KBlockBytes, true, DotQ4_K, dotQ4_KRef},
		{"q5_k", n / 256 * q5_KBlockBytes, true, DotQ5_K, dotQ5_KRef},
		{"q6_k", n / 256 * q6_KBlockBytes, true, DotQ6_K, dotQ6_KRef},
	} {
		w := readGolden(t, tc.typ+".bin")
		deq := readF32(t, tc.typ+".dequant.f32")
		for r := 0; r < rows; r++ {
			for xr := 0; xr < rows; xr++ {
				xrow := x[xr*n : (xr+1)*n]
				var xq []byte
				var xd []float64
				if tc.k {
					xq = make([]byte, Q8_KRowBytes(n))
					QuantizeQ8_K(xrow, xq)
					xd = dequantQ8_K(xq, n)
				} else {
					xq = make([]byte, Q8_0RowBytes(n))
					QuantizeQ8_0(xrow, xq)
					xd = dequantQ8_0(xq, n)
				}
				var want, mag float64
				for i := 0; i < n; i++ {
					p := float64(deq[r*n+i]) * xd[i]
					want += p
					mag += math.Abs(p)
				}
				wr := w[r*tc.rowB : (r+1)*tc.rowB]
				got := tc.dot(n, wr, xq)
				ref := tc.refFn(n, wr, xq)
				if math.Float32bits(got) != math.Float32bits(ref) {
					t.Errorf("%s row %d·x%d: dispatch %v != reference %v", tc.typ, r, xr, got, ref)
				}
				if math.Abs(float64(got)-want) > 2e-5*mag+1e-30 {
					t.Errorf("%s row %d·x%d: got %v, dequantized dot %v (Σ|.|=%v)", tc.typ, r, xr, got, want, mag)
				}
			}
		}
	}
}

func TestDotQ8_0HandChecked(t *testing.T) {
	w := make([]byte, 34)
	x := make([]byte, 34)
	binary.LittleEndian.PutUint16(w, 0x3c00) // 1
	binary.LittleEndian.PutUint16(x, 0x3800) // 0.5
	want := 0
	for i := 0; i < 32; i++ {
		w[2+i] = byte(int8(i - 16))
		x[2+i] = byte(int8(3 - i))
		want += (i - 16) * (3 - i)
	}
	if got := DotQ8_0(32, w, x); got != float32(want)*0.5 {
		t.Errorf("DotQ8_0 = %v, want %v", got, float32(want)*0.5)
	}
}

func TestDotF16Golden(t *testing.T) {
	x := readF32(t, "input.f32")
	w := readGolden(t, "f16.bin")
	const n = 512
	xh := make([]uint16, n)
	for r := 0; r < 8; r++ {
		F32ToF16Row(x[((r+3)%8)*n:((r+3)%8+1)*n], xh)
		var want, mag float64
		for i := 0; i < n; i++ {
			p := float64(halfAt(w[2*(r*n+i):])) * float64(f16ToF32(xh[i]))
			want += p
			mag += math.Abs(p)
		}
		for _, m := range []int{n, n - 1, 33, 7} {
			got := DotF16(m, w[2*r*n:], xh)
			if m == n && math.Abs(float64(got)-want) > 1e-6*mag {
				t.Errorf("row %d: DotF16 = %v, float64 sum %v", r, got, want)
			}
			if ref := dotF16Ref(m, w[2*r*n:], xh); math.Float32bits(got) != math.Float32bits(ref) {
				t.Errorf("row %d n=%d: %v != reference %v", r, m, got, ref)
			}
		}
	}
}

func TestShapePanics(t *testing.T) {
	w := make([]byte, 34)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"DotQ8_0", func() { DotQ8_0(33, w, w) }},
		{"DotQ8_0", func() { DotQ8_0(64, w, w) }},
		{"DotQ4_K", func() { DotQ4_K(256, w, w) }},
		{"QuantizeQ8_0", func() { QuantizeQ8_0(make([]float32, 31), w) }},
		{"DotRowsQ8_0", func() { DotRowsQ8_0(32, w, 34, w, make([]float32, 2)) }},
		{"DotF16", func() { DotF16(20, w, make([]uint16, 10)) }},
	} {
		func() {
			defer func() {
				r := recover()
				if s, _ := r.(string); !strings.Contains(s, tc.name) {
					t.Errorf("%s: panic %v, want a message naming it", tc.name, r)
				}
			}()
			tc.f()
		}()
	}
}
