package kernel

import (
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

func init() { refPackedRows[gguf.TypeQ5_K] = refPackedRowQ5_K }

// refPackedRowQ5_K is the packed Q5_K arithmetic (packed_q5k.go): refPackedRowK45 with the
// fifth bits.
func refPackedRowQ5_K(k int, w, x []byte) float32 { return refPackedRowK45(k, w, x, true) }

// randPackedQ5_K returns groups packed Q5_K groups of nb super-blocks of random bytes (every
// bit pattern of the quants, scales and mins; some records with all scales and mins at 63)
// with finite d and dmin (|d| < 2, or ±65504).
func randPackedQ5_K(r *rand.Rand, groups, nb int) []byte {
	w := make([]byte, groups*nb*q5KRecBytes)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for rec := 0; rec < groups*nb; rec++ {
		o := w[rec*q5KRecBytes:][:q5KRecBytes]
		if r.IntN(4) == 0 {
			for i := 32; i < 128; i++ {
				o[i] = 0xff // every sc and m 63
			}
		}
		for i := 0; i < 16; i++ {
			randHalfScale(r, o[2*i:])
		}
	}
	return w
}

// TestPackedQ5_KLayout: packing then reading the packed record gives ggml's quants, scales and
// mins of every row (the layout functions refBlockQ5_K uses, on random bytes: every bit
// pattern).
func TestPackedQ5_KLayout(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	const k, n = 512, 16
	data := make([]byte, n*k/256*q5_KBlockBytes)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	m, err := NewMatrix(gguf.TypeQ5_K, k, n, data)
	if err != nil {
		t.Fatal(err)
	}
	nb := k / 256
	packed := make([]byte, n/8*nb*q5KRecBytes)
	for g := 0; g < n/8; g++ {
		packGroupQ5_K(&m, g, nb, packed)
	}
	var q [256]byte
	for i := 0; i < n; i++ {
		for b := 0; b < nb; b++ {
			blk := srcBlock(&m, i, b, nb)
			rec := packed[(i/8*nb+b)*q5KRecBytes:][:q5KRecBytes]
			q5KQuants(blk, &q)
			for s := 0; s < 8; s++ {
				sc, mn := scaleMinK4(s, blk[4:16])
				if psc, pm := q5KScaleMin(rec, i%8, s); psc != sc || pm != mn {
					t.Fatalf("row %d block %d sub-block %d: scale, min %d, %d, want %d, %d", i, b, s, psc, pm, sc, mn)
				}
				for e := 0; e < 32; e++ {
					// ggml's element 32s+e from qh/qs directly, not through q5KQuants.
					qsb := blk[48+32*(s/2)+e]
					want := int32(qsb&15) | int32(blk[16+e]>>s&1)<<4
					if s%2 == 1 {
						want = int32(qsb>>4) | int32(blk[16+e]>>s&1)<<4
					}
					if got := q5KPacked(rec, i%8, s, e); got != want || int32(q[32*s+e]) != want {
						t.Fatalf("row %d block %d element %d: packed %d, decoded %d, want %d", i, b, 32*s+e, got, q[32*s+e], want)
					}
				}
			}
			if string(rec[2*(i%8):][:2]) != string(blk[0:2]) || string(rec[16+2*(i%8):][:2]) != string(blk[2:4]) {
				t.Fatalf("row %d block %d: d, dmin differ", i, b)
			}
		}
	}
}

// TestPackedQ5_KKernels checks the assembly kernels against packedDotRef on random packed
// records (every quant bit pattern, scales and mins up to 63, |d| and |dmin| up to 65504,
// activations at −128 and 127), so the kernels are checked at the ends of their ranges, which
// quantized matrices rarely reach.
func TestPackedQ5_KKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(73, 74))
	for _, nb := range []int{1, 2, 5} {
		checkPackedKernels(t, r, gguf.TypeQ5_K, randPackedQ5_K(r, 6, nb), 6, nb)
	}
}
