package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// f16Rows returns m random rows of hd F16 values at the given byte stride (gaps filled with
// NaN halves, which must never be read), their exact float64 values, and an offset of off
// bytes in front so rows start unaligned.
func f16Rows(rng *rand.Rand, m, hd, stride, off int) ([]byte, [][]float64) {
	b := make([]byte, off+m*stride)
	for i := 0; i+1 < len(b); i += 2 {
		binary.LittleEndian.PutUint16(b[i:], 0x7e00)
	}
	vals := make([][]float64, m)
	for j := range vals {
		vals[j] = make([]float64, hd)
		for x := range vals[j] {
			h := f32ToF16(float32(rng.NormFloat64()))
			binary.LittleEndian.PutUint16(b[off+j*stride+2*x:], h)
			vals[j][x] = float64(f16ToF32(h))
		}
	}
	return b[off:], vals
}

func TestF16RowKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hd := range []int{1, 8, 16, 24, 32, 48, 64, 80, 96, 128, 256} {
		for _, m := range []int{0, 1, 3, 16} {
			stride := 2*hd + 2*rng.IntN(3)*8 // row padding as in a K/V row of several heads
			k, kv := f16Rows(rng, m, hd, stride, 2)
			q := make([]float32, hd)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			got := make([]float32, m)
			ref := make([]float32, m)
			DotF16Rows(q, k, stride, got)
			dotF16RowsRef(q, k, stride, ref)
			for j := 0; j < m; j++ {
				var exact, mag float64
				for x := range q {
					exact += float64(q[x]) * kv[j][x]
					mag += math.Abs(float64(q[x]) * kv[j][x])
				}
				// Each product meets at most hd/8+10 roundings of 2⁻²⁴ relative to Σ|q·k|.
				tol := 0x1p-24 * float64(hd/8+10) * mag
				if d := math.Abs(float64(got[j]) - exact); d > tol {
					t.Fatalf("hd %d row %d: DotF16Rows %g, exact %g (|d| %g > %g)", hd, j, got[j], exact, d, tol)
				}
				if d := math.Abs(float64(ref[j]) - exact); d > tol {
					t.Fatalf("hd %d row %d: reference %g, exact %g", hd, j, ref[j], exact)
				}
			}

			w := make([]float32, m)
			for j := range w {
				w[j] = float32(rng.Float64())
			}
			acc := make([]float32, hd)
			accRef := make([]float32, hd)
			init := make([]float64, hd)
			for x := range acc {
				acc[x] = float32(rng.NormFloat64())
				accRef[x] = acc[x]
				init[x] = float64(acc[x])
			}
			AxpyF16Rows(acc, w, k, stride)
			axpyF16RowsRef(accRef, w, k, stride)
			for x := range acc {
				exact, mag := init[x], math.Abs(init[x])
				for j := range w {
					exact += float64(w[j]) * kv[j][x]
					mag += math.Abs(float64(w[j]) * kv[j][x])
				}
				tol := 0x1p-24 * float64(2*m+2) * mag
				if d := math.Abs(float64(acc[x]) - exact); d > tol {
					t.Fatalf("hd %d m %d col %d: AxpyF16Rows %g, exact %g (|d| %g > %g)", hd, m, x, acc[x], exact, d, tol)
				}
				if d := math.Abs(float64(accRef[x]) - exact); d > tol {
					t.Fatalf("hd %d m %d col %d: reference %g, exact %g", hd, m, x, accRef[x], exact)
				}
			}
		}
	}
}

// A hand-checked case: values exact in F16, sums exact in float32, so every order agrees.
func TestF16RowKernelsHandChecked(t *testing.T) {
	const hd = 40 // 2 full strips of 16 and a tail of 8
	k := make([]byte, 2*2*hd)
	q := make([]float32, hd)
	for x := 0; x < hd; x++ {
		binary.LittleEndian.PutUint16(k[2*x:], f32ToF16(float32(x)))           // row 0: x
		binary.LittleEndian.PutUint16(k[2*hd+2*x:], f32ToF16(-0.5*float32(x))) // row 1: -x/2
		q[x] = 1
	}
	out := make([]float32, 2)
	DotF16Rows(q, k, 2*hd, out)
	if out[0] != 780 || out[1] != -390 { // Σ_{x<40} x = 780
		t.Fatalf("dots %v, want [780 -390]", out)
	}
	acc := make([]float32, hd)
	AxpyF16Rows(acc, []float32{2, 4}, k, 2*hd) // 2x + 4·(-x/2) = 0
	for x, a := range acc {
		if a != 0 {
			t.Fatalf("acc[%d] = %g, want 0", x, a)
		}
	}
	AxpyF16Rows(acc, []float32{0.25}, k, 2*hd)
	if acc[39] != 9.75 {
		t.Fatalf("acc[39] = %g, want 9.75", acc[39])
	}
}

func TestF16RowKernelsPanicOnShortInput(t *testing.T) {
	for name, f := range map[string]func(){
		"dot short":   func() { DotF16Rows(make([]float32, 16), make([]byte, 63), 32, make([]float32, 2)) },
		"dot stride":  func() { DotF16Rows(make([]float32, 16), make([]byte, 64), 16, make([]float32, 2)) },
		"axpy short":  func() { AxpyF16Rows(make([]float32, 16), make([]float32, 3), make([]byte, 95), 32) },
		"axpy stride": func() { AxpyF16Rows(make([]float32, 16), make([]float32, 2), make([]byte, 64), 30) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func BenchmarkF16RowKernels(b *testing.B) {
	const hd, m, stride = 64, 16, 8 * 64 * 2
	rng := rand.New(rand.NewPCG(1, 2))
	k, _ := f16Rows(rng, m, hd, stride, 0)
	q := make([]float32, hd)
	out := make([]float32, m)
	b.Run("dot", func(b *testing.B) {
		for b.Loop() {
			DotF16Rows(q, k, stride, out)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/row")
	})
	b.Run("axpy", func(b *testing.B) {
		for b.Loop() {
			AxpyF16Rows(q, out, k, stride)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*m), "ns/row")
	})
}

func TestExpShift(t *testing.T) {
	// Accuracy of expf over [-90, 0] against math.Exp.
	worst := 0.0
	for i := 0; i <= 1000000; i++ {
		x := float32(-90 * float64(i) / 1000000)
		got, want := float64(expf(x)), math.Exp(float64(x))
		if want < 0x1p-126 {
			if math.Abs(got-want) > 0x1p-126 {
				t.Fatalf("expf(%g) = %g, want %g or 0", x, got, want)
			}
			continue
		}
		rel := math.Abs(got-want) / want
		worst = max(worst, rel)
		if rel > 3e-7 {
			t.Fatalf("expf(%g) = %g, want %g (rel %g)", x, got, want, rel)
		}
	}
	t.Logf("expf: worst relative error %.3g on [-87.3, 0]", worst)
	if expf(0) != 1 || expf(float32(math.Inf(-1))) != 0 || !math.IsNaN(float64(expf(float32(math.NaN())))) {
		t.Fatalf("expf(0) = %g, expf(-Inf) = %g, expf(NaN) = %g", expf(0), expf(float32(math.Inf(-1))), expf(float32(math.NaN())))
	}
	// The kernel and the reference agree bit for bit, specials included, for every length.
	rng := rand.New(rand.NewPCG(5, 6))
	specials := []float32{0, float32(math.Inf(-1)), float32(math.NaN()), -87.34, -87.33, -87.35, -1e30, 1e-30, -0.5}
	for n := 0; n <= 40; n++ {
		s := make([]float32, n)
		for j := range s {
			if rng.IntN(4) == 0 {
				s[j] = specials[rng.IntN(len(specials))]
			} else {
				s[j] = float32(rng.NormFloat64() * 20)
			}
		}
		var m float32 = 0.5
		for _, v := range s {
			if v == v {
				m = max(m, v)
			}
		}
		a, r := slices.Clone(s), slices.Clone(s)
		sa, sr := ExpShift(a, m), expShiftRef(r, m)
		for j := range a {
			if math.Float32bits(a[j]) != math.Float32bits(r[j]) {
				t.Fatalf("n %d: e^(%g - %g) = %g (%#x), reference %g (%#x)", n, s[j], m, a[j], math.Float32bits(a[j]), r[j], math.Float32bits(r[j]))
			}
		}
		if math.Float32bits(sa) != math.Float32bits(sr) {
			t.Fatalf("n %d: sum %g, reference %g", n, sa, sr)
		}
	}
}

// TestF16RowsGroup: the grouped-query kernels equal one single-head call per head bit for bit,
// for groups of 1 to 9 heads (four at a time plus the rest), head sizes with and without a
// tail of 16, one to 17 rows, unaligned K/V and extreme F16 values.
func TestF16RowsGroup(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	for _, hd := range []int{8, 16, 64, 72, 128} {
		for _, g := range []int{1, 2, 4, 5, 8, 9} {
			for _, m := range []int{1, 3, 16, 17} {
				stride := 2*hd*3 + 2 // rows of a wider K/V row, odd byte stride
				kv := make([]byte, m*stride+1)[1:]
				for i := 0; i+1 < len(kv); i += 2 {
					h := f32ToF16(float32(rng.NormFloat64()))
					if rng.IntN(40) == 0 {
						h = 0x7bff // 65504
					}
					kv[i], kv[i+1] = byte(h), byte(h>>8)
				}
				q := make([]float32, g*hd)
				for i := range q {
					q[i] = float32(rng.NormFloat64())
				}
				got := make([]float32, g*m)
				DotF16RowsG(q, hd, kv, stride, m, got, m)
				want := make([]float32, g*m)
				for h := 0; h < g; h++ {
					DotF16Rows(q[h*hd:(h+1)*hd], kv, stride, want[h*m:(h+1)*m])
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("dot hd %d g %d m %d: out[%d] = %g, per head %g", hd, g, m, i, got[i], want[i])
					}
				}
				acc := make([]float32, g*hd)
				for i := range acc {
					acc[i] = float32(rng.NormFloat64())
				}
				accW := slices.Clone(acc)
				AxpyF16RowsG(acc, hd, got, m, m, kv, stride) // the scores as weights
				for h := 0; h < g; h++ {
					AxpyF16Rows(accW[h*hd:(h+1)*hd], got[h*m:(h+1)*m], kv, stride)
				}
				for i := range acc {
					if math.Float32bits(acc[i]) != math.Float32bits(accW[i]) {
						t.Fatalf("axpy hd %d g %d m %d: acc[%d] = %g, per head %g", hd, g, m, i, acc[i], accW[i])
					}
				}
			}
		}
	}
}

// TestScaleMax: the AVX2 kernel scales and takes the max exactly as the reference, for every
// length up to 40 (tails of 8), ±Inf and huge values, and the empty slice (−Inf).
func TestScaleMax(t *testing.T) {
	rng := rand.New(rand.NewPCG(63, 64))
	specials := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), 3e38, -3e38, 0, 1e-40}
	for n := 0; n <= 40; n++ {
		for trial := 0; trial < 20; trial++ {
			s := make([]float32, n)
			for j := range s {
				s[j] = float32(rng.NormFloat64() * 30)
				if rng.IntN(10) == 0 {
					s[j] = specials[rng.IntN(len(specials))]
				}
			}
			scale := float32(rng.Float64()) * 2
			a, r := slices.Clone(s), slices.Clone(s)
			ma, mr := ScaleMax(a, scale), scaleMaxRef(r, scale)
			if math.Float32bits(ma) != math.Float32bits(mr) && !(ma == 0 && mr == 0) {
				t.Fatalf("n %d: max %g, reference %g", n, ma, mr)
			}
			for j := range a {
				if math.Float32bits(a[j]) != math.Float32bits(r[j]) {
					t.Fatalf("n %d: s[%d] = %g, reference %g", n, j, a[j], r[j])
				}
			}
		}
	}
}
