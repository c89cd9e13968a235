package kvcache

import (
	"fmt"
	"math"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
	"github.com/golem-llm/golem/tensor"
)

// DefaultType is the storage type of K/V rows when serving: F16 (as llama.cpp's default
// cache_type_k/v).
const DefaultType = gguf.TypeF16

// PagedConfig sizes a Paged cache.
type PagedConfig struct {
	NLayer    int       // n_layer
	NHeadKV   int       // n_head_kv
	HeadDim   int       // n_embd_head_k (= n_embd_head_v)
	BlockSize int       // token positions per block; 0 means DefaultBlockSize
	Type      gguf.Type // F32, F16 or Q8_0 (HeadDim a multiple of 32); use DefaultType unless testing
	Budget    int64     // bytes of K/V storage; the cache holds Budget / BlockBytes() blocks
	// Pool, if set, runs Attend on its threads (the model's pool: model.Model.Pool); nil
	// runs it on the calling goroutine. Results do not depend on it.
	Pool *kernel.Pool
}

// BlockBytes is the size of one block: 2 (K and V) · n_layer · block_size · n_head_kv ·
// head_dim · bytes per element of Type (Q8_0: 34 bytes per 32 elements). It returns an error
// for a non-positive dimension or an unsupported type.
func (c PagedConfig) BlockBytes() (int64, error) {
	if c.NLayer < 1 || c.NHeadKV < 1 || c.HeadDim < 1 || c.BlockSize < 0 {
		return 0, fmt.Errorf("kvcache: paged: n_layer %d, n_head_kv %d, head_dim %d, block size %d: all must be positive", c.NLayer, c.NHeadKV, c.HeadDim, c.BlockSize)
	}
	switch c.Type {
	case gguf.TypeF32, gguf.TypeF16:
	case gguf.TypeQ8_0:
		if c.HeadDim%32 != 0 {
			return 0, fmt.Errorf("kvcache: paged: Q8_0 needs head_dim a multiple of 32, got %d", c.HeadDim)
		}
	default:
		return 0, fmt.Errorf("kvcache: paged: storage type %v not supported (F32, F16, Q8_0)", c.Type)
	}
	bs := c.BlockSize
	if bs == 0 {
		bs = DefaultBlockSize
	}
	row, err := c.Type.RowSize(int64(c.NHeadKV) * int64(c.HeadDim))
	if err != nil {
		return 0, fmt.Errorf("kvcache: paged: %w", err)
	}
	b := 2 * int64(c.NLayer) * int64(bs) * row
	if b/2/int64(c.NLayer)/int64(bs) != row {
		return 0, fmt.Errorf("kvcache: paged: block size overflows")
	}
	return b, nil
}

// Paged is the K/V storage of the serving engine: model.KV over the blocks of a Manager.
// Sequence seq's position p lives in block Blocks().Table(seq)[p / BlockSize] at slot
// p % BlockSize; the engine (via sched) gives sequences their tables before Forward.
//
// Layout of block b (bytes, from b·BlockBytes): for each layer il, BlockSize K rows then
// BlockSize V rows, each row n_head_kv·head_dim elements of Type (ggml's row encoding:
// tensor.Quantize), so one layer's K/V of a block is contiguous.
//
// Not safe for concurrent use (Attend uses scratch buffers): the engine goroutine owns it.
type Paged struct {
	cfg      PagedConfig
	m        *Manager
	data     []byte
	rowElems int
	rowBytes int
	blkBytes int
	bs       int

	// Attend's reusable task and scratch: sc holds one block of scores per thread; kf/vf
	// the dequantized rows of a Q8_0 layer.
	at     attnTask
	dq     dequantTask
	sc     []float32
	kf, vf []float32
}

// NewPaged allocates a paged cache of cfg.Budget / BlockBytes blocks and its Manager.
// Errors: bad dimensions or type, or a budget below one block.
func NewPaged(cfg PagedConfig) (*Paged, error) {
	bb, err := cfg.BlockBytes()
	if err != nil {
		return nil, err
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = DefaultBlockSize
	}
	if cfg.Budget < bb {
		return nil, fmt.Errorf("kvcache: paged: budget of %d bytes is below one block (%d bytes)", cfg.Budget, bb)
	}
	n := cfg.Budget / bb
	if n > math.MaxInt32 || n*bb > math.MaxInt {
		return nil, fmt.Errorf("kvcache: paged: budget of %d bytes is too large", cfg.Budget)
	}
	m, err := NewManager(int(n), cfg.BlockSize)
	if err != nil {
		return nil, err
	}
	rowElems := cfg.NHeadKV * cfg.HeadDim
	rowBytes, _ := cfg.Type.RowSize(int64(rowElems))
	p := &Paged{
		cfg:      cfg,
		m:        m,
		data:     residentBytes(n * bb),
		rowElems: rowElems,
		rowBytes: int(rowBytes),
		blkBytes: int(bb),
		bs:       cfg.BlockSize,
	}
	m.SetCopier(p.copyRows)
	return p, nil
}

// copyRows copies the K and V rows of positions 0 … n-1 of block src into block dst, every
// layer (the Manager's copy-on-write of a partly shared block).
func (p *Paged) copyRows(src, dst, n int) {
	for il := 0; il < p.cfg.NLayer; il++ {
		copy(p.rows(dst, il, false, 0, n), p.rows(src, il, false, 0, n))
		copy(p.rows(dst, il, true, 0, n), p.rows(src, il, true, 0, n))
	}
}

// Blocks returns the block manager (give it to sched.New).
func (p *Paged) Blocks() *Manager { return p.m }

// Type returns the storage type of the rows.
func (p *Paged) Type() gguf.Type { return p.cfg.Type }

// Bytes returns the bytes of K/V storage (NumBlocks · BlockBytes ≤ Budget).
func (p *Paged) Bytes() int64 { return int64(len(p.data)) }

// rows returns the bytes of rows slot … slot+n-1 of layer il's K (v=false) or V in block id.
func (p *Paged) rows(id, il int, v bool, slot, n int) []byte {
	off := id*p.blkBytes + il*2*p.bs*p.rowBytes + slot*p.rowBytes
	if v {
		off += p.bs * p.rowBytes
	}
	return p.data[off : off+n*p.rowBytes]
}

func (p *Paged) table(op string, il, seq, pos, n int) []int {
	if il < 0 || il >= p.cfg.NLayer {
		panic(fmt.Sprintf("kvcache: %s: layer %d out of range [0,%d)", op, il, p.cfg.NLayer))
	}
	t := p.m.Table(seq)
	if t == nil {
		panic(fmt.Sprintf("kvcache: %s: sequence %d has no block table", op, seq))
	}
	if pos < 0 || n < 0 || pos+n > len(t)*p.bs {
		panic(fmt.Sprintf("kvcache: %s: sequence %d positions %d…%d beyond its %d blocks of %d", op, seq, pos, pos+n-1, len(t), p.bs))
	}
	return t
}

// Store writes the K and V rows of n tokens of seq at positions pos … pos+n-1 in layer il
// (model.KV). k and v hold n rows of n_head_kv·head_dim float32 (token-major), converted to the
// storage type. It panics if seq has no table covering the positions (an engine bug).
func (p *Paged) Store(il, seq, pos, n int, k, v []float32) {
	t := p.table("Store", il, seq, pos, n)
	re := p.rowElems
	if len(k) < n*re || len(v) < n*re {
		panic(fmt.Sprintf("kvcache: Store: %d rows of %d need %d floats, k has %d, v has %d", n, re, n*re, len(k), len(v)))
	}
	for i := 0; i < n; {
		q := pos + i
		slot := q % p.bs
		cnt := min(n-i, p.bs-slot) // rows in this block
		id := t[q/p.bs]
		// Sizes are exact by construction, so the conversion cannot fail.
		_ = tensor.Quantize(p.cfg.Type, k[i*re:(i+cnt)*re], p.rows(id, il, false, slot, cnt))
		_ = tensor.Quantize(p.cfg.Type, v[i*re:(i+cnt)*re], p.rows(id, il, true, slot, cnt))
		i += cnt
	}
}

// Attend computes causal attention for n query rows of seq at positions pos … pos+n-1 in
// layer il (model.KV): for query head h and its KV head g = h / (NHead/NHeadKV),
// out_h = Σ_j softmax_j(scale · q_h·k_j,g) · v_j,g over positions j = 0 … pos+i, in float32,
// blocks in position order. F16 rows (the default) are read in place, each block widened once
// for all the query heads of its K/V head (kernel.DotF16RowsG, AxpyF16RowsG), with the softmax
// taken over all of a row's scores before the weighted sum of V (as llama.cpp's non-flash
// attention); F32 rows, and Q8_0 rows dequantized first, use an online softmax over the blocks
// (FlashAttention, Dao et al. 2022: a running max and sum rescale the partial output). The
// items — (row, K/V head) for F16, (row, head) otherwise — run in parallel on
// PagedConfig.Pool, each on one thread in a fixed order, so the result is the same for any
// thread count and any batch the row is part of. q and out hold n rows of
// NHead·HeadDim float32. It panics on an engine bug (no table, shape mismatch).
func (p *Paged) Attend(il, seq, pos, n int, q, out []float32, shape kernel.AttnShape) {
	t := p.table("Attend", il, seq, pos, n)
	hd, nh, nkv := shape.HeadDim, shape.NHead, shape.NHeadKV
	if hd != p.cfg.HeadDim || nkv != p.cfg.NHeadKV || nh < nkv || nh%nkv != 0 {
		panic(fmt.Sprintf("kvcache: Attend: shape %+v does not match the cache (n_head_kv %d, head_dim %d)", shape, p.cfg.NHeadKV, p.cfg.HeadDim))
	}
	if len(q) < n*nh*hd || len(out) < n*nh*hd {
		panic(fmt.Sprintf("kvcache: Attend: %d rows of %d need %d floats, q has %d, out has %d", n, nh*hd, n*nh*hd, len(q), len(out)))
	}
	if n == 0 {
		return
	}
	threads := 1
	if p.cfg.Pool != nil {
		threads = p.cfg.Pool.Threads()
	}
	last := pos + n - 1 // last position any query sees
	a := &p.at
	a.p, a.t, a.il, a.pos, a.n, a.q, a.out, a.shape = p, t, il, pos, n, q, out, shape
	a.f32rows = p.cfg.Type != gguf.TypeF16
	a.grouped = !a.f32rows && nh/nkv > 1 && nh/nkv <= maxGroupHeads && !ungroupedAttn
	a.items, a.scLen = n*nh, p.bs
	if !a.f32rows {
		// F16 items keep every score of their row: one row of whole blocks per query head.
		ls := (last/p.bs + 1) * p.bs
		a.scLen = ls
		if a.grouped {
			a.items, a.scLen = n*nkv, nh/nkv*ls
		}
	}
	p.sc = grow(p.sc, threads*a.scLen)
	a.next.Store(0)
	if p.cfg.Type == gguf.TypeQ8_0 {
		nb := last/p.bs + 1
		p.kf = grow(p.kf, nb*p.bs*p.rowElems)
		p.vf = grow(p.vf, nb*p.bs*p.rowElems)
		p.dq = dequantTask{p: p, t: t, il: il, last: last}
		if p.cfg.Pool != nil {
			p.cfg.Pool.Parallel(nb, 1, &p.dq)
		} else {
			p.dq.Run(0, 0, nb)
		}
	}
	if p.cfg.Pool != nil && a.items > 1 {
		p.cfg.Pool.Parallel(threads, 1, a)
	} else {
		a.Run(0, 0, 1)
	}
	a.t, a.q, a.out = nil, nil, nil // do not keep the caller's buffers alive
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// residentBytes allocates n zero bytes and touches every page, so the whole K/V budget is
// resident from the start (as vLLM reserves its cache up front): memory use is then flat
// over a server's life instead of creeping up as never-used blocks are handed out.
func residentBytes(n int64) []byte {
	b := make([]byte, n)
	const page = 4096
	for i := int64(0); i < n; i += page {
		b[i] = 0
	}
	return b
}
