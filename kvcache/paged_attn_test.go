package kvcache

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
)

// newPool returns a started pool closed at the end of the test. It waits briefly before
// handing it out: the pool's workers read the generation counter only once they run, so a
// Parallel call issued before a worker goroutine first runs can be missed by it (seen on this
// loaded machine; the engine's pool is created long before its first use).
func newPool(t testing.TB, n int) *kernel.Pool {
	p := kernel.NewPool(n)
	t.Cleanup(p.Close)
	time.Sleep(20 * time.Millisecond)
	return p
}

// fillSeq admits seq with total positions and stores random K/V rows in every layer;
// it returns layer 0's rows as stored (rounded by the type).
func fillSeq(t testing.TB, p *Paged, rng *rand.Rand, seq, total int) (k, v [][]float32) {
	t.Helper()
	if _, err := p.Blocks().Admit(seq, seqTokens(int32(seq)*100000, total)); err != nil {
		t.Fatal(err)
	}
	re := p.cfg.NHeadKV * p.cfg.HeadDim
	kf, vf := make([]float32, total*re), make([]float32, total*re)
	for il := 0; il < p.cfg.NLayer; il++ {
		for i := range kf {
			kf[i] = float32(rng.NormFloat64())
			vf[i] = float32(rng.NormFloat64())
		}
		p.Store(il, seq, 0, total, kf, vf)
		if il == 0 {
			for j := 0; j < total; j++ {
				k = append(k, roundTrip(p.cfg.Type, kf[j*re:(j+1)*re]))
				v = append(v, roundTrip(p.cfg.Type, vf[j*re:(j+1)*re]))
			}
		}
	}
	return k, v
}

// The pooled Attend gives bit-identical results for every thread count (each (row, head)
// item is computed by one thread in a fixed order) and agrees with float64 attention, on a
// Llama-like head shape (head_dim 64, 4 query heads per K/V head) with prefill chunks that
// start mid-block and long contexts crossing many blocks.
func TestPagedAttendPoolDeterministic(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeF16, gguf.TypeF32, gguf.TypeQ8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			sh := kernel.AttnShape{NHead: 8, NHeadKV: 2, HeadDim: 64}
			sh.Scale = float32(1 / math.Sqrt(float64(sh.HeadDim)))
			const total = 150
			var ref []float32
			for _, threads := range []int{0, 1, 2, 3} {
				var pool *kernel.Pool
				if threads > 0 {
					pool = newPool(t, threads)
				}
				cfg := PagedConfig{NLayer: 2, NHeadKV: sh.NHeadKV, HeadDim: sh.HeadDim, BlockSize: 16, Type: typ, Pool: pool}
				bb, _ := cfg.BlockBytes()
				cfg.Budget = 40 * bb
				p, err := NewPaged(cfg)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(11, uint64(typ)))
				fillSeq(t, p, rng, 1, 40) // another sequence first, so tables are not 0, 1, 2, …
				k, v := fillSeq(t, p, rng, 2, total)
				var all []float32
				for _, c := range [][2]int{{0, 1}, {149, 1}, {37, 50}, {0, 150}} {
					pos, n := c[0], c[1]
					q := make([]float32, n*sh.NHead*sh.HeadDim)
					for i := range q {
						q[i] = float32(rng.NormFloat64()) * 3
					}
					out := make([]float32, len(q))
					p.Attend(0, 2, pos, n, q, out, sh)
					want := naiveAttend(pos, n, q, k, v, sh)
					for i := range out {
						if d := math.Abs(float64(out[i]) - want[i]); d > 2e-5*(1+math.Abs(want[i])) {
							t.Fatalf("threads %d pos %d n %d: out[%d] = %g, want %g", threads, pos, n, i, out[i], want[i])
						}
					}
					all = append(all, out...)
				}
				if ref == nil {
					ref = all
					continue
				}
				for i := range all {
					if math.Float32bits(all[i]) != math.Float32bits(ref[i]) {
						t.Fatalf("threads %d: out[%d] = %g, without a pool %g (must be bit-identical)", threads, i, all[i], ref[i])
					}
				}
			}
		})
	}
}

// BenchmarkPagedAttend: decode (one query row) at 1024 positions and a 512-row prefill chunk
// after 512 cached positions, Llama-3.2-1B heads (32 query, 8 K/V, head_dim 64), F16, with
// and without a 2-thread pool.
func BenchmarkPagedAttend(b *testing.B) {
	sh := kernel.AttnShape{NHead: 32, NHeadKV: 8, HeadDim: 64, Scale: 0.125}
	for _, threads := range []int{0, 2} {
		var pool *kernel.Pool
		if threads > 0 {
			pool = newPool(b, threads)
		}
		p, err := NewPaged(PagedConfig{NLayer: 1, NHeadKV: 8, HeadDim: 64, Type: DefaultType, Budget: 64 << 20, Pool: pool})
		if err != nil {
			b.Fatal(err)
		}
		fillSeq(b, p, rand.New(rand.NewPCG(1, 1)), 1, 1024)
		for _, c := range []struct {
			name   string
			pos, n int
		}{{"decode1024", 1023, 1}, {"prefill512at512", 512, 512}} {
			q := make([]float32, c.n*32*64)
			for i := range q {
				q[i] = float32(i%7) * 0.1
			}
			out := make([]float32, len(q))
			b.Run(c.name+"/threads="+string(rune('0'+threads)), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					p.Attend(0, 1, c.pos, c.n, q, out, sh)
				}
			})
		}
	}
}

// TestPagedAttendGroupedSameBits: the grouped items (one per row and K/V head, K/V widened once
// for the group's query heads) give the same bits as one item per query head, for groups of 2,
// 4, 5 and 7 heads (the four-head kernel plus the rest) and chunks that start mid-block.
func TestPagedAttendGroupedSameBits(t *testing.T) {
	for _, heads := range [][2]int{{4, 2}, {8, 2}, {10, 2}, {14, 2}} {
		sh := kernel.AttnShape{NHead: heads[0], NHeadKV: heads[1], HeadDim: 64, Scale: 0.125}
		cfg := PagedConfig{NLayer: 1, NHeadKV: sh.NHeadKV, HeadDim: sh.HeadDim, Type: DefaultType, Pool: newPool(t, 2)}
		bb, _ := cfg.BlockBytes()
		cfg.Budget = 20 * bb
		p, err := NewPaged(cfg)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(71, uint64(heads[0])))
		fillSeq(t, p, rng, 1, 100)
		for _, c := range [][2]int{{0, 1}, {99, 1}, {21, 60}} {
			q := make([]float32, c[1]*sh.NHead*sh.HeadDim)
			for i := range q {
				q[i] = float32(rng.NormFloat64()) * 2
			}
			grouped, single := make([]float32, len(q)), make([]float32, len(q))
			p.Attend(0, 1, c[0], c[1], q, grouped, sh)
			ungroupedAttn = true
			p.Attend(0, 1, c[0], c[1], q, single, sh)
			ungroupedAttn = false
			for i := range grouped {
				if math.Float32bits(grouped[i]) != math.Float32bits(single[i]) {
					t.Fatalf("heads %v chunk %v: out[%d] = %g grouped, %g per head", heads, c, i, grouped[i], single[i])
				}
			}
		}
	}
}
