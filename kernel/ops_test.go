package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestRMSNormSumOrder(t *testing.T) {
	// The sixteen-lane sum of squares against ggml's one-lane float64 sum: the resulting
	// float32 scale agrees within an ulp (the float64 sums differ in their last bits only).
	rng := rand.New(rand.NewPCG(31, 32))
	for _, n := range []int{1, 15, 16, 17, 64, 896, 2048, 4096} {
		for range 50 {
			x := make([]float32, n)
			sd := math.Exp(rng.NormFloat64() * 3)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * sd)
			}
			var seq float64
			for _, v := range x {
				seq += float64(float32(v * v))
			}
			got, want := rmsScale(sumSquaresRef(x), n, 1e-6), rmsScale(seq, n, 1e-6)
			if d := math.Abs(float64(got - want)); d > float64(ulp32(want)) {
				t.Fatalf("n %d: scale %g, one-lane sum gives %g", n, got, want)
			}
		}
	}
}

// ulp32 is the spacing of float32 values at |v|.
func ulp32(v float32) float32 {
	v = float32(math.Abs(float64(v)))
	return math.Nextafter32(v, float32(math.Inf(1))) - v
}

func TestRopeRotates(t *testing.T) {
	// ApplyCached rotates each pair by its angle (norms kept, within float32 rounding) in both
	// modes and leaves the dimensions past NDims alone.
	for _, mode := range []int{RopeNorm, RopeNeoX} {
		r := Rope{Mode: mode, NDims: 40, Base: 10000, FreqScale: 1}
		const hd, nh = 64, 3
		cache := make([]float32, r.NDims)
		r.Cache(37, cache)
		x := make([]float32, nh*hd)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		y := append([]float32(nil), x...)
		r.ApplyCached(y, nh, hd, cache)
		for h := range nh {
			v, u := x[h*hd:(h+1)*hd], y[h*hd:(h+1)*hd]
			for i := range r.NDims / 2 {
				a, b := 2*i, 2*i+1
				if mode == RopeNeoX {
					a, b = i, i+r.NDims/2
				}
				c, s := float64(cache[2*i]), float64(cache[2*i+1])
				w0 := float64(v[a])*c - float64(v[b])*s
				w1 := float64(v[a])*s + float64(v[b])*c
				if math.Abs(float64(u[a])-w0) > 1e-5 || math.Abs(float64(u[b])-w1) > 1e-5 {
					t.Fatalf("mode %d head %d pair %d: (%g, %g), want (%g, %g)", mode, h, i, u[a], u[b], w0, w1)
				}
			}
			for i := r.NDims; i < hd; i++ {
				if u[i] != v[i] {
					t.Fatalf("mode %d head %d: dimension %d changed", mode, h, i)
				}
			}
		}
	}
}

// opsBenchImpls are the implementations the element-wise benchmarks compare.
func opsBenchImpls() []string {
	if useAVX2 {
		return []string{"ref", "avx2"}
	}
	return []string{"ref"}
}

func benchRow(n int) []float32 {
	rng := rand.New(rand.NewPCG(41, 42))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func BenchmarkAdd(b *testing.B) {
	for _, n := range []int{896, 4096, 65536} {
		x, y, out := benchRow(n), benchRow(n), make([]float32, n)
		for _, impl := range opsBenchImpls() {
			f := add
			if impl == "ref" {
				f = addRef
			}
			b.Run(fmt.Sprintf("n=%d/impl=%s", n, impl), func(b *testing.B) {
				for b.Loop() {
					f(out, x, y)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
			})
		}
	}
}

func BenchmarkRMSNorm(b *testing.B) {
	for _, n := range []int{128, 896, 4096} {
		x, w, out := benchRow(n), benchRow(n), make([]float32, n)
		for _, impl := range opsBenchImpls() {
			f := rmsNorm
			if impl == "ref" {
				f = rmsNormRef
			}
			b.Run(fmt.Sprintf("n=%d/impl=%s", n, impl), func(b *testing.B) {
				for b.Loop() {
					f(out, x, w, 1e-6)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
			})
		}
	}
}

func BenchmarkRope(b *testing.B) {
	const nHeads, headDim = 32, 128
	for _, mode := range []int{RopeNorm, RopeNeoX} {
		r := Rope{Mode: mode, NDims: headDim, Base: 10000, FreqScale: 1}
		cache := make([]float32, headDim)
		r.Cache(1000, cache)
		x := benchRow(nHeads * headDim)
		name := map[int]string{RopeNorm: "norm", RopeNeoX: "neox"}[mode]
		for _, impl := range opsBenchImpls() {
			f := rope
			if impl == "ref" {
				f = ropeRef
			}
			b.Run(fmt.Sprintf("%s/%dx%d/impl=%s", name, nHeads, headDim, impl), func(b *testing.B) {
				for b.Loop() {
					f(mode, headDim, x, nHeads, headDim, cache)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(x)), "ns/elem")
			})
		}
	}
}
