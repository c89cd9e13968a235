//go:build !purego

package kernel

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"
)

type qkernel struct {
	name         string
	bs, wb, xb   int // block elements, weight block bytes, activation block bytes
	k            bool
	scaleOffsets []int // F16 scale fields inside a weight block
	ref, avx2    func(n int, w, x []byte) float32
}

var qkernels = []qkernel{
	{"Q8_0", 32, q8_0BlockBytes, q8_0BlockBytes, false, []int{0}, dotQ8_0Ref,
		func(n int, w, x []byte) float32 { return dotQ8_0AVX2(bptr(w), bptr(x), n/32) }},
	{"Q4_0", 32, q4_0BlockBytes, q8_0BlockBytes, false, []int{0}, dotQ4_0Ref,
		func(n int, w, x []byte) float32 { return dotQ4_0AVX2(bptr(w), bptr(x), n/32) }},
	{"Q4_K", 256, q4_KBlockBytes, q8_KBlockBytes, true, []int{0, 2}, dotQ4_KRef,
		func(n int, w, x []byte) float32 { return dotQ4_KAVX2(bptr(w), bptr(x), n/256) }},
	{"Q5_K", 256, q5_KBlockBytes, q8_KBlockBytes, true, []int{0, 2}, dotQ5_KRef,
		func(n int, w, x []byte) float32 { return dotQ5_KAVX2(bptr(w), bptr(x), n/256) }},
	{"Q6_K", 256, q6_KBlockBytes, q8_KBlockBytes, true, []int{208}, dotQ6_KRef,
		func(n int, w, x []byte) float32 { return dotQ6_KAVX2(bptr(w), bptr(x), n/256) }},
}

func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

// randWeights fills nb blocks with random bytes and finite random F16 scales; mode 1 uses the
// extreme scale ±65504, mode 2 makes every byte 0x80 (quants −128 / 8 / 32, scales -0).
func randWeights(r *rand.Rand, k qkernel, nb, mode int, off int) []byte {
	buf := make([]byte, nb*k.wb+off)
	w := buf[off:]
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for b := 0; b < nb; b++ {
		for _, o := range k.scaleOffsets {
			h := f32ToF16(float32(r.NormFloat64() * 0.01))
			switch mode {
			case 1:
				h = 0x7bff | uint16(r.IntN(2))<<15
			case 2:
				h = 0x3c00
			}
			binary.LittleEndian.PutUint16(w[b*k.wb+o:], h)
		}
		if mode == 2 {
			for i := 0; i < k.wb; i++ {
				if !contains(k.scaleOffsets, i) && !contains(k.scaleOffsets, i-1) {
					w[b*k.wb+i] = 0x80
				}
			}
		}
	}
	return w
}

func contains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// randActs quantizes random activations; mode 1 gives extreme magnitudes (quants ±127 with
// d near F16 max for Q8_0), mode 2 zero blocks mixed in.
func randActs(r *rand.Rand, k qkernel, n, mode, off int) []byte {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
		switch mode {
		case 1:
			x[i] = float32(65000 * (1 - 2*float64(r.IntN(2))))
		case 2:
			if (i/32)%2 == 0 {
				x[i] = 0
			}
		}
	}
	var buf []byte
	if k.k {
		buf = make([]byte, Q8_KRowBytes(n)+off)
		QuantizeQ8_K(x, buf[off:])
	} else {
		buf = make([]byte, Q8_0RowBytes(n)+off)
		QuantizeQ8_0(x, buf[off:])
	}
	return buf[off:]
}

func TestQuantKernelsMatchReference(t *testing.T) {
	if !hasAVX2 {
		t.Skip("CPU lacks AVX2/FMA/F16C: only the reference runs")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range qkernels {
		for _, nb := range []int{0, 1, 2, 3, 7, 16} {
			for wmode := 0; wmode < 3; wmode++ {
				for xmode := 0; xmode < 3; xmode++ {
					for off := 0; off < 2; off++ {
						n := nb * k.bs
						w := randWeights(r, k, nb, wmode, off)
						x := randActs(r, k, n, xmode, 1-off)
						want, got := k.ref(n, w, x), k.avx2(n, w, x)
						if !sameFloat(want, got) {
							t.Errorf("%s nb=%d wmode=%d xmode=%d off=%d: avx2 %v (%#x), reference %v (%#x)",
								k.name, nb, wmode, xmode, off, got, math.Float32bits(got), want, math.Float32bits(want))
						}
					}
				}
			}
		}
	}
}

// TestQuantKernelsRandomBytes feeds arbitrary bytes everywhere (NaN/Inf scales included; x
// quants limited to [-127,127] for Q8_0 weights as documented).
func TestQuantKernelsRandomBytes(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, k := range qkernels {
		for iter := 0; iter < 50; iter++ {
			nb := 1 + r.IntN(5)
			w := make([]byte, nb*k.wb)
			x := make([]byte, nb*k.xb)
			for i := range w {
				w[i] = byte(r.Uint32())
			}
			for i := range x {
				x[i] = byte(r.Uint32())
				if x[i] == 0x80 {
					x[i] = 0x81
				}
			}
			n := nb * k.bs
			if want, got := k.ref(n, w, x), k.avx2(n, w, x); !sameFloat(want, got) {
				t.Fatalf("%s nb=%d: avx2 %v, reference %v", k.name, nb, got, want)
			}
		}
	}
}

func TestFloatKernelsMatchReference(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 31, 32, 33, 64, 100, 257, 1024} {
		for mode := 0; mode < 3; mode++ {
			xf := make([]float32, n)
			wf := make([]float32, n)
			for i := range xf {
				xf[i], wf[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
				if mode == 1 { // extremes: ±65504 products
					xf[i], wf[i] = 65504*float32(1-2*r.IntN(2)), 65504
				}
				if mode == 2 && i%3 == 0 {
					xf[i] = 0
				}
			}
			wh := make([]byte, 2*n+1)[1:] // unaligned
			xh := make([]uint16, n)
			wb := make([]byte, 2*n+1)[1:]
			xb := make([]uint16, n)
			for i := range xf {
				binary.LittleEndian.PutUint16(wh[2*i:], f32ToF16(wf[i]))
				xh[i] = f32ToF16(xf[i])
				binary.LittleEndian.PutUint16(wb[2*i:], uint16(math.Float32bits(wf[i])>>16))
				xb[i] = uint16(math.Float32bits(xf[i]) >> 16)
			}
			if want, got := dotF16Ref(n, wh, xh), dotF16(n, wh, xh); !sameFloat(want, got) {
				t.Errorf("F16 n=%d mode=%d: avx2 %v, reference %v", n, mode, got, want)
			}
			if want, got := dotBF16Ref(n, wb, xb), dotBF16(n, wb, xb); !sameFloat(want, got) {
				t.Errorf("BF16 n=%d mode=%d: avx2 %v, reference %v", n, mode, got, want)
			}
			want, got := dotF32Ref(wf, xf), dotF32(wf, xf)
			var mag float64
			for i := range wf {
				mag += math.Abs(float64(wf[i]) * float64(xf[i]))
			}
			if bound := math.Ldexp(1, -24) * float64(n/32+10) * mag; math.Abs(float64(want)-float64(got)) > bound {
				t.Errorf("F32 n=%d mode=%d: avx2 %v, reference %v, bound %v", n, mode, got, want, bound)
			}
		}
	}
}

// TestMultiRowColMatchSingle checks the multi-row and multi-column kernels (the four-row
// assembly plus single-row tails) against the reference, bit for bit, over row counts 1..9,
// odd block counts, unaligned rows, padded strides and extreme values.
func TestMultiRowColMatchSingle(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range qkernels {
		for _, rows := range []int{1, 2, 3, 4, 5, 7, 8, 9} {
			for _, nb := range []int{1, 3} {
				for mode := 0; mode < 3; mode++ {
					checkMultiRowCol(t, r, k, rows, 3, nb, mode)
				}
			}
		}
	}
}

func checkMultiRowCol(t *testing.T, r *rand.Rand, k qkernel, rows, cols, nb, mode int) {
	{
		n := nb * k.bs
		wstride, xstride := nb*k.wb+3, nb*k.xb+1
		w := make([]byte, rows*wstride+1)[1:] // unaligned rows
		for i := 0; i < rows; i++ {
			copy(w[i*wstride:], randWeights(r, k, nb, mode, 0))
		}
		x := make([]byte, cols*xstride)
		for c := 0; c < cols; c++ {
			copy(x[c*xstride:], randActs(r, k, n, mode, 0))
		}
		var rowsF, colsF func(n int, w []byte, s int, x []byte, out []float32)
		var one func(n int, w, x []byte) float32
		switch k.name {
		case "Q8_0":
			one = DotQ8_0
			rowsF = DotRowsQ8_0
			colsF = func(n int, w []byte, s int, x []byte, out []float32) { DotColsQ8_0(n, w, x, s, out) }
		case "Q4_0":
			one, rowsF = DotQ4_0, DotRowsQ4_0
			colsF = func(n int, w []byte, s int, x []byte, out []float32) { DotColsQ4_0(n, w, x, s, out) }
		case "Q4_K":
			one, rowsF = DotQ4_K, DotRowsQ4_K
			colsF = func(n int, w []byte, s int, x []byte, out []float32) { DotColsQ4_K(n, w, x, s, out) }
		case "Q5_K":
			one, rowsF = DotQ5_K, DotRowsQ5_K
			colsF = func(n int, w []byte, s int, x []byte, out []float32) { DotColsQ5_K(n, w, x, s, out) }
		case "Q6_K":
			one, rowsF = DotQ6_K, DotRowsQ6_K
			colsF = func(n int, w []byte, s int, x []byte, out []float32) { DotColsQ6_K(n, w, x, s, out) }
		}
		out := make([]float32, rows)
		rowsF(n, w, wstride, x, out)
		for i := range out {
			if want := k.ref(n, w[i*wstride:], x); !sameFloat(out[i], want) {
				t.Errorf("%s rows=%d nb=%d mode=%d: out[%d] = %v, want %v", k.name, rows, nb, mode, i, out[i], want)
			}
		}
		for i := 0; i < rows; i++ {
			outc := make([]float32, cols)
			colsF(n, w[i*wstride:], xstride, x, outc)
			for c := range outc {
				if want := one(n, w[i*wstride:], x[c*xstride:]); !sameFloat(outc[c], want) {
					t.Errorf("%s cols: row %d col %d = %v, want %v", k.name, i, c, outc[c], want)
				}
			}
		}
	}
}

// TestQuantizeQ8_0AVX2MatchesRef: identical bytes on random rows, all-zero blocks, values
// near the F16 limit and beyond, ties at .5 after scaling, tiny (subnormal d) blocks, ±Inf,
// and unaligned slices.
func TestQuantizeQ8_0AVX2MatchesRef(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	r := rand.New(rand.NewPCG(21, 22))
	for trial := 0; trial < 300; trial++ {
		nb := 1 + trial%7
		buf := make([]float32, nb*32+1)
		x := buf[trial%2:][:nb*32]
		for i := range x {
			switch trial % 6 {
			case 0:
				x[i] = float32(r.NormFloat64())
			case 1:
				x[i] = float32(r.NormFloat64() * 65504)
			case 2:
				if (i/32)%2 == 0 {
					x[i] = 0
				} else {
					x[i] = float32(r.NormFloat64() * 1e-6)
				}
			case 3: // exact halves after scaling by 127/amax = 1
				x[i] = float32(r.IntN(255)-127) / 2
				if i%32 == 0 {
					x[i] = 127
				}
			case 4:
				x[i] = float32(r.NormFloat64() * 1e30)
			case 5:
				x[i] = float32(r.NormFloat64())
				if i%29 == 0 {
					x[i] = float32(math.Inf(1 - 2*(i%2)))
				}
			}
		}
		want := make([]byte, Q8_0RowBytes(len(x)))
		got := make([]byte, Q8_0RowBytes(len(x))+1)[1:]
		quantizeQ8_0Ref(x, want)
		quantizeQ8_0AVX2(&x[0], &got[0], nb)
		if !bytes.Equal(got, want) {
			t.Fatalf("trial %d: avx2 %x\n want %x", trial, got, want)
		}
	}
}
