package kernel

import (
	"fmt"
	"sync/atomic"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// Matrix is a 2-D weight tensor in ggml's layout: N rows (ne1) of K elements (ne0), each
// row RowBytes bytes of Type's blocks, rows stored one after another in Data.
type Matrix struct {
	Type     gguf.Type
	K, N     int
	RowBytes int
	Data     []byte

	// packed is Data in the packed kernels' interleaved layout (packed.go), made by NewMatrix
	// for the types of packedFormats (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) and F16 (packed_f16.go) when
	// the CPU runs packed kernels for the type (AVX2 or AVX512-VNNI); nil otherwise.
	packed []byte
}

// NewMatrix checks that data holds n ≥ 0 rows of k > 0 elements of type t and returns the
// Matrix. Data must not change afterwards (the packed copy would go stale).
// Where the CPU runs the packed kernels (AVX2 with FMA and F16C, or AVX512-VNNI), Q8_0, Q4_0,
// Q4_K, Q5_K, Q6_K and F16 weights with n a multiple of 8 are repacked into the interleaved
// layout of the packed kernels (packed*.go): a copy as large as data, which data is no longer
// read for products (it still is for Row).
func NewMatrix(t gguf.Type, k, n int, data []byte) (Matrix, error) {
	m, err := NewRowMatrix(t, k, n, data)
	if err == nil && packable(t) {
		m.packed = packMatrix(&m)
	}
	return m, err
}

// NewRowMatrix is NewMatrix without the packed copy, for a matrix that is only read by Row (the
// token embeddings of a model with a separate output matrix); MatMul on it uses the unpacked
// kernels.
func NewRowMatrix(t gguf.Type, k, n int, data []byte) (Matrix, error) {
	if k <= 0 || n < 0 {
		return Matrix{}, fmt.Errorf("kernel: %s matrix %dx%d: rows of k > 0 elements and n ≥ 0 rows needed", t, k, n)
	}
	rb, err := t.RowSize(int64(k))
	if err != nil {
		return Matrix{}, err
	}
	if int64(len(data)) != rb*int64(n) {
		return Matrix{}, fmt.Errorf("kernel: %s matrix %dx%d needs %d bytes, have %d", t, k, n, rb*int64(n), len(data))
	}
	return Matrix{Type: t, K: k, N: n, RowBytes: int(rb), Data: data}, nil
}

// Packed reports whether m has a packed copy for the packed kernels (NewMatrix), so that its Data
// is read only by Row.
func (m *Matrix) Packed() bool { return m.packed != nil }

// Row returns the bytes of row i.
func (m *Matrix) Row(i int) []byte { return m.Data[i*m.RowBytes : (i+1)*m.RowBytes] }

// actKind is the format activations are converted to before the dot products, the
// vec_dot_type of ggml's type traits (ggml-cpu.c): Q8_0 for Q8_0/Q4_0, Q8_K for the
// k-quants, F16 for F16, BF16 for BF16, none (F32) otherwise.
type actKind int

const (
	actF32 actKind = iota
	actQ8_0
	actQ8_K
	actF16
	actBF16
)

func actFor(t gguf.Type) actKind {
	switch t {
	case gguf.TypeQ8_0, gguf.TypeQ4_0:
		return actQ8_0
	case gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		return actQ8_K
	case gguf.TypeF16:
		return actF16
	case gguf.TypeBF16:
		return actBF16
	}
	return actF32
}

// Supported reports whether MatMul can multiply weights of type t.
func Supported(t gguf.Type) bool {
	switch t {
	case gguf.TypeF32, gguf.TypeF16, gguf.TypeBF16, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_1,
		gguf.TypeQ5_0, gguf.TypeQ5_1, gguf.TypeQ2_K, gguf.TypeQ3_K, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K:
		return true
	}
	return false
}

// MatMul computes out = x · Wᵀ: for each of the nx activation rows x_r (K floats) and each
// weight row w_i, out[r·N + i] = w_i · x_r. x is nx×K row-major, out nx×N row-major.
//
// Activations are first converted as ggml does (see actFor), so quantized weights use
// integer dot products; types without a dot kernel (Q4_1, Q5_0, Q5_1, Q2_K, Q3_K) are
// dequantized row by row and multiplied in float32. Work is split over weight rows, so
// the result does not depend on the thread count.
func (p *Pool) MatMul(out []float32, m *Matrix, x []float32, nx int) {
	p.MatMulGroup(x, nx, MatMulOp{Out: out, W: m})
}

// MatMulOp is one product of a MatMulGroup: Out (nx×W.N, row-major) = x · Wᵀ.
type MatMulOp struct {
	Out []float32
	W   *Matrix
}

// maxGroup is the most products one MatMulGroup pass takes (q, k, v).
const maxGroup = 4

// MatMulGroup computes several products of the same activations x (nx×K, row-major), as
// MatMul does for each, e.g. the q, k and v projections or the gate and up projections. The
// activations are converted once when the weights share an activation format, and all weight
// rows are split over the threads in one pass (one synchronisation instead of one per
// product). Every W must have the same K. Results are identical to separate MatMul calls.
func (p *Pool) MatMulGroup(x []float32, nx int, ops ...MatMulOp) {
	for len(ops) > 0 {
		// the longest prefix (up to maxGroup) sharing op 0's activation format
		k := 1
		for k < len(ops) && k < maxGroup && actFor(ops[k].W.Type) == actFor(ops[0].W.Type) && ops[k].W.K == ops[0].W.K &&
			(ops[k].W.packed == nil) == (ops[0].W.packed == nil) {
			k++
		}
		p.matMul(x, nx, ops[:k])
		ops = ops[k:]
	}
}

func (p *Pool) matMul(x []float32, nx int, ops []MatMulOp) {
	if nx <= 0 {
		return // no activation rows: nothing to compute
	}
	t := &p.mm
	m0 := ops[0].W
	K := m0.K
	t.nops, t.x, t.nx, t.K = len(ops), x[:nx*K], nx, K
	t.kind = actFor(m0.Type)
	rows := 0
	for i, op := range ops {
		t.ops[i] = op
		t.ops[i].Out = op.Out[:nx*op.W.N]
		t.start[i] = rows
		rows += op.W.N
	}
	t.start[len(ops)] = rows
	q := &p.qt
	q.kind, q.x, q.K = t.kind, t.x, K
	switch t.kind {
	case actQ8_0:
		t.actStride = Q8_0RowBytes(K)
		t.act = growBytes(&p.actBuf, nx*t.actStride)
	case actQ8_K:
		t.actStride = Q8_KRowBytes(K)
		t.act = growBytes(&p.actBuf, nx*t.actStride)
	case actF16, actBF16:
		t.act16 = growU16(&p.act16Buf, nx*K)
	}
	q.act, q.act16, q.stride = t.act, t.act16, t.actStride
	q.pa, t.pa, t.packed = nil, nil, m0.packed != nil && packable(m0.Type)
	if t.packed && t.kind != actF16 { // packed F16 reads the F16 activation rows as they are
		// Packed activations (packed.go): groups of 8 rows for the tile kernel, or the one row;
		// the last group's rows past nx stay zero.
		q.pp = 8
		if nx == 1 {
			q.pp = 1
		}
		f := packedFormats[m0.Type]
		grp := K / f.blockElems * f.actRec(q.pp)
		ng := (nx + q.pp - 1) / q.pp
		q.pa = growBytes(&p.packBuf, ng*grp)
		clear(q.pa[(ng-1)*grp:])
		t.pa, t.pp = q.pa, q.pp
	}
	if t.kind != actF32 {
		if nx >= 4 {
			p.Parallel(nx, 1, q)
		} else {
			q.Run(0, 0, nx)
		}
	}
	grain := 4
	if nx > 1 || t.packed {
		grain = 16 // a multiple of the packed groups' 8 rows
	}
	t.rows, t.dyn = rows, nx == 1 && t.packed && p.n > 1
	if t.dyn {
		// One activation row (decode): threads take chunks of rows from a counter, so a thread
		// that starts late or streams slower does not leave the other waiting. Each output is
		// still computed by one kernel call, so results do not depend on who takes what.
		t.next.Store(0)
		p.Parallel(p.n, 1, t)
	} else {
		p.Parallel(rows, grain, t)
	}
	t.ops = [maxGroup]MatMulOp{} // drop references to the caller's buffers
	t.x, t.act, t.act16, t.pa = nil, nil, nil, nil
	q.x, q.act, q.act16, q.pa = nil, nil, nil, nil
}

// quantTask converts activation rows [lo, hi) to the weights' activation format.
type quantTask struct {
	kind   actKind
	x      []float32
	K      int
	act    []byte
	act16  []uint16
	stride int
	pa     []byte // packed activations (packed.go), when the weights are packed
	pp     int    // their group size P
}

func (q *quantTask) Run(_, lo, hi int) {
	for r := lo; r < hi; r++ {
		x := q.x[r*q.K : (r+1)*q.K]
		switch q.kind {
		case actQ8_0:
			quantizeQ8_0(x, q.act[r*q.stride:(r+1)*q.stride])
			if q.pa != nil {
				packAct(q.act[r*q.stride:(r+1)*q.stride], q.K/32, q.pp, r, q.pa)
			}
		case actQ8_K:
			quantizeQ8_K(x, q.act[r*q.stride:(r+1)*q.stride])
			if q.pa != nil {
				packActK(q.act[r*q.stride:(r+1)*q.stride], q.K/256, q.pp, r, q.pa)
			}
		case actF16:
			f32ToF16Row(x, q.act16[r*q.K:(r+1)*q.K])
		case actBF16:
			row := q.act16[r*q.K : (r+1)*q.K]
			for i, v := range x {
				row[i] = tensor.FP32ToBF16(v)
			}
		}
	}
}

type matmulTask struct {
	ops       [maxGroup]MatMulOp
	start     [maxGroup + 1]int // first global row of each op
	nops      int
	x         []float32
	nx, K     int
	kind      actKind
	act       []byte
	actStride int
	act16     []uint16
	packed    bool // the weights are packed: use the packed kernels with pa
	dyn       bool // rows are taken in chunks of dynChunk from next (decode)
	rows      int
	next      atomic.Int64
	pa        []byte // packed activations, groups of pp rows
	pp        int
}

// Run computes global weight rows [lo, hi) (the ops' rows concatenated) for every
// activation row.
func (t *matmulTask) Run(th, lo, hi int) {
	if t.dyn {
		for {
			c := int(t.next.Add(1) - 1)
			if c*dynChunk >= t.rows {
				return
			}
			t.runRange(c*dynChunk, min((c+1)*dynChunk, t.rows))
		}
	}
	t.runRange(lo, hi)
}

// dynChunk is the rows one thread takes at a time in a dynamic (decode) split: a multiple of
// the packed groups' 8 rows, large enough for the prefetchers to stream.
const dynChunk = 128

func (t *matmulTask) runRange(lo, hi int) {
	for i := 0; i < t.nops; i++ {
		a, b := max(lo, t.start[i]), min(hi, t.start[i+1])
		if a < b {
			t.runOp(&t.ops[i], a-t.start[i], b-t.start[i])
		}
	}
}

// runOp computes rows [lo, hi) of op's weights for every activation row. Rows are processed in tiles
// so a tile of weights stays in cache (L1/L2) while all activation rows pass over it; within a
// tile the multi-row kernels (DotRows*) take four weight rows against one activation row, which
// shares the activation loads and gives four independent accumulation chains. Each output is
// still exactly the single-row kernel's result.
func (t *matmulTask) runOp(op *MatMulOp, lo, hi int) {
	m := op.W
	out := op.Out
	const tile = 16
	if m.Type == gguf.TypeF16 && t.kind == actF16 {
		t.runF16(op, lo, hi)
		return
	}
	if t.packed {
		t.runPacked(op, lo, hi)
		return
	}
	if tk := tileKernel(m.Type); tk != nil && t.nx >= 2 && t.kind == actQ8_0 {
		// Batched, unpacked weights (no packed kernels, or rows not a multiple of 8): within a tile of
		// weight rows that stays in L1, the tile kernel takes the activation rows two at a time
		// (Q8_0) or one at a time (Q4_0) against four weight rows.
		tile := max(4, (tileBytes/m.RowBytes)&^3)
		for i0 := lo; i0 < hi; i0 += tile {
			i1 := min(i0+tile, hi)
			w := m.Data[i0*m.RowBytes : i1*m.RowBytes]
			tk(m.K, w, m.RowBytes, t.act, t.actStride, i1-i0, t.nx, out[i0:], m.N)
		}
		return
	}
	if rows := rowsKernel(m.Type); rows != nil && (t.kind == actQ8_0 || t.kind == actQ8_K) {
		// A tile of about 16 KiB of weights (a multiple of the 4-row kernel) stays in L1 while
		// every activation row (from L2) passes over it.
		tile := max(4, (16<<10)/m.RowBytes&^3)
		for i0 := lo; i0 < hi; i0 += tile {
			i1 := min(i0+tile, hi)
			w := m.Data[i0*m.RowBytes : i1*m.RowBytes]
			for r := 0; r < t.nx; r++ {
				rows(m.K, w, m.RowBytes, t.act[r*t.actStride:(r+1)*t.actStride], out[r*m.N+i0:r*m.N+i1])
			}
		}
		return
	}
	var deq []float32
	if t.kind == actF32 && m.Type != gguf.TypeF32 {
		deq = make([]float32, m.K) // rare types only; not on the hot path of supported models
	}
	for i0 := lo; i0 < hi; i0 += tile {
		i1 := min(i0+tile, hi)
		for r := 0; r < t.nx; r++ {
			o := out[r*m.N : (r+1)*m.N]
			for i := i0; i < i1; i++ {
				w := m.Row(i)
				var s float32
				switch t.kind {
				case actF16:
					s = dotF16(m.K, w, t.act16[r*m.K:(r+1)*m.K])
				case actBF16:
					s = dotBF16(m.K, w, t.act16[r*m.K:(r+1)*m.K])
				default:
					xr := t.x[r*m.K : (r+1)*m.K]
					if m.Type == gguf.TypeF32 {
						s = dotF32(f32View(w), xr)
					} else {
						if err := tensor.Dequantize(m.Type, w, deq); err != nil {
							panic(err) // sizes were checked by NewMatrix
						}
						s = dotF32(deq, xr)
					}
				}
				o[i] = s
			}
		}
	}
}

// runF16 computes rows [lo, hi) of F16 weights: for a batch, 4×4 tiles (dotTileF16) over
// column chunks whose activations stay in L2 while this thread's rows stream past, four rows
// (about 16 KiB of weights, in L1) at a time; for one activation row, the four-row kernel.
func (t *matmulTask) runF16(op *MatMulOp, lo, hi int) {
	m := op.W
	K := m.K
	if t.packed {
		runPackedF16(m, t.act16, t.nx, op.Out, lo, hi)
		return
	}
	if t.nx == 1 {
		dotRowsF16(K, m.Data[lo*m.RowBytes:hi*m.RowBytes], m.RowBytes, t.act16[:K], op.Out[lo:hi])
		return
	}
	chunk := max(4, (packChunkBytes/(2*K))&^3)
	tile := max(4, (tileBytes/m.RowBytes)&^3)
	for c0 := 0; c0 < t.nx; c0 += chunk {
		c1 := min(c0+chunk, t.nx)
		for i0 := lo; i0 < hi; i0 += tile {
			i1 := min(i0+tile, hi)
			dotTileF16(K, m.Data[i0*m.RowBytes:i1*m.RowBytes], m.RowBytes, t.act16[c0*K:c1*K], K,
				i1-i0, c1-c0, op.Out[c0*m.N+i0:], m.N)
		}
	}
}

// packChunkBytes bounds the packed activations one pass of runPacked keeps in L2 while this
// thread's weight groups stream past them.
const packChunkBytes = 512 << 10

// runPacked computes rows [lo, hi) (multiples of 8: every op of a packed pass has N a
// multiple of 8 and the split's grain is 16) with the packed kernels.
func (t *matmulTask) runPacked(op *MatMulOp, lo, hi int) {
	m := op.W
	f := packedFormats[m.Type]
	nb := m.K / f.blockElems
	wg := nb * f.rec // bytes of one weight group
	g0, g1 := lo/packRows, hi/packRows
	if t.pp == 1 {
		gemvPacked(m.Type, m.packed[g0*wg:g1*wg], t.pa, nb, g1-g0, op.Out[lo:hi])
		return
	}
	xg := nb * f.actRec(8) // bytes of one activation group
	ncg := (t.nx + 7) / 8
	chunk := max(1, packChunkBytes/xg)
	var tmp [64]float32
	for c0 := 0; c0 < ncg; c0 += chunk {
		c1 := min(c0+chunk, ncg)
		for g := g0; g < g1; g++ {
			w := m.packed[g*wg : (g+1)*wg]
			for c := c0; c < c1; c++ {
				x := t.pa[c*xg : (c+1)*xg]
				if cols := t.nx - 8*c; cols >= 8 {
					gemmPacked(m.Type, w, x, nb, op.Out[8*c*m.N+8*g:], m.N)
				} else {
					if cols > 4 || !gemm4Packed(m.Type, w, x, nb, tmp[:], 8) {
						gemmPacked(m.Type, w, x, nb, tmp[:], 8)
					}
					for j := 0; j < cols; j++ {
						copy(op.Out[(8*c+j)*m.N+8*g:(8*c+j)*m.N+8*g+8], tmp[8*j:8*j+8])
					}
				}
			}
		}
	}
}

// tileBytes is the size of the weight tile the batched path keeps in L1 while every
// activation row passes over it.
const tileBytes = 16 << 10

// tileKernel returns the rows×cols tile kernel (dotTile) for weights of type t whose
// activations are Q8_0, nil for others. Lengths were checked by NewMatrix and MatMul.
func tileKernel(t gguf.Type) func(n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int) {
	switch t {
	case gguf.TypeQ8_0:
		return dotTileQ8_0
	case gguf.TypeQ4_0:
		return dotTileQ4_0
	}
	return nil
}

// rowsKernel returns the multi-row kernel for quantized weights of type t, nil for others.
// Lengths were checked by NewMatrix and MatMul, so the unchecked internal kernels are used.
func rowsKernel(t gguf.Type) func(n int, w []byte, wstride int, x []byte, out []float32) {
	switch t {
	case gguf.TypeQ8_0:
		return dotRowsQ8_0
	case gguf.TypeQ4_0:
		return dotRowsQ4_0
	case gguf.TypeQ4_K:
		return dotRowsQ4_K
	case gguf.TypeQ5_K:
		return dotRowsQ5_K
	case gguf.TypeQ6_K:
		return dotRowsQ6_K
	}
	return nil
}

func growBytes(b *[]byte, n int) []byte {
	if cap(*b) < n {
		*b = make([]byte, n)
	}
	return (*b)[:n]
}

func growU16(b *[]uint16, n int) []uint16 {
	if cap(*b) < n {
		*b = make([]uint16, n)
	}
	return (*b)[:n]
}
