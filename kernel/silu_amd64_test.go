//go:build !purego

package kernel

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSiLUMulAVX2(t *testing.T) {
	// The kernel itself (not through the dispatch) against the reference, bit for bit: random
	// and special finite gates in every lane, unaligned, and in place.
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	if !useAVX2 {
		t.Fatal("SiLUMul does not dispatch to the AVX2 kernel on an AVX2 machine")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, n8 := range []int{8, 16, 64, 1000 &^ 7} {
		for off := range 2 {
			gate, up := siluInputs(rng, n8, off)
			want := make([]float32, n8)
			siLUMulRef(want, gate, up)
			out := make([]float32, off+n8)[off:]
			siLUMulAVX2(&out[0], &gate[0], &up[0], n8)
			sameBits(t, "kernel", out, want, gate, up)
			g := slices.Clone(gate)
			siLUMulAVX2(&g[0], &g[0], &up[0], n8)
			sameBits(t, "kernel out == gate", g, want, gate, up)
			u := slices.Clone(up)
			siLUMulAVX2(&u[0], &gate[0], &u[0], n8)
			sameBits(t, "kernel out == up", u, want, gate, up)
		}
	}
}
