//go:build !purego

package kernel

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// TestQuantizeQ8_KAVX2 checks the AVX2 Q8_K quantizer against quantizeQ8_KRef byte for byte:
// random blocks of several magnitudes, ties for the largest magnitude with opposite signs (the
// first one wins), an all-zero block, blocks that are zero but for one element, subnormals,
// halves that round to even, and unaligned input.
func TestQuantizeQ8_KAVX2(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2: quantizeQ8_K is the reference")
	}
	r := rand.New(rand.NewPCG(41, 42))
	const nb = 12
	buf := make([]float32, nb*256+1)
	for trial := 0; trial < 200; trial++ {
		x := buf[trial%2 : trial%2+nb*256]
		scale := float32(r.ExpFloat64()) * []float32{1e-3, 1, 50, 1e30}[trial%4]
		for i := range x {
			x[i] = float32(r.NormFloat64()) * scale
		}
		blk := func(b int) []float32 { return x[b*256 : (b+1)*256] }
		clear(blk(0)) // all zero
		clear(blk(1))
		blk(1)[r.IntN(256)] = -3 // one element
		// ties: the same magnitude with both signs; the first occurrence decides the sign
		i, j := r.IntN(256), r.IntN(256)
		blk(2)[i], blk(2)[j] = 1e4, -1e4
		for k := range blk(3) {
			blk(3)[k] = float32(r.IntN(5)-2) * 1e-40 // subnormals
		}
		for k := range blk(4) {
			blk(4)[k] = float32(r.IntN(255)-127) / 2 // halves after scaling by 127/127
		}
		blk(4)[0] = 127
		got := make([]byte, Q8_KRowBytes(len(x)))
		want := make([]byte, len(got))
		for k := range got {
			got[k] = 0xaa // the zero block must be written, not assumed
		}
		quantizeQ8_K(x, got)
		quantizeQ8_KRef(x, want)
		if !bytes.Equal(got, want) {
			for b := 0; b < nb; b++ {
				g, w := got[b*q8_KBlockBytes:(b+1)*q8_KBlockBytes], want[b*q8_KBlockBytes:(b+1)*q8_KBlockBytes]
				if !bytes.Equal(g, w) {
					for k := range g {
						if g[k] != w[k] {
							t.Fatalf("trial %d block %d byte %d: %#x, want %#x", trial, b, k, g[k], w[k])
						}
					}
				}
			}
		}
	}
}
