package kernel

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

func init() { refPackedRows[gguf.TypeQ5_K] = refPackedRowQ5_K }

// refPackedRowQ5_K is the packed Q5_K arithmetic (packed_q5k.go) from one unpacked ggml Q5_K
// row w of k elements and its Q8_K activations x (float32 d at 0, int8 qs[256] at 4, int16
// bsums[16] at 260, the sums per 16).
func refPackedRowQ5_K(k int, w, x []byte) float32 {
	le := binary.LittleEndian
	var acc float32
	for b := 0; b < k/256; b++ {
		wb := w[b*q5_KBlockBytes : (b+1)*q5_KBlockBytes]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		qh, qs := wb[16:48], wb[48:176]
		var isum, imin int32
		for s := 0; s < 8; s++ {
			sc, m := scaleMinK4(s, wb[4:16])
			var si int32
			for l := 0; l < 32; l++ {
				q := qs[32*(s/2)+l]
				if s%2 == 0 {
					q &= 15
				} else {
					q >>= 4
				}
				q |= (qh[l] >> s & 1) << 4
				si += int32(q) * int32(int8(xb[4+32*s+l]))
			}
			isum += sc * si
			bs := int32(int16(le.Uint16(xb[260+4*s:]))) + int32(int16(le.Uint16(xb[262+4*s:])))
			imin += m * bs
		}
		dx := f32At(xb)
		acc += float32(float32(isum) * float32(halfAt(wb)*dx))
		acc -= float32(float32(imin) * float32(halfAt(wb[2:])*dx))
	}
	return acc
}

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
			d := o[2*i:]
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

// TestPackedQ5_KKernels checks the assembly kernels (gemm, gemm4, gemv) against packedDotRef
// bit for bit on random packed records (every quant bit pattern, scales and mins up to 63, |d|
// and |dmin| up to 65504, activations at −128 and 127), so the kernels are checked at the ends
// of their ranges, which quantized matrices rarely reach.
func TestPackedQ5_KKernels(t *testing.T) {
	f := packedFormats[gguf.TypeQ5_K]
	if f.gemm == nil || !packedOK() {
		t.Skip("no packed Q5_K kernels")
	}
	r := rand.New(rand.NewPCG(73, 74))
	for _, nb := range []int{1, 2, 5} {
		const groups = 6
		w := randPackedQ5_K(r, groups, nb)
		// gemm: every group against two activation groups of 8 rows.
		x8 := randPackedActK(r, 2, nb, 8)
		for g := 0; g < groups; g++ {
			wg := w[g*nb*q5KRecBytes : (g+1)*nb*q5KRecBytes]
			for c := 0; c < 2; c++ {
				xc := x8[c*nb*8*actKRecBytes : (c+1)*nb*8*actKRecBytes]
				setActKSums(xc, nb, 8)
				const os = 11
				got, want := make([]float32, 7*os+8), make([]float32, 7*os+8)
				f.gemm(&wg[0], &xc[0], nb, &got[0], os)
				packedDotRef(gguf.TypeQ5_K, wg, nb, 1, xc, 8, 0, 8, want, os)
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
		setActKSums(x1, nb, 1)
		got, want := make([]float32, 8*groups), make([]float32, 8*groups)
		f.gemv(&w[0], &x1[0], nb, groups, &got[0])
		packedDotRef(gguf.TypeQ5_K, w, nb, groups, x1, 1, 0, 1, want, 0)
		sameSlice(t, fmt.Sprintf("gemv nb=%d", nb), got, want)
	}
}

// setActKSums fills in the Σx per 32 (int16) of packed K-quant activations of group size p (nb
// super-blocks per group, all groups) from their quants, which randPackedActK leaves out.
func setActKSums(pa []byte, nb, p int) {
	for rec := 0; rec < len(pa)/(p*actKRecBytes); rec++ {
		x := pa[rec*p*actKRecBytes:][:p*actKRecBytes]
		for i := 0; i < p; i++ {
			for s := 0; s < 8; s++ {
				var sum int32
				for _, v := range x[256*i+32*s : 256*i+32*s+32] {
					sum += int32(int8(v))
				}
				binary.LittleEndian.PutUint16(x[260*p+16*i+2*s:], uint16(int16(sum)))
			}
		}
	}
}

// TestPackedQ5_KAgreesWithUnpacked: the packed order differs from the unpacked kernel's only by
// float32 rounding.
func TestPackedQ5_KAgreesWithUnpacked(t *testing.T) {
	r := rand.New(rand.NewPCG(75, 76))
	m := randMatrix(t, r, gguf.TypeQ5_K, 2048, 32)
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
			want := dotQ5_KRef(m.K, m.Row(i), a8)
			if d := math.Abs(float64(got[c*m.N+i] - want)); d > 1e-5*(4+math.Abs(float64(want))) {
				t.Errorf("row %d col %d: packed %v, unpacked %v", i, c, got[c*m.N+i], want)
			}
		}
	}
}

// BenchmarkPackedQ5_K times one packed Q5_K kernel call on cache-resident data: the 8×8 tile
// over k = 2048 (8 super-blocks), the 8×4 tile (gemm4) and the one-row kernel over 512 rows (64
// groups); MB/s counts weight bytes.
func BenchmarkPackedQ5_K(b *testing.B) {
	r := rand.New(rand.NewPCG(77, 78))
	const k = 2048
	nb := k / 256
	for _, n := range []int{8, 512} {
		m := randMatrix(b, r, gguf.TypeQ5_K, k, n)
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
					gemvPacked(gguf.TypeQ5_K, m.packed, pa, nb, n/8, out)
				}
			})
			continue
		}
		b.Run(fmt.Sprintf("tile8x8/k=%d", k), func(b *testing.B) {
			b.SetBytes(int64(len(m.packed)))
			for b.Loop() {
				gemmPacked(gguf.TypeQ5_K, m.packed, pa, nb, out, 8)
			}
		})
		b.Run(fmt.Sprintf("tile8x4/k=%d", k), func(b *testing.B) {
			b.SetBytes(int64(len(m.packed)))
			for b.Loop() {
				if !gemm4Packed(gguf.TypeQ5_K, m.packed, pa, nb, out, 8) {
					b.Skip("no gemm4 kernel")
				}
			}
		})
	}
}
