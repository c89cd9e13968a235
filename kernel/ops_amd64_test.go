//go:build !purego

package kernel

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// opsLengths are the lengths the element-wise kernels are checked at: every length up to 67
// (each tail length over several vector blocks) and a model-sized one.
func opsLengths() []int {
	ns := make([]int, 0, 70)
	for n := 1; n <= 67; n++ {
		ns = append(ns, n)
	}
	return append(ns, 2048, 4096+13)
}

// opsSpecials are finite values at the edges of float32: overflow-sized magnitudes, signed
// zeros and denormals.
var opsSpecials = []float32{
	3e38, -3e38, math.MaxFloat32, -math.MaxFloat32, 1e30, -1e30, 0, float32(math.Copysign(0, -1)),
	1e-45, -1e-45, 1e-40, -1e-40, 0x1p-126, -0x1p-126, 1, -1,
}

// opsInput returns n values, normal(0, sd) with specials mixed in one time in four when
// specials is set, preceded by off unused elements so the slice starts unaligned.
func opsInput(rng *rand.Rand, n, off int, sd float64, specials bool) []float32 {
	x := make([]float32, off+n)
	for i := off; i < off+n; i++ {
		if specials && rng.IntN(4) == 0 {
			x[i] = opsSpecials[rng.IntN(len(opsSpecials))]
		} else {
			x[i] = float32(rng.NormFloat64() * sd)
		}
	}
	return x[off:]
}

func sameBitsF32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %g (%#x), reference %g (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func needAVX2(t *testing.T) {
	t.Helper()
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	if !useAVX2 {
		t.Fatal("the kernels do not dispatch to AVX2 on an AVX2 machine")
	}
}

func TestAddAVX2(t *testing.T) {
	// add (the AVX2 kernel, tails in Go) against addRef bit for bit: random and special finite
	// values (sums overflowing to ±Inf included), unaligned, into a separate out or in place.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, n := range opsLengths() {
		for off := range 3 {
			a := opsInput(rng, n, off, 10, true)
			b := opsInput(rng, n, (off+1)%3, 10, true)
			want := make([]float32, n)
			addRef(want, a, b)
			out := make([]float32, off+n)[off:]
			add(out, a, b)
			sameBitsF32(t, "add", out, want)
			x := slices.Clone(a)
			Add(x, x, b)
			sameBitsF32(t, "Add out == a", x, want)
			x = slices.Clone(b)
			Add(x, a, x)
			sameBitsF32(t, "Add out == b", x, want)
		}
	}
}

func TestRMSNormAVX2(t *testing.T) {
	// rmsNorm (AVX2 sum of squares and scale pass, tails in Go) against rmsNormRef bit for bit:
	// with and without a weight, in place, unaligned; ordinary, large (squares near and past
	// the float32 range, where the scale becomes 0) and tiny (squares underflowing) rows.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(23, 24))
	for _, n := range opsLengths() {
		for off := range 3 {
			for _, sd := range []float64{1, 1e18, 3e19, 1e-22} {
				x := opsInput(rng, n, off, sd, sd == 1)
				w := opsInput(rng, n, (off+2)%3, 1, false)
				for _, eps := range []float32{1e-6, 1e-5} {
					for _, wt := range [][]float32{w, nil} {
						want := make([]float32, n)
						rmsNormRef(want, x, wt, eps)
						out := make([]float32, off+n)[off:]
						rmsNorm(out, x, wt, eps)
						sameBitsF32(t, "rmsNorm", out, want)
						y := slices.Clone(x)
						RMSNorm(y, y, wt, eps)
						sameBitsF32(t, "RMSNorm in place", y, want)
					}
				}
			}
		}
	}
}

func TestSumSquaresAVX2(t *testing.T) {
	// The kernel's sixteen lanes are sumSquaresRef's, bit for bit.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(25, 26))
	for _, n16 := range []int{16, 32, 48, 2048} {
		for off := range 2 {
			x := opsInput(rng, n16, off, 1e3, true)
			var got, want [16]float64
			sumSquaresAVX2(&x[0], n16, &got)
			sumSquaresTail(&want, x, 0)
			for l := range want {
				if math.Float64bits(got[l]) != math.Float64bits(want[l]) {
					t.Fatalf("n16 %d: lane %d = %g, reference %g", n16, l, got[l], want[l])
				}
			}
		}
	}
}

func TestRopeAVX2(t *testing.T) {
	// rope (the AVX2 kernels, tail pairs in Go) against ropeRef bit for bit, for both modes:
	// rotated widths that are and are not multiples of the vector blocks, partial rotation
	// (NDims < headDim, the rest passing through), several heads, unaligned x, real cos/sin
	// caches and arbitrary ones.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(27, 28))
	shapes := []struct{ headDim, nDims int }{
		{2, 2}, {6, 6}, {8, 8}, {16, 10}, {16, 16}, {34, 34}, {48, 16}, {64, 64}, {80, 80},
		{96, 32}, {128, 64}, {128, 128}, {130, 130}, {256, 200}, {7, 5}, {64, 0},
	}
	for _, mode := range []int{RopeNorm, RopeNeoX} {
		for _, sh := range shapes {
			for _, nHeads := range []int{1, 3, 8} {
				for off := range 2 {
					r := Rope{Mode: mode, NDims: sh.nDims, Base: 10000, FreqScale: 1}
					cache := make([]float32, sh.nDims+off)[off:]
					if rng.IntN(2) == 0 {
						r.Cache(rng.IntN(100000), cache)
					} else {
						copy(cache, opsInput(rng, sh.nDims, 0, 3, false))
					}
					x := opsInput(rng, nHeads*sh.headDim, off, 100, false)
					if rng.IntN(3) == 0 {
						for i := range x {
							if rng.IntN(4) == 0 {
								x[i] = float32(rng.NormFloat64() * 1e18)
							}
						}
					}
					want := slices.Clone(x)
					ropeRef(mode, sh.nDims, want, nHeads, sh.headDim, cache)
					got := slices.Clone(x)
					r.ApplyCached(got, nHeads, sh.headDim, cache)
					sameBitsF32(t, "rope", got, want)
				}
			}
		}
	}
}
