package kernel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// siluSpecials are finite gate values at the edges of SiLUMul's range: the expf cutoff
// (−|g| below −87.34 gives e = 0), overflow-sized magnitudes, signed zeros and denormals.
var siluSpecials = []float32{
	88, -88, 100, -100, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32, 0, float32(math.Copysign(0, -1)),
	1e-45, -1e-45, 1e-40, -1e-40, 0x1p-126, -0x1p-126, 87.33, -87.33, 87.34, -87.34, 87.35, -87.35,
	87.3365, -87.3365, 103, -103, 1e-7, -1e-7, 0.5, -0.5, 1, -1,
}

// siluInputs returns n gate and up values: normal(0, 4) gates with specials mixed in, and
// normal(0, 1) ups, each preceded by off unused elements so the slices start unaligned.
func siluInputs(rng *rand.Rand, n, off int) (gate, up []float32) {
	gate, up = make([]float32, off+n), make([]float32, off+n)
	for i := off; i < off+n; i++ {
		if rng.IntN(4) == 0 {
			gate[i] = siluSpecials[rng.IntN(len(siluSpecials))]
		} else {
			gate[i] = float32(rng.NormFloat64() * 4)
		}
		up[i] = float32(rng.NormFloat64())
	}
	return gate[off:], up[off:]
}

func sameBits(t *testing.T, what string, got, want, gate, up []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: silu(%g)·%g = %g (%#x), reference %g (%#x)", what, gate[i], up[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestSiLUMul(t *testing.T) {
	// SiLUMul (the AVX2 kernel where available, the reference on tails) agrees with the
	// reference bit for bit on every finite gate, aligned or not, into a separate out or in
	// place over gate or up.
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 31, 64, 1000} {
		for off := range 3 {
			gate, up := siluInputs(rng, n, off)
			want := make([]float32, n)
			siLUMulRef(want, gate, up)

			out := make([]float32, off+n)[off:]
			SiLUMul(out, gate, up)
			sameBits(t, "out", out, want, gate, up)

			g := slices.Clone(gate)
			SiLUMul(g, g, up)
			sameBits(t, "out == gate", g, want, gate, up)

			u := slices.Clone(up)
			SiLUMul(u, gate, u)
			sameBits(t, "out == up", u, want, gate, up)

			// The reference in place gives the same as into a separate out.
			g = slices.Clone(gate)
			siLUMulRef(g, g, up)
			sameBits(t, "reference out == gate", g, want, gate, up)
		}
	}
	// Every special gate in every lane, against ups that are themselves special.
	ups := []float32{1, -1, 0, float32(math.Copysign(0, -1)), 3e38, 1e-45, float32(math.Inf(1)), float32(math.NaN())}
	for _, u0 := range ups {
		n := len(siluSpecials) + 5
		gate, up := make([]float32, n), make([]float32, n)
		for i := range gate {
			gate[i], up[i] = siluSpecials[i%len(siluSpecials)], u0
		}
		for s := range 8 {
			out, want := make([]float32, n-s), make([]float32, n-s)
			SiLUMul(out, gate[s:], up[s:])
			siLUMulRef(want, gate[s:], up[s:])
			sameBits(t, "specials", out, want, gate[s:], up[s:])
		}
	}
}

func TestSiLUMulNonFinite(t *testing.T) {
	// Documented behaviour at non-finite gates, in every lane position, for SiLUMul and the
	// reference: +Inf·up, NaN for −Inf (−Inf·0) and for NaN; no panic.
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	for _, f := range []func(out, gate, up []float32){SiLUMul, siLUMulRef} {
		for pos := range 19 {
			for _, c := range []struct{ g, u float32 }{{inf, 2}, {inf, -3}, {-inf, 2}, {nan, 2}, {nan, 0}} {
				gate, up := make([]float32, 19), make([]float32, 19)
				for i := range gate {
					gate[i], up[i] = 1, 1
				}
				gate[pos], up[pos] = c.g, c.u
				out := make([]float32, 19)
				f(out, gate, up)
				got := out[pos]
				switch {
				case c.g == inf:
					if got != inf*c.u {
						t.Fatalf("silu(+Inf)·%g = %g, want %g", c.u, got, inf*c.u)
					}
				default:
					if got == got {
						t.Fatalf("silu(%g)·%g = %g, want NaN", c.g, c.u, got)
					}
				}
				for i, v := range out {
					if i != pos && v != out[(pos+1)%19] {
						t.Fatalf("silu(1) = %g at %d beside a non-finite gate", v, i)
					}
				}
			}
		}
	}
}

// siluF64 is g·σ(g)·u in float64.
func siluF64(g, u float64) float64 {
	return g / (1 + math.Exp(-g)) * u
}

func TestSiLUMulAccuracy(t *testing.T) {
	// The reference (and so the kernel) against float64: within 1e-6 relative, plus 1e-35·|u|
	// absolute for σ(g) flushed to 0 below g = −87.34 (|g·σ(g)| < 1e-36 there) and for
	// results in the float32 denormal range.
	const rel, abs = 1e-6, 1e-35
	check := func(gate, up []float32) float64 {
		out := make([]float32, len(gate))
		SiLUMul(out, gate, up)
		worst := 0.0
		for i, g := range gate {
			got, want := float64(out[i]), siluF64(float64(g), float64(up[i]))
			err := math.Abs(got - want)
			if err > rel*math.Abs(want)+abs*math.Abs(float64(up[i])) {
				t.Fatalf("silu(%g)·%g = %g, want %g (rel %g)", g, up[i], got, want, err/math.Abs(want))
			}
			if math.Abs(want) > 1e-30 {
				worst = max(worst, err/math.Abs(want))
			}
		}
		return worst
	}
	// A sweep over [−100, 100] with up = 1, and random ups.
	const n = 2000000
	gate, one, up := make([]float32, n+1), make([]float32, n+1), make([]float32, n+1)
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range gate {
		gate[i] = float32(-100 + 200*float64(i)/n)
		one[i] = 1
		up[i] = float32(rng.NormFloat64())
	}
	w1 := check(gate, one)
	w2 := check(gate, up)
	// Near 0, where σ(g) ≈ ½: tiny and denormal gates.
	for i := range gate {
		gate[i] = float32(math.Ldexp(rng.Float64()*2-1, -rng.IntN(150)))
	}
	w3 := check(gate, one)
	t.Logf("worst relative error: %.3g (up = 1), %.3g (random up), %.3g (tiny gates)", w1, w2, w3)
}

func BenchmarkSiLUMul(b *testing.B) {
	const n = 8192
	rng := rand.New(rand.NewPCG(1, 2))
	gate, up := siluInputs(rng, n, 0)
	for i := range gate {
		gate[i] = float32(rng.NormFloat64() * 4)
	}
	out := make([]float32, n)
	for _, f := range []struct {
		name string
		f    func(out, gate, up []float32)
	}{{"SiLUMul", SiLUMul}, {"ref", siLUMulRef}} {
		b.Run(f.name, func(b *testing.B) {
			for b.Loop() {
				f.f(out, gate, up)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/elem")
		})
	}
}
