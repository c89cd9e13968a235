package kvcache

import (
	"fmt"

	"github.com/golem-llm/golem/kernel"
	"github.com/golem-llm/golem/tensor"
)

// Contiguous is the simplest KV cache: for each sequence and layer, one array of up to
// NCtx K rows and one of V rows, stored as float32 or float16. `golem run` and the tests
// use it; serving uses Paged. It implements model.KV.
type Contiguous struct {
	nLayer, nCtx, kvd int
	f16               bool
	pool              *kernel.Pool
	seqs              map[int]*contigSeq
	task              contigAttn
}

type contigSeq struct {
	k, v     [][]float32 // [layer][pos*kvd] when F32
	k16, v16 [][]uint16  // when F16
}

// NewContiguous makes a cache for sequences of up to nCtx tokens of a model with nLayer
// layers and K/V rows of kvDim = n_head_kv·head_dim floats; f16 stores rows as IEEE
// half (llama.cpp's default cache type), otherwise float32. pool runs attention (nil: one
// thread). Memory is allocated per sequence on first use.
func NewContiguous(nLayer, nCtx, kvDim int, f16 bool, pool *kernel.Pool) *Contiguous {
	if pool == nil {
		pool = kernel.NewPool(1)
	}
	return &Contiguous{nLayer: nLayer, nCtx: nCtx, kvd: kvDim, f16: f16, pool: pool, seqs: map[int]*contigSeq{}}
}

// NCtx returns the capacity in tokens of each sequence.
func (c *Contiguous) NCtx() int { return c.nCtx }

// Drop forgets sequence seq and frees its memory.
func (c *Contiguous) Drop(seq int) { delete(c.seqs, seq) }

func (c *Contiguous) seq(id int) *contigSeq {
	s, ok := c.seqs[id]
	if ok {
		return s
	}
	s = &contigSeq{}
	n := c.nCtx * c.kvd
	if c.f16 {
		s.k16, s.v16 = make([][]uint16, c.nLayer), make([][]uint16, c.nLayer)
		for l := range s.k16 {
			s.k16[l], s.v16[l] = make([]uint16, n), make([]uint16, n)
		}
	} else {
		s.k, s.v = make([][]float32, c.nLayer), make([][]float32, c.nLayer)
		for l := range s.k {
			s.k[l], s.v[l] = make([]float32, n), make([]float32, n)
		}
	}
	c.seqs[id] = s
	return s
}

// Store implements model.KV. Positions past NCtx panic: the caller (engine, CLI) checks
// the context length before running a batch.
func (c *Contiguous) Store(il, seq, pos, n int, k, v []float32) {
	if pos+n > c.nCtx {
		panic(fmt.Sprintf("kvcache: sequence %d: position %d past the context size %d", seq, pos+n-1, c.nCtx))
	}
	s := c.seq(seq)
	d := c.kvd
	if c.f16 {
		for i := 0; i < n*d; i++ {
			s.k16[il][pos*d+i] = tensor.FP32ToFP16(k[i])
			s.v16[il][pos*d+i] = tensor.FP32ToFP16(v[i])
		}
		return
	}
	copy(s.k[il][pos*d:(pos+n)*d], k[:n*d])
	copy(s.v[il][pos*d:(pos+n)*d], v[:n*d])
}

// Attend implements model.KV.
func (c *Contiguous) Attend(il, seq, pos, n int, q, out []float32, shape kernel.AttnShape) {
	t := &c.task
	s := c.seq(seq)
	ctx := pos + n
	d := c.kvd
	t.ensure(c.pool.Threads(), c.nCtx, d, c.f16)
	if c.f16 {
		// Widen the rows this call reads once, rather than per query head.
		for i := 0; i < ctx*d; i++ {
			t.k32[i] = tensor.FP16ToFP32(s.k16[il][i])
			t.v32[i] = tensor.FP16ToFP32(s.v16[il][i])
		}
		t.k, t.v = t.k32, t.v32
	} else {
		t.k, t.v = s.k[il], s.v[il]
	}
	t.d, t.pos, t.q, t.out, t.shape = d, pos, q, out, shape
	// Work items are (query row, head) pairs.
	c.pool.Parallel(n*shape.NHead, 1, t)
}

type contigAttn struct {
	d, pos   int
	k, v     []float32
	q, out   []float32
	shape    kernel.AttnShape
	scores   [][]float32 // per thread
	k32, v32 []float32
}

func (t *contigAttn) ensure(threads, nCtx, kvd int, f16 bool) {
	if len(t.scores) < threads {
		t.scores = make([][]float32, threads)
		for i := range t.scores {
			t.scores[i] = make([]float32, nCtx)
		}
	}
	if f16 && t.k32 == nil {
		t.k32, t.v32 = make([]float32, nCtx*kvd), make([]float32, nCtx*kvd)
	}
}

func (t *contigAttn) Run(thread, lo, hi int) {
	sh := t.shape
	d := t.d
	qd := sh.NHead * sh.HeadDim
	kAt := func(j int) []float32 { return t.k[j*d : (j+1)*d] }
	vAt := func(j int) []float32 { return t.v[j*d : (j+1)*d] }
	for it := lo; it < hi; {
		row := it / sh.NHead
		h0 := it % sh.NHead
		h1 := min(sh.NHead, h0+(hi-it))
		kernel.AttendRow(t.q[row*qd:(row+1)*qd], t.pos+row+1, sh, kAt, vAt, t.out[row*qd:(row+1)*qd], t.scores[thread], h0, h1)
		it += h1 - h0
	}
}
