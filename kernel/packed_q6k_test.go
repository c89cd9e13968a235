package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

func init() { refPackedRows[gguf.TypeQ6_K] = refPackedRowQ6_K }

// refPackedRowQ6_K is the packed Q6_K arithmetic (packed_q6k.go) from one unpacked ggml Q6_K
// row w of k elements and its Q8_K activations x (float32 d at 0, int8 qs[256] at 4, int16
// bsums[16] at 260, the sums per 16).
func refPackedRowQ6_K(k int, w, x []byte) float32 {
	var acc float32
	le := binary.LittleEndian
	for b := 0; b < k/256; b++ {
		wb := w[b*q6_KBlockBytes : (b+1)*q6_KBlockBytes]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		ql, qh := wb[0:128], wb[128:192]
		var isum int32
		for j := 0; j < 16; j++ {
			var s int32
			for e := 16 * j; e < 16*j+16; e++ {
				h, l := e/128, e%32
				var q byte
				switch e % 128 / 32 {
				case 0:
					q = ql[64*h+l]&0xf | (qh[32*h+l]&3)<<4
				case 1:
					q = ql[64*h+32+l]&0xf | (qh[32*h+l]>>2&3)<<4
				case 2:
					q = ql[64*h+l]>>4 | (qh[32*h+l]>>4&3)<<4
				case 3:
					q = ql[64*h+32+l]>>4 | (qh[32*h+l]>>6&3)<<4
				}
				s += int32(q) * int32(int8(xb[4+e]))
			}
			s -= 32 * int32(int16(le.Uint16(xb[260+2*j:])))
			isum += int32(int8(wb[192+j])) * s
		}
		dx := math.Float32frombits(le.Uint32(xb))
		acc += float32(float32(isum) * float32(halfAt(wb[208:])*dx))
	}
	return acc
}

// randPackedQ6_K returns groups packed Q6_K groups of nb super-blocks of random bytes (every
// bit pattern of the quants, scales from −128 to 127) with finite d (|d| < 2, or ±65504).
func randPackedQ6_K(r *rand.Rand, groups, nb int) []byte {
	w := make([]byte, groups*nb*1680)
	for i := range w {
		w[i] = byte(r.Uint32())
	}
	for rec := 0; rec < groups*nb; rec++ {
		for i := 0; i < 8; i++ {
			randHalfScale(r, w[rec*1680+2*i:])
		}
	}
	return w
}

// randHalfScale sets the F16 scale at d[0:2] to 65504 or −65504 (one time in eight each) or
// clears its top exponent bit, which leaves the random bits finite with |d| < 2.
func randHalfScale(r *rand.Rand, d []byte) {
	switch r.IntN(8) {
	case 0:
		d[0], d[1] = 0xff, 0x7b // 65504
	case 1:
		d[0], d[1] = 0xff, 0xfb // −65504
	default:
		d[1] &^= 0x40 // exponent bits < 16: finite, |d| < 2
	}
}

// randPackedActK returns ng packed K-quant activation groups of size p (nb super-blocks) of
// random quants (−128 … 127, some blocks all at an end of the range) with their Σx per 32 and
// −32·Σx per 16.
func randPackedActK(r *rand.Rand, ng, nb, p int) []byte {
	le := binary.LittleEndian
	pa := make([]byte, ng*nb*p*actKRecBytes)
	for rec := 0; rec < ng*nb; rec++ {
		x := pa[rec*p*actKRecBytes:][:p*actKRecBytes]
		for i := 0; i < p; i++ {
			q := x[256*i : 256*i+256]
			switch r.IntN(4) {
			case 0:
				for e := range q {
					q[e] = 0x80
				}
			case 1:
				for e := range q {
					q[e] = 0x7f
				}
			default:
				for e := range q {
					q[e] = byte(r.Uint32())
				}
			}
			le.PutUint32(x[256*p+4*i:], math.Float32bits(float32(r.NormFloat64())))
			putActKSums(x, p, i)
		}
	}
	return pa
}

// putActKSums writes row i's sums into the K-quant activation record x of group size p from its
// quants: −32·Σx per 16 elements and Σx per 32 (for the Q4_K/Q5_K mins).
func putActKSums(x []byte, p, i int) {
	le := binary.LittleEndian
	for j := 0; j < 16; j++ {
		var s int32
		for _, v := range x[256*i+16*j : 256*i+16*j+16] {
			s += int32(int8(v))
		}
		le.PutUint32(x[276*p+64*i+4*j:], uint32(-32*s))
		if j%2 == 1 {
			prev := -int32(le.Uint32(x[276*p+64*i+4*(j-1):])) / 32
			le.PutUint16(x[260*p+16*i+2*(j/2):], uint16(int16(prev+s)))
		}
	}
}

// TestPackedQ6_KKernels checks the assembly kernels against packedDotRef on random packed
// records (every quant bit pattern, scales at −128 and 127, |d| up to 65504, activations at −128
// and 127), so the kernels are checked at the ends of their ranges, which quantized matrices
// rarely reach.
func TestPackedQ6_KKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, nb := range []int{1, 2, 5} {
		checkPackedKernels(t, r, gguf.TypeQ6_K, randPackedQ6_K(r, 6, nb), 6, nb)
	}
}

// checkPackedKernels checks the assembly kernels of type typ (gemm, gemm4, gemv; VNNI and AVX2) bit for bit
// against packedDotRef on the packed weights w (groups groups of nb blocks): every group against
// two random activation groups of 8 rows (gemm4 must write nothing past its four rows), and all
// groups against one activation row.
func checkPackedKernels(t *testing.T, r *rand.Rand, typ gguf.Type, w []byte, groups, nb int) {
	t.Helper()
	checkPackedKernelsAct(t, r, typ, w, groups, nb, randPackedActK)
}

// checkPackedKernelsAct is checkPackedKernels with the activation groups made by act (ng groups
// of size p, nb super-blocks).
func checkPackedKernelsAct(t *testing.T, r *rand.Rand, typ gguf.Type, w []byte, groups, nb int,
	act func(r *rand.Rand, ng, nb, p int) []byte) {
	t.Helper()
	f := packedFormats[typ]
	sets := runnableKernels(f)
	if len(sets) == 0 {
		t.Skipf("no packed %s kernels", typ)
	}
	for name, k := range sets {
		x8 := act(r, 2, nb, 8)
		for g := 0; g < groups; g++ {
			wg := w[g*nb*f.rec : (g+1)*nb*f.rec]
			for c := 0; c < 2; c++ {
				xc := x8[c*nb*8*actKRecBytes : (c+1)*nb*8*actKRecBytes]
				const os = 11
				got, want := make([]float32, 7*os+8), make([]float32, 7*os+8)
				k.gemm(&wg[0], &xc[0], nb, &got[0], os)
				packedDotRef(typ, wg, nb, 1, xc, 8, 0, 8, want, os)
				sameSlice(t, fmt.Sprintf("%s gemm nb=%d group %d act group %d", name, nb, g, c), got, want)
				if k.gemm4 == nil {
					continue
				}
				got4 := make([]float32, 7*os+8)
				k.gemm4(&wg[0], &xc[0], nb, &got4[0], os)
				sameSlice(t, fmt.Sprintf("%s gemm4 nb=%d group %d act group %d", name, nb, g, c), got4, want[:3*os+8])
				for i := 3*os + 8; i < len(got4); i++ {
					if got4[i] != 0 {
						t.Fatalf("%s gemm4 nb=%d: wrote out[%d]", name, nb, i)
					}
				}
			}
		}
		x1 := act(r, 1, nb, 1)
		got, want := make([]float32, 8*groups), make([]float32, 8*groups)
		k.gemv(&w[0], &x1[0], nb, groups, &got[0])
		packedDotRef(typ, w, nb, groups, x1, 1, 0, 1, want, 0)
		sameSlice(t, fmt.Sprintf("%s gemv nb=%d", name, nb), got, want)
	}
}

// runnableKernels returns the packed kernel sets of f this CPU can run, by instruction set.
func runnableKernels(f *packedFormat) map[string]*packedKernels {
	sets := map[string]*packedKernels{}
	if useVNNI && f.vnni.gemm != nil {
		sets["vnni"] = &f.vnni
	}
	if useAVX2 && f.avx2.gemm != nil {
		sets["avx2"] = &f.avx2
	}
	return sets
}
