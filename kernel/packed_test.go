package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// refPackedRows holds, by weight type, the packed kernels' arithmetic (packed.go) computed from
// an unpacked row: w is one row of k elements in ggml's layout, x its activations (Q8_0 or
// Q8_K, as actFor says). They read neither the packed layout nor the packed activations, so
// they check both.
var refPackedRows = map[gguf.Type]func(k int, w, x []byte) float32{
	gguf.TypeQ8_0: func(k int, w, x []byte) float32 { return refPackedRow(gguf.TypeQ8_0, k, w, x) },
	gguf.TypeQ4_0: func(k int, w, x []byte) float32 { return refPackedRow(gguf.TypeQ4_0, k, w, x) },
}

func refPackedRow(t gguf.Type, k int, w, x []byte) float32 {
	var acc float32
	for b := 0; b < k/32; b++ {
		xb := x[b*34 : (b+1)*34]
		var s int32
		var dw float32
		if t == gguf.TypeQ8_0 {
			wb := w[b*34 : (b+1)*34]
			dw = halfAt(wb)
			for i := 0; i < 32; i++ {
				s += int32(int8(wb[2+i])) * int32(int8(xb[2+i]))
			}
		} else {
			wb := w[b*18 : (b+1)*18]
			dw = halfAt(wb)
			for i := 0; i < 16; i++ {
				s += (int32(wb[2+i]&15) - 8) * int32(int8(xb[2+i]))
				s += (int32(wb[2+i]>>4) - 8) * int32(int8(xb[2+16+i]))
			}
		}
		acc += float32(float32(s) * float32(dw*halfAt(xb)))
	}
	return acc
}

// extremeBlocks overwrites some quants of m with the ends of their range (Q8_0 −128 and 127,
// which ggml's quantizer never writes but a file may hold; nibbles 0, 7, 8 and 15; all-ones
// k-quant scales) and some scales d with 65504, so the unsigned-offset tricks of the kernels
// are checked at their limits.
func extremeBlocks(r *rand.Rand, m *Matrix) {
	elems, lo, hi, d := 32, 2, 0, 0 // quant bytes [lo, hi) of a block, d at byte d
	switch m.Type {
	case gguf.TypeQ4_K:
		elems, lo, hi = 256, 4, 144 // scales and quants
	case gguf.TypeQ5_K:
		elems, lo, hi = 256, 4, 176 // scales, qh and qs
	case gguf.TypeQ6_K:
		elems, lo, hi, d = 256, 0, 208, 208
	}
	nb := m.K / elems
	bb := m.RowBytes / nb
	if hi == 0 {
		hi = bb
	}
	for i := 0; i < m.N*nb/3; i++ {
		blk := m.Data[r.IntN(m.N*nb)*bb:][:bb]
		for j := lo; j < hi; j++ {
			switch r.IntN(3) {
			case 0:
				blk[j] = 0x80
			case 1:
				blk[j] = 0x7f
			}
		}
		if r.IntN(8) == 0 {
			blk[d], blk[d+1] = 0xff, 0x7b // 65504
		}
	}
	for i := 0; i < m.N*nb/16; i++ { // all-zero blocks, scales included
		clear(m.Data[r.IntN(m.N*nb)*bb:][:bb])
	}
}

// TestPackedMatMul checks MatMul on packed Q8_0 and Q4_0 weights bit for bit against
// refPackedRow, for one to 19 activation rows (the one-row kernel, full 8-row tiles and every
// column tail), weight rows 8 to 40, k from one block up, extreme quants and scales, and 1 to
// 3 threads, with each instruction set's kernels (eachImpl). Where the CPU has no kernels for a
// type the kernels are the pure-Go reference, which the test then checks.
func TestPackedMatMul(t *testing.T) { eachImpl(t, testPackedMatMul) }

func testPackedMatMul(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K} {
		ref := refPackedRows[typ]
		if packedFormats[typ] == nil || ref == nil {
			continue // no packed layout for this type yet
		}
		shapes := [][2]int{{32, 8}, {96, 24}, {512, 40}, {2048, 16}}
		if packedFormats[typ].kquant {
			shapes = [][2]int{{256, 8}, {512, 24}, {2048, 16}}
		}
		for _, shape := range shapes {
			k, n := shape[0], shape[1]
			m := randMatrix(t, r, typ, k, n)
			extremeBlocks(r, &m)
			m.packed = packMatrix(&m)
			if m.packed == nil {
				t.Fatalf("%s %dx%d: not packed", typ, n, k)
			}
			for _, nx := range []int{1, 2, 4, 7, 8, 9, 12, 16, 19} {
				x := make([]float32, nx*k)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				x[0] = 1e6 // a block whose d_x is large and the rest near zero
				if nx > 1 {
					clear(x[k : k+32]) // an all-zero activation block (d_x = 0)
				}
				want := make([]float32, nx*n)
				a8 := make([]byte, max(Q8_0RowBytes(k), Q8_KRowBytes(k)))
				for c := 0; c < nx; c++ {
					quantAct(typ, x[c*k:(c+1)*k], a8)
					for i := 0; i < n; i++ {
						want[c*n+i] = ref(k, m.Row(i), a8)
					}
				}
				for _, threads := range []int{1, 2, 3} {
					p := NewPool(threads)
					got := make([]float32, nx*n)
					if packable(typ) {
						p.MatMul(got, &m, x, nx)
					} else {
						packedMatMulRef(&m, x, nx, got)
					}
					p.Close()
					sameSlice(t, fmt.Sprintf("%s %dx%d nx=%d threads=%d", typ, n, k, nx, threads), got, want)
				}
			}
		}
	}
}

// quantAct quantizes one activation row for weights of type typ (Q8_K for k-quants).
func quantAct(typ gguf.Type, x []float32, dst []byte) {
	if actFor(typ) == actQ8_K {
		quantizeQ8_KRef(x, dst)
	} else {
		quantizeQ8_0Ref(x, dst)
	}
}

// packedMatMulRef runs the packed path's steps (activation packing, then the kernels, which are
// the reference in a build without them) without MatMul's dispatch.
func packedMatMulRef(m *Matrix, x []float32, nx int, out []float32) {
	f := packedFormats[m.Type]
	nb := m.K / f.blockElems
	p := 8
	if nx == 1 {
		p = 1
	}
	a8 := make([]byte, max(Q8_0RowBytes(m.K), Q8_KRowBytes(m.K)))
	pa := make([]byte, (nx+p-1)/p*nb*f.actRec(p))
	for c := 0; c < nx; c++ {
		quantAct(m.Type, x[c*m.K:(c+1)*m.K], a8)
		if f.kquant {
			packActK(a8, nb, p, c, pa)
		} else {
			packAct(a8, nb, p, c, pa)
		}
	}
	t := matmulTask{nx: nx, pa: pa, pp: p, packed: true}
	t.runPacked(&MatMulOp{Out: out, W: m}, 0, m.N)
}

// TestPackedAgreesWithUnpacked: the packed order differs from the unpacked kernels' only by
// float32 rounding: for Q8_0 and Q4_0 within 1e-5·64 (relative 1e-5 of the sum of |terms|
// here), for the k-quants within 1e-5·(4 + |result|).
func TestPackedAgreesWithUnpacked(t *testing.T) {
	for _, c := range []struct {
		typ  gguf.Type
		n    int
		seed uint64
		dot  func(n int, w, x []byte) float32
		tol  func(want float64) float64
	}{
		{gguf.TypeQ8_0, 64, 23, dotQ8_0Ref, func(float64) float64 { return 1e-5 * 64 }},
		{gguf.TypeQ4_0, 64, 24, dotQ4_0Ref, func(float64) float64 { return 1e-5 * 64 }},
		{gguf.TypeQ5_K, 32, 75, dotQ5_KRef, func(w float64) float64 { return 1e-5 * (4 + math.Abs(w)) }},
		{gguf.TypeQ6_K, 32, 63, dotQ6_KRef, func(w float64) float64 { return 1e-5 * (4 + math.Abs(w)) }},
	} {
		r := rand.New(rand.NewPCG(c.seed, c.seed+1))
		m := randMatrix(t, r, c.typ, 2048, c.n)
		m.packed = packMatrix(&m)
		const nx = 3
		x := make([]float32, nx*m.K)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		got := make([]float32, nx*m.N)
		packedMatMulRef(&m, x, nx, got)
		a8 := make([]byte, max(Q8_0RowBytes(m.K), Q8_KRowBytes(m.K)))
		for col := 0; col < nx; col++ {
			quantAct(c.typ, x[col*m.K:(col+1)*m.K], a8)
			for i := 0; i < m.N; i++ {
				want := c.dot(m.K, m.Row(i), a8)
				if d := math.Abs(float64(got[col*m.N+i] - want)); d > c.tol(float64(want)) {
					t.Errorf("%s row %d col %d: packed %v, unpacked %v", c.typ, i, col, got[col*m.N+i], want)
				}
			}
		}
	}
}
