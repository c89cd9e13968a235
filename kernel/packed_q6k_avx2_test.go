package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// extremePackedQ6_K returns groups packed Q6_K groups of nb super-blocks whose rows take, per
// sub-block, quants all 63, all 0, chunks 0…2 at 63 and chunk 3 at 0 or the reverse, or random
// bytes; scales −128, 127 or random; d ±65504 or random finite.
func extremePackedQ6_K(r *rand.Rand, groups, nb int) []byte {
	w := randPackedQ6_K(r, groups, nb)
	for rec := 0; rec < groups*nb; rec++ {
		o := w[rec*1680:][:1680]
		for row := 0; row < 8; row++ {
			for j := 0; j < 16; j++ {
				switch r.IntN(4) {
				case 0:
					o[16+8*j+row] = 0x80 // −128
				case 1:
					o[16+8*j+row] = 0x7f
				}
				var a, b, c byte
				switch r.IntN(5) {
				case 0:
					a, b, c = 0xff, 0xff, 0xff // all 63
				case 1:
					a, b, c = 0, 0, 0
				case 2:
					a, b, c = 0x3f, 0x3f, 0x3f // chunks 0…2 at 63, chunk 3 at 0
				case 3:
					a, b, c = 0xc0, 0xc0, 0xc0 // chunks 0…2 at 0, chunk 3 at 63
				default:
					continue
				}
				v := o[144+96*j+4*row:]
				for t := 0; t < 4; t++ {
					v[t], v[32+t], v[64+t] = a, b, c
				}
			}
		}
	}
	return w
}

// extremeActK returns ng packed K-quant activation groups of size p (nb super-blocks) whose
// rows take, per sub-block, quants all −128, all 127, all −127, alternating −128/127, or
// random; d_x ±1, a large or a tiny value, or random.
func extremeActK(r *rand.Rand, ng, nb, p int) []byte {
	le := binary.LittleEndian
	pa := make([]byte, ng*nb*p*actKRecBytes)
	for rec := 0; rec < ng*nb; rec++ {
		x := pa[rec*p*actKRecBytes:][:p*actKRecBytes]
		for i := 0; i < p; i++ {
			q := x[256*i : 256*i+256]
			for j := 0; j < 16; j++ {
				s := q[16*j : 16*j+16]
				mode := r.IntN(5)
				for e := range s {
					switch mode {
					case 0:
						s[e] = 0x80
					case 1:
						s[e] = 0x7f
					case 2:
						s[e] = 0x81
					case 3:
						s[e] = byte(0x80 - e%2) // −128, 127, …
					default:
						s[e] = byte(r.Uint32())
					}
				}
			}
			dx := [...]float32{1, -1, 1e20, 1e-30, float32(r.NormFloat64())}[r.IntN(5)]
			le.PutUint32(x[256*p+4*i:], math.Float32bits(dx))
			putActKSums(x, p, i)
		}
	}
	return pa
}

// TestPackedQ6_KKernelsExtreme checks every runnable Q6_K kernel set bit for bit against
// packedDotRef where the AVX2 kernels' int16 intermediates are at their bounds: quants 0 and 63
// against activations −128 and 127 over whole sub-blocks (the VPMADDUBSW pair sums at ±16128,
// two of them at ±32256, −32·Σx_j = 65536), scales −128 and 127, |d| = 65504.
func TestPackedQ6_KKernelsExtreme(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	for _, nb := range []int{1, 3, 8} {
		const groups = 5
		w := extremePackedQ6_K(r, groups, nb)
		for rep := 0; rep < 4; rep++ {
			checkPackedKernelsAct(t, r, gguf.TypeQ6_K, w, groups, nb, extremeActK)
		}
	}
}
