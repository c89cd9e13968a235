package kernel

import (
	"fmt"

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
}

// NewMatrix checks that data holds n rows of k elements of type t and returns the Matrix.
func NewMatrix(t gguf.Type, k, n int, data []byte) (Matrix, error) {
	rb, err := t.RowSize(int64(k))
	if err != nil {
		return Matrix{}, err
	}
	if int64(len(data)) != rb*int64(n) {
		return Matrix{}, fmt.Errorf("kernel: %s matrix %dx%d needs %d bytes, have %d", t, k, n, rb*int64(n), len(data))
	}
	return Matrix{Type: t, K: k, N: n, RowBytes: int(rb), Data: data}, nil
}

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
	t := &p.mm
	t.m, t.out, t.x, t.nx = m, out[:nx*m.N], x[:nx*m.K], nx
	t.kind = actFor(m.Type)
	switch t.kind {
	case actQ8_0:
		t.actStride = m.K / 32 * 34
		t.act = growBytes(&p.actBuf, nx*t.actStride)
		for r := 0; r < nx; r++ {
			QuantizeQ8_0(x[r*m.K:(r+1)*m.K], t.act[r*t.actStride:(r+1)*t.actStride])
		}
	case actQ8_K:
		t.actStride = m.K / 256 * (4 + 256 + 32)
		t.act = growBytes(&p.actBuf, nx*t.actStride)
		for r := 0; r < nx; r++ {
			QuantizeQ8_K(x[r*m.K:(r+1)*m.K], t.act[r*t.actStride:(r+1)*t.actStride])
		}
	case actF16, actBF16:
		t.act16 = growU16(&p.act16Buf, nx*m.K)
		for r := 0; r < nx; r++ {
			row := t.act16[r*m.K : (r+1)*m.K]
			if t.kind == actF16 {
				F32ToF16Row(x[r*m.K:(r+1)*m.K], row)
			} else {
				for i, v := range x[r*m.K : (r+1)*m.K] {
					row[i] = tensor.FP32ToBF16(v)
				}
			}
		}
	}
	grain := 4
	if nx > 1 {
		grain = 16
	}
	p.Parallel(m.N, grain, t)
}

type matmulTask struct {
	m         *Matrix
	out, x    []float32
	nx        int
	kind      actKind
	act       []byte
	actStride int
	act16     []uint16
}

// Run computes weight rows [lo, hi) for every activation row. Rows are processed in
// tiles so a tile of weights stays in cache while all activation rows pass over it.
func (t *matmulTask) Run(_, lo, hi int) {
	m := t.m
	const tile = 16
	var deq []float32
	if t.kind == actF32 && m.Type != gguf.TypeF32 {
		deq = make([]float32, m.K) // rare types only; not on the hot path of supported models
	}
	for i0 := lo; i0 < hi; i0 += tile {
		i1 := min(i0+tile, hi)
		for r := 0; r < t.nx; r++ {
			o := t.out[r*m.N : (r+1)*m.N]
			for i := i0; i < i1; i++ {
				w := m.Row(i)
				var s float32
				switch t.kind {
				case actQ8_0:
					a := t.act[r*t.actStride : (r+1)*t.actStride]
					if m.Type == gguf.TypeQ8_0 {
						s = DotQ8_0(m.K, w, a)
					} else {
						s = DotQ4_0(m.K, w, a)
					}
				case actQ8_K:
					a := t.act[r*t.actStride : (r+1)*t.actStride]
					switch m.Type {
					case gguf.TypeQ4_K:
						s = DotQ4_K(m.K, w, a)
					case gguf.TypeQ5_K:
						s = DotQ5_K(m.K, w, a)
					default:
						s = DotQ6_K(m.K, w, a)
					}
				case actF16:
					s = DotF16(m.K, w, t.act16[r*m.K:(r+1)*m.K])
				case actBF16:
					s = DotBF16(m.K, w, t.act16[r*m.K:(r+1)*m.K])
				default:
					xr := t.x[r*m.K : (r+1)*m.K]
					if m.Type == gguf.TypeF32 {
						s = DotF32(f32View(w), xr)
					} else {
						if err := tensor.Dequantize(m.Type, w, deq); err != nil {
							panic(err) // sizes were checked by NewMatrix
						}
						s = DotF32(deq, xr)
					}
				}
				o[i] = s
			}
		}
	}
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
