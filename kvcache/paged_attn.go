package kvcache

import (
	"math"
	"sync/atomic"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
)

// attnTask is one Attend call split into items (query row i, and query head h or, for F16
// rows, K/V head g with all its query heads). Each item is
// computed start to finish by one thread, in a fixed order, so the output never depends on
// the thread count or on which thread took the item. Threads take items from a shared
// counter (dynamic balance: causal rows cost more the later they are, and a busy machine
// may stall one thread).
type attnTask struct {
	p       *Paged
	t       []int // block table
	il      int
	pos, n  int
	q, out  []float32
	shape   kernel.AttnShape
	items   int
	next    atomic.Int64
	f32rows bool // K/V read as float32 rows (F32 in place, Q8_0 dequantized into kf/vf)
	grouped bool // items are (row, K/V head) over all the head's query heads (F16 rows)
	scLen   int  // scores scratch per thread
}

// maxGroupHeads bounds the query heads per K/V head that one grouped item handles.
const maxGroupHeads = 64

// ungroupedAttn makes Attend use one item per query head (tests: the grouped items must give
// the same bits).
var ungroupedAttn = false

func (a *attnTask) Run(thread, _, _ int) {
	sc := a.p.sc[thread*a.scLen : (thread+1)*a.scLen]
	for {
		k := int(a.next.Add(1) - 1)
		if k >= a.items {
			return
		}
		// Head-major numbering: neighbouring items share a K/V head, and consecutive items
		// of one head walk the same K/V rows while they are in cache.
		h, i := k/a.n, k%a.n
		switch {
		case a.f32rows:
			a.item(i, h, sc)
		case a.grouped: // h is the K/V head
			G := a.shape.NHead / a.shape.NHeadKV
			a.itemF16(i, h*G, G, sc)
		default:
			a.itemF16(i, h, 1, sc)
		}
	}
}

// itemF16 computes out for query row i and the G query heads h0 … h0+G-1, which share one
// K/V head (F16 rows), in two passes: the scores s_j = scale·(q_h·k_j) of every position
// j ≤ pos+i (kernel.DotF16RowsG, block by block, each K block widened once for the G heads), then
// per head the max m and e_j = exp(s_j − m) with their sum l (kernel.ExpShift over all
// positions at once), then acc = Σ_j e_j·v_j (kernel.AxpyF16RowsG) and out = acc / l — the
// arithmetic of llama.cpp's non-flash attention (softmax, then the weighted sum of V). Per head
// the operations and their order do not depend on G, so grouped and per-head items agree bit
// for bit.
func (a *attnTask) itemF16(i, h0, G int, sc []float32) {
	p := a.p
	hd, nh := a.shape.HeadDim, a.shape.NHead
	kvh := h0 / (nh / a.shape.NHeadKV)
	qg := a.q[(i*nh+h0)*hd : (i*nh+h0+G)*hd]
	accg := a.out[(i*nh+h0)*hd : (i*nh+h0+G)*hd]
	clear(accg)
	L := a.pos + i + 1 // positions this row sees
	ls := a.scLen / G  // stride of one head's scores (≥ L)
	off := kvh * hd * 2
	nb := (L + p.bs - 1) / p.bs
	for b := 0; b < nb; b++ {
		m := min(p.bs, L-b*p.bs)
		kernel.DotF16RowsG(qg, hd, p.rows(a.t[b], a.il, false, 0, m)[off:], p.rowBytes, m, sc[b*p.bs:], ls)
	}
	var sum [maxGroupHeads]float32
	for h := 0; h < G; h++ {
		s := sc[h*ls : h*ls+L]
		sum[h] = kernel.ExpShift(s, kernel.ScaleMax(s, a.shape.Scale))
	}
	for b := 0; b < nb; b++ {
		m := min(p.bs, L-b*p.bs)
		kernel.AxpyF16RowsG(accg, hd, sc[b*p.bs:], ls, m, p.rows(a.t[b], a.il, true, 0, m)[off:], p.rowBytes)
	}
	for h := 0; h < G; h++ {
		inv := 1 / sum[h]
		acc := accg[h*hd : (h+1)*hd]
		for x := range acc {
			acc[x] *= inv
		}
	}
}

// item computes out for query row i, head h: online softmax over the blocks of positions
// 0 … pos+i (FlashAttention, Dao et al. 2022): per block the scores s_j = scale·q·k_j, a
// running max m and sum l; when the max grows, l and the accumulator are rescaled by
// exp(m_old − m_new); then acc += Σ_j exp(s_j − m)·v_j and finally out = acc / l.
func (a *attnTask) item(i, h int, sc []float32) {
	p := a.p
	hd, nh := a.shape.HeadDim, a.shape.NHead
	g := h / (nh / a.shape.NHeadKV)
	qh := a.q[(i*nh+h)*hd : (i*nh+h+1)*hd]
	acc := a.out[(i*nh+h)*hd : (i*nh+h+1)*hd]
	clear(acc)
	qpos := a.pos + i
	mx := float32(math.Inf(-1))
	var sum float32
	for b := 0; b*p.bs <= qpos; b++ {
		m := min(p.bs, qpos+1-b*p.bs)
		s := sc[:m]
		if a.f32rows {
			k, v := a.f32Block(b, m)
			for j := range s {
				s[j] = kernel.DotF32(qh, k[j*p.rowElems+g*hd:j*p.rowElems+(g+1)*hd])
			}
			a.scaleExp(s, &mx, &sum, acc)
			for j, w := range s {
				vj := v[j*p.rowElems+g*hd : j*p.rowElems+(g+1)*hd]
				for x, vv := range vj {
					acc[x] += w * vv
				}
			}
			continue
		}
		off := g * hd * 2
		kernel.DotF16Rows(qh, p.rows(a.t[b], a.il, false, 0, m)[off:], p.rowBytes, s)
		a.scaleExp(s, &mx, &sum, acc)
		kernel.AxpyF16Rows(acc, s, p.rows(a.t[b], a.il, true, 0, m)[off:], p.rowBytes)
	}
	inv := 1 / sum
	for x := range acc {
		acc[x] *= inv
	}
}

// scaleExp turns the raw dots s of one block into softmax weights exp(scale·s_j − m) with
// the running max m updated (rescaling sum and acc when it grows) and adds them to sum.
func (a *attnTask) scaleExp(s []float32, mx, sum *float32, acc []float32) {
	bmax := float32(math.Inf(-1))
	for j := range s {
		s[j] *= a.shape.Scale
		bmax = max(bmax, s[j])
	}
	if bmax > *mx {
		if *sum != 0 { // the first block has nothing to rescale
			r := [1]float32{*mx}
			kernel.ExpShift(r[:], bmax)
			*sum *= r[0]
			for x := range acc {
				acc[x] *= r[0]
			}
		}
		*mx = bmax
	}
	*sum += kernel.ExpShift(s, *mx)
}

// f32Block returns the first m float32 K and V rows of block b (rows of rowElems floats).
func (a *attnTask) f32Block(b, m int) (k, v []float32) {
	p := a.p
	if p.cfg.Type == gguf.TypeF32 {
		return kernel.F32View(p.rows(a.t[b], a.il, false, 0, m)), kernel.F32View(p.rows(a.t[b], a.il, true, 0, m))
	}
	lo, hi := b*p.bs*p.rowElems, (b*p.bs+m)*p.rowElems
	return p.kf[lo:hi], p.vf[lo:hi]
}

// dequantTask widens the K/V rows of blocks [lo, hi) of one layer into kf/vf (Q8_0 cache).
type dequantTask struct {
	p    *Paged
	t    []int
	il   int
	last int // last position needed
}

func (d *dequantTask) Run(_, lo, hi int) {
	p := d.p
	re := p.rowElems
	for b := lo; b < hi; b++ {
		cnt := min(p.bs, d.last+1-b*p.bs)
		dst := b * p.bs * re
		// Sizes are exact by construction, so the conversion cannot fail.
		_ = kernel.DequantizeRow(p.cfg.Type, p.rows(d.t[b], d.il, false, 0, cnt), p.kf[dst:dst+cnt*re])
		_ = kernel.DequantizeRow(p.cfg.Type, p.rows(d.t[b], d.il, true, 0, cnt), p.vf[dst:dst+cnt*re])
	}
}
