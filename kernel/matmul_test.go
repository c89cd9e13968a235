package kernel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

func randMatrix(t testing.TB, r *rand.Rand, typ gguf.Type, k, n int) Matrix {
	t.Helper()
	f := make([]float32, k*n)
	for i := range f {
		f[i] = float32(r.NormFloat64())
	}
	rb, _ := typ.RowSize(int64(k))
	data := make([]byte, int(rb)*n+1)[1:] // unaligned, as tensors in a GGUF mapping may be
	if err := tensor.Quantize(typ, f, data); err != nil {
		t.Fatal(err)
	}
	m, err := NewMatrix(typ, k, n, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// refMatMul is the definition: each output is the reference dot product of one weight row
// with one activation row converted as MatMul converts it.
func refMatMul(m *Matrix, x []float32, nx int) []float32 {
	out := make([]float32, nx*m.N)
	for r := 0; r < nx; r++ {
		xr := x[r*m.K : (r+1)*m.K]
		a8 := make([]byte, Q8_KRowBytes(m.K)+Q8_0RowBytes(m.K))
		a16 := make([]uint16, m.K)
		switch actFor(m.Type) {
		case actQ8_0:
			quantizeQ8_0Ref(xr, a8)
		case actQ8_K:
			quantizeQ8_KRef(xr, a8)
		case actF16:
			f32ToF16RowRef(xr, a16)
		}
		for i := 0; i < m.N; i++ {
			w := m.Row(i)
			var s float32
			if m.packed != nil && m.Type != gguf.TypeF16 && packable(m.Type) { // packed F16 keeps the DotF16 order
				out[r*m.N+i] = refPackedRows[m.Type](m.K, w, a8)
				continue
			}
			switch m.Type {
			case gguf.TypeQ8_0:
				s = dotQ8_0Ref(m.K, w, a8)
			case gguf.TypeQ4_0:
				s = dotQ4_0Ref(m.K, w, a8)
			case gguf.TypeQ4_K:
				s = dotQ4_KRef(m.K, w, a8)
			case gguf.TypeQ5_K:
				s = dotQ5_KRef(m.K, w, a8)
			case gguf.TypeQ6_K:
				s = dotQ6_KRef(m.K, w, a8)
			case gguf.TypeF16:
				s = dotF16Ref(m.K, w, a16)
			}
			out[r*m.N+i] = s
		}
	}
	return out
}

// TestMatMulGroupExact checks MatMul and MatMulGroup against the reference bit for bit for the
// integer-dot and F16 types, over 1 to 5 activation rows, row counts that are not multiples of
// the 4-row kernel or the tile, and 1 to 3 threads.
func TestMatMulGroupExact(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const k = 512
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K, gguf.TypeF16} {
		a, b, c := randMatrix(t, r, typ, k, 37), randMatrix(t, r, typ, k, 5), randMatrix(t, r, typ, k, 64)
		for _, nx := range []int{1, 2, 5} {
			x := make([]float32, nx*k)
			for i := range x {
				x[i] = float32(r.NormFloat64())
			}
			wa, wb, wc := refMatMul(&a, x, nx), refMatMul(&b, x, nx), refMatMul(&c, x, nx)
			for _, threads := range []int{1, 2, 3} {
				p := NewPool(threads)
				oa, ob, oc := make([]float32, nx*a.N), make([]float32, nx*b.N), make([]float32, nx*c.N)
				p.MatMulGroup(x, nx, MatMulOp{oa, &a}, MatMulOp{ob, &b}, MatMulOp{oc, &c})
				name := fmt.Sprintf("%s nx=%d threads=%d", typ, nx, threads)
				sameSlice(t, name+" group a", oa, wa)
				sameSlice(t, name+" group b", ob, wb)
				sameSlice(t, name+" group c", oc, wc)
				clear(oa)
				p.MatMul(oa, &a, x, nx)
				sameSlice(t, name+" single", oa, wa)
				p.Close()
			}
		}
	}
}

func sameSlice(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s: out[%d] = %v, want %v", name, i, got[i], want[i])
			return
		}
	}
}

// TestMatMulDecodeAllocatesNothing: a steady-state decode matmul group performs no heap
// allocation.
func TestMatMulDecodeAllocatesNothing(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b := randMatrix(t, r, gguf.TypeQ4_K, 256, 16), randMatrix(t, r, gguf.TypeQ6_K, 256, 8)
	p := NewPool(2)
	defer p.Close()
	x := make([]float32, 256)
	oa, ob := make([]float32, 16), make([]float32, 8)
	p.MatMulGroup(x, 1, MatMulOp{oa, &a}, MatMulOp{ob, &b})
	if n := testing.AllocsPerRun(50, func() { p.MatMulGroup(x, 1, MatMulOp{oa, &a}, MatMulOp{ob, &b}) }); n != 0 {
		t.Errorf("MatMulGroup: %v allocations per call, want 0", n)
	}
}

// BenchmarkMatMulPrefill times a batched product (prefill shape: 512 activation rows against a
// 2048×2048 matrix) on all threads; MB/s counts weight bytes.
func BenchmarkMatMulPrefill(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_K} {
		m := randMatrix(b, r, typ, 2048, 2048)
		const nx = 512
		x := make([]float32, nx*m.K)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		out := make([]float32, nx*m.N)
		p := NewPool(0)
		b.Run(fmt.Sprintf("%s/%dx%d/nx=%d", typ, m.N, m.K, nx), func(b *testing.B) {
			b.SetBytes(int64(len(m.Data)))
			for b.Loop() {
				p.MatMul(out, &m, x, nx)
			}
		})
		p.Close()
	}
}

// TestMatMulEdges: no activation rows is a no-op for every path (packed or not), and a matrix
// of rows with no elements is refused by NewMatrix.
func TestMatMulEdges(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	p := NewPool(2)
	defer p.Close()
	for _, typ := range []gguf.Type{gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeF16, gguf.TypeQ5_K, gguf.TypeF32} {
		m := randMatrix(t, r, typ, 256, 16)
		p.MatMul(nil, &m, nil, 0)
		if _, err := NewMatrix(typ, 0, 4, nil); err == nil {
			t.Errorf("%s: NewMatrix with k = 0 accepted", typ)
		}
	}
}
