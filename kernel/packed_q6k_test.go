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
			d := w[rec*1680+2*i:]
			switch r.IntN(8) {
			case 0:
				d[0], d[1] = 0xff, 0x7b // 65504
			case 1:
				d[0], d[1] = 0xff, 0xfb // −65504
			default:
				d[1] &^= 0x40 // exponent bits < 16: finite, |d| < 2
			}
		}
	}
	return w
}

// randPackedActK returns ng packed K-quant activation groups of size p (nb super-blocks) of
// random quants (−128 … 127, some blocks all at an end of the range) with their −32·Σx.
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
			for j := 0; j < 16; j++ {
				var s int32
				for _, v := range q[16*j : 16*j+16] {
					s += int32(int8(v))
				}
				le.PutUint32(x[276*p+64*i+4*j:], uint32(-32*s))
			}
		}
	}
	return pa
}

// TestPackedQ6_KKernels checks the assembly kernels (gemm, gemm4, gemv) against packedDotRef
// bit for bit on random packed records (every quant bit pattern, scales at −128 and 127, |d| up
// to 65504, activations at −128 and 127), so the kernels are checked at the ends of their
// ranges, which quantized matrices rarely reach.
func TestPackedQ6_KKernels(t *testing.T) {
	f := packedFormats[gguf.TypeQ6_K]
	if f.gemm == nil || !packedOK() {
		t.Skip("no packed Q6_K kernels")
	}
	r := rand.New(rand.NewPCG(61, 62))
	for _, nb := range []int{1, 2, 5} {
		const groups = 6
		w := randPackedQ6_K(r, groups, nb)
		// gemm: every group against two activation groups of 8 rows.
		x8 := randPackedActK(r, 2, nb, 8)
		for g := 0; g < groups; g++ {
			wg := w[g*nb*1680 : (g+1)*nb*1680]
			for c := 0; c < 2; c++ {
				xc := x8[c*nb*8*actKRecBytes : (c+1)*nb*8*actKRecBytes]
				const os = 11
				got, want := make([]float32, 7*os+8), make([]float32, 7*os+8)
				f.gemm(&wg[0], &xc[0], nb, &got[0], os)
				packedDotRef(gguf.TypeQ6_K, wg, nb, 1, xc, 8, 0, 8, want, os)
				sameSlice(t, fmt.Sprintf("gemm nb=%d group %d act group %d", nb, g, c), got, want)
				got4 := make([]float32, 7*os+8)
				f.gemm4(&wg[0], &xc[0], nb, &got4[0], os)
				sameSlice(t, fmt.Sprintf("gemm4 nb=%d group %d act group %d", nb, g, c), got4, want[:3*os+8])
				for i := 3*os + 8; i < len(got4); i++ {
					if got4[i] != 0 {
						t.Fatalf("gemm4 nb=%d: wrote out[%d]", nb, i)
					}
				}
			}
		}
		// gemv: all groups against one activation row.
		x1 := randPackedActK(r, 1, nb, 1)
		got, want := make([]float32, 8*groups), make([]float32, 8*groups)
		f.gemv(&w[0], &x1[0], nb, groups, &got[0])
		packedDotRef(gguf.TypeQ6_K, w, nb, groups, x1, 1, 0, 1, want, 0)
		sameSlice(t, fmt.Sprintf("gemv nb=%d", nb), got, want)
	}
}

// TestPackedQ6_KAgreesWithUnpacked: the packed order differs from the unpacked kernel's only by
// float32 rounding (here at most about 1.5e-5 on outputs up to about 80).
func TestPackedQ6_KAgreesWithUnpacked(t *testing.T) {
	r := rand.New(rand.NewPCG(63, 64))
	m := randMatrix(t, r, gguf.TypeQ6_K, 2048, 32)
	m.packed = packMatrix(&m)
	const nx = 3
	x := make([]float32, nx*m.K)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	got := make([]float32, nx*m.N)
	packedMatMulRef(&m, x, nx, got)
	a8 := make([]byte, Q8_KRowBytes(m.K))
	for c := 0; c < nx; c++ {
		quantizeQ8_KRef(x[c*m.K:(c+1)*m.K], a8)
		for i := 0; i < m.N; i++ {
			want := dotQ6_KRef(m.K, m.Row(i), a8)
			if d := math.Abs(float64(got[c*m.N+i] - want)); d > 1e-5*(4+math.Abs(float64(want))) {
				t.Errorf("row %d col %d: packed %v, unpacked %v", i, c, got[c*m.N+i], want)
			}
		}
	}
}

// BenchmarkPackedQ6_K times one packed Q6_K kernel call on cache-resident data: the 8×8 tile
// over k = 2048 (8 super-blocks), the 8×4 tile (gemm4) and the one-row kernel over 512 rows (64
// groups); MB/s counts weight bytes.
func BenchmarkPackedQ6_K(b *testing.B) {
	r := rand.New(rand.NewPCG(65, 66))
	const k = 2048
	nb := k / 256
	for _, n := range []int{8, 512} {
		m := randMatrix(b, r, gguf.TypeQ6_K, k, n)
		m.packed = packMatrix(&m)
		p := 8
		if n > 8 {
			p = 1
		}
		pa := make([]byte, nb*p*actKRecBytes)
		a8 := make([]byte, Q8_KRowBytes(k))
		x := make([]float32, k)
		for c := 0; c < p; c++ {
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			quantizeQ8_KRef(x, a8)
			packActK(a8, nb, p, c, pa)
		}
		out := make([]float32, max(64, n))
		if p == 1 {
			b.Run(fmt.Sprintf("gemv/%dx%d", n, k), func(b *testing.B) {
				b.SetBytes(int64(len(m.packed)))
				for b.Loop() {
					gemvPacked(gguf.TypeQ6_K, m.packed, pa, nb, n/8, out)
				}
			})
			continue
		}
		b.Run(fmt.Sprintf("tile8x8/k=%d", k), func(b *testing.B) {
			b.SetBytes(int64(len(m.packed)))
			for b.Loop() {
				gemmPacked(gguf.TypeQ6_K, m.packed, pa, nb, out, 8)
			}
		})
		b.Run(fmt.Sprintf("tile8x4/k=%d", k), func(b *testing.B) {
			b.SetBytes(int64(len(m.packed)))
			for b.Loop() {
				if !gemm4Packed(gguf.TypeQ6_K, m.packed, pa, nb, out, 8) {
					b.Skip("no gemm4 kernel")
				}
			}
		})
	}
}
