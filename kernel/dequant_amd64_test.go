//go:build !purego

package kernel

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// checkDequantAVX2 runs the AVX2 kernel of typ over row into out slices starting 0…2 floats
// past an allocation and compares them with tensor.Dequantize bit for bit.
func checkDequantAVX2(t *testing.T, what string, typ gguf.Type, row []byte, n int) {
	t.Helper()
	want := make([]float32, n)
	if err := tensor.Dequantize(typ, row, want); err != nil {
		t.Fatalf("%s: tensor.Dequantize: %v", what, err)
	}
	for off := range 3 {
		buf := make([]float32, off+n+1)
		buf[off+n] = 42
		out := buf[off : off+n]
		if !dequantRow(typ, row, out) {
			t.Fatalf("%s: no AVX2 kernel ran", what)
		}
		sameBitsF32(t, what, out, want)
		if buf[off+n] != 42 {
			t.Fatalf("%s: wrote past the row", what)
		}
	}
}

// fillBlocks sets every byte of each block of row outside its scales to q (the quants, and
// for Q4_K/Q5_K the packed scales and mins too) and every scale to d.
func fillBlocks(l dequantLayout, row []byte, d uint16, q byte) {
	for b := 0; b < len(row)/l.bb; b++ {
		blk := row[b*l.bb : (b+1)*l.bb]
		for i := range blk {
			blk[i] = q
		}
		for _, o := range l.halves {
			binary.LittleEndian.PutUint16(blk[o:], d)
		}
	}
}

func TestDequantizeRowAVX2(t *testing.T) {
	// Each block kernel against tensor.Dequantize: random blocks with finite scales (±65504,
	// subnormals and zeros among them), rows of 1 to 33 blocks, all-zero blocks and blocks of
	// extreme quants (every quant byte 0x00, 0xff, 0x0f, 0xf0, 0x80) under the largest scales.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(41, 42))
	for _, typ := range dequantSIMDTypes[1:] {
		l := layoutOf(typ)
		for _, nb := range []int{1, 2, 3, 5, 16, 33} {
			for range 20 {
				checkDequantAVX2(t, typ.String()+" random", typ, randomRow(rng, l, nb), nb*l.qk)
			}
		}
		for _, d := range []uint16{0x7bff, 0xfbff, 0x0001, 0x3c00, 0} {
			for _, q := range []byte{0x00, 0xff, 0x0f, 0xf0, 0x80, 0x7f, 0xaa} {
				row := make([]byte, 3*l.bb)
				fillBlocks(l, row, d, q)
				checkDequantAVX2(t, typ.String()+" filled", typ, row, 3*l.qk)
			}
		}
		checkDequantAVX2(t, typ.String()+" zero", typ, make([]byte, 4*l.bb), 4*l.qk)
	}
}

func TestDequantizeRowAVX2NonFinite(t *testing.T) {
	// Inf and NaN scales also agree bit for bit (VCVTPH2PS quiets a signalling NaN the
	// reference keeps, but the product quiets both alike). Not part of the contract.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(43, 44))
	nonFinite := []uint16{0x7c00, 0xfc00, 0x7e00, 0xfe00, 0x7c01, 0xfd55}
	for _, typ := range dequantSIMDTypes[1:] {
		l := layoutOf(typ)
		for range 50 {
			row := randomRow(rng, l, 3)
			for b := range 3 {
				for _, o := range l.halves {
					if rng.IntN(2) == 0 {
						binary.LittleEndian.PutUint16(row[b*l.bb+o:], nonFinite[rng.IntN(len(nonFinite))])
					}
				}
			}
			checkDequantAVX2(t, typ.String()+" non-finite", typ, row, 3*l.qk)
		}
	}
}

func TestDequantizeRowAVX2F16(t *testing.T) {
	// The F16 kernel against tensor.Dequantize: all 65536 halves (NaN payloads, signalling
	// ones included, and subnormals), in order and shuffled so NaNs fall in every lane of the
	// 32-wide loop, and every length up to 67 for the tails.
	needAVX2(t)
	rng := rand.New(rand.NewPCG(45, 46))
	all := make([]byte, 2<<16)
	for h := range 1 << 16 {
		binary.LittleEndian.PutUint16(all[2*h:], uint16(h))
	}
	checkDequantAVX2(t, "F16 all halves", gguf.TypeF16, all, 1<<16)
	perm := rng.Perm(1 << 16)
	shuf := make([]byte, len(all))
	for i, p := range perm {
		copy(shuf[2*i:], all[2*p:2*p+2])
	}
	checkDequantAVX2(t, "F16 shuffled", gguf.TypeF16, shuf, 1<<16)
	l := layoutOf(gguf.TypeF16)
	for n := 1; n <= 67; n++ {
		checkDequantAVX2(t, "F16 random", gguf.TypeF16, randomRow(rng, l, n), n)
		// one NaN among finite halves, at every position
		row := make([]byte, 2*n)
		for i := range n {
			binary.LittleEndian.PutUint16(row[2*i:], finiteHalf(rng))
		}
		for i := range n {
			old := binary.LittleEndian.Uint16(row[2*i:])
			binary.LittleEndian.PutUint16(row[2*i:], 0x7c01|uint16(i)<<15)
			checkDequantAVX2(t, "F16 one NaN", gguf.TypeF16, row, n)
			binary.LittleEndian.PutUint16(row[2*i:], old)
		}
	}
}
