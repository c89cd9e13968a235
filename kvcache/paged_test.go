package kvcache

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
	"github.com/golem-llm/golem/tensor"
)

// naiveAttend is causal GQA attention in float64 with a plain two-pass softmax, over K/V
// rows kv[pos] (n_head_kv·head_dim each).
func naiveAttend(pos, n int, q []float32, k, v [][]float32, sh kernel.AttnShape) []float64 {
	hd, nh := sh.HeadDim, sh.NHead
	gq := nh / sh.NHeadKV
	out := make([]float64, n*nh*hd)
	for i := 0; i < n; i++ {
		for h := 0; h < nh; h++ {
			g := h / gq
			qh := q[(i*nh+h)*hd:]
			s := make([]float64, pos+i+1)
			mx := math.Inf(-1)
			for j := range s {
				var d float64
				for x := 0; x < hd; x++ {
					d += float64(qh[x]) * float64(k[j][g*hd+x])
				}
				s[j] = d * float64(sh.Scale)
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			for j := range s {
				for x := 0; x < hd; x++ {
					out[(i*nh+h)*hd+x] += s[j] / sum * float64(v[j][g*hd+x])
				}
			}
		}
	}
	return out
}

// roundTrip returns x as stored in type typ and read back.
func roundTrip(typ gguf.Type, x []float32) []float32 {
	b := make([]byte, mustRowSize(typ, len(x)))
	if err := tensor.Quantize(typ, x, b); err != nil {
		panic(err)
	}
	y := make([]float32, len(x))
	if err := tensor.Dequantize(typ, b, y); err != nil {
		panic(err)
	}
	return y
}

func mustRowSize(typ gguf.Type, n int) int {
	s, err := typ.RowSize(int64(n))
	if err != nil {
		panic(err)
	}
	return int(s)
}

// smallAttn is the attention shape of the paged tests (4 query heads over 2 K/V heads of 32)
// and a cache config for it: 2 layers, blocks of 4 positions, rows of typ, no budget yet.
func smallAttn(typ gguf.Type) (kernel.AttnShape, PagedConfig) {
	sh := kernel.AttnShape{NHead: 4, NHeadKV: 2, HeadDim: 32}
	sh.Scale = float32(1 / math.Sqrt(float64(sh.HeadDim)))
	return sh, PagedConfig{NLayer: 2, NHeadKV: sh.NHeadKV, HeadDim: sh.HeadDim, BlockSize: 4, Type: typ}
}

func TestPagedAttendMatchesNaive(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(typ)))
			sh, cfg := smallAttn(typ)
			bb, err := cfg.BlockBytes()
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(2 * 2 * 4 * mustRowSize(typ, 64)); bb != want {
				t.Fatalf("block bytes %d, want %d", bb, want)
			}
			cfg.Budget = 12*bb + bb/2 // 12 whole blocks
			p, err := NewPaged(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if p.Blocks().NumBlocks() != 12 || p.Bytes() != 12*bb {
				t.Fatalf("blocks %d bytes %d", p.Blocks().NumBlocks(), p.Bytes())
			}
			// Two sequences, interleaved blocks, so tables are not contiguous.
			const total = 21 // positions 0..20: 6 blocks of 4 (last partial)
			m := p.Blocks()
			m.Admit(7, seqTokens(0, total))
			m.Admit(9, seqTokens(1000, total))
			re := sh.NHeadKV * sh.HeadDim
			rows := func() ([][]float32, [][]float32) {
				k, v := make([][]float32, total), make([][]float32, total)
				for j := range k {
					k[j], v[j] = make([]float32, re), make([]float32, re)
					for x := range k[j] {
						k[j][x] = float32(rng.NormFloat64())
						v[j][x] = float32(rng.NormFloat64())
					}
				}
				return k, v
			}
			flat := func(r [][]float32) []float32 {
				var f []float32
				for _, x := range r {
					f = append(f, x...)
				}
				return f
			}
			k7, v7 := rows()
			k9, v9 := rows()
			for il := 0; il < 2; il++ {
				// Store in uneven chunks crossing block boundaries.
				for _, c := range [][2]int{{0, 3}, {3, 7}, {10, 1}, {11, 10}} {
					p.Store(il, 7, c[0], c[1], flat(k7[c[0]:c[0]+c[1]]), flat(v7[c[0]:c[0]+c[1]]))
					p.Store(il, 9, c[0], c[1], flat(k9[c[0]:c[0]+c[1]]), flat(v9[c[0]:c[0]+c[1]]))
				}
			}
			// Reference over the values as stored (rounding by the storage type is not the
			// attention's error).
			sk, sv := make([][]float32, total), make([][]float32, total)
			for j := range sk {
				sk[j], sv[j] = roundTrip(typ, k7[j]), roundTrip(typ, v7[j])
			}
			for _, c := range [][2]int{{0, 1}, {5, 3}, {20, 1}, {0, 21}} {
				pos, n := c[0], c[1]
				q := make([]float32, n*sh.NHead*sh.HeadDim)
				for i := range q {
					q[i] = float32(rng.NormFloat64()) * 2
				}
				out := make([]float32, len(q))
				p.Attend(1, 7, pos, n, q, out, sh)
				want := naiveAttend(pos, n, q, sk, sv, sh)
				for i := range out {
					if d := math.Abs(float64(out[i]) - want[i]); d > 2e-5*(1+math.Abs(want[i])) {
						t.Fatalf("pos %d n %d: out[%d] = %g, want %g", pos, n, i, out[i], want[i])
					}
				}
			}
			// Storage error stays within the type's precision of the exact (unrounded) result.
			q := make([]float32, sh.NHead*sh.HeadDim)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			out := make([]float32, len(q))
			p.Attend(0, 9, 20, 1, q, out, sh)
			// Layer 0 of seq 9 holds k9/v9 as well.
			exact := naiveAttend(20, 1, q, k9, v9, sh)
			tol := map[gguf.Type]float64{gguf.TypeF32: 1e-5, gguf.TypeF16: 3e-3, gguf.TypeQ8_0: 3e-2}[typ]
			for i := range out {
				if d := math.Abs(float64(out[i]) - exact[i]); d > tol {
					t.Fatalf("seq 9: out[%d] = %g, exact %g (|d| %g > %g)", i, out[i], exact[i], d, tol)
				}
			}
		})
	}
}

func TestPagedConfigErrors(t *testing.T) {
	ok := PagedConfig{NLayer: 2, NHeadKV: 2, HeadDim: 64, Type: DefaultType, Budget: 1 << 20}
	if _, err := NewPaged(ok); err != nil {
		t.Fatal(err)
	}
	bb, _ := ok.BlockBytes()
	if want := int64(2 * 2 * DefaultBlockSize * 2 * 64 * 2); bb != want {
		t.Fatalf("F16 block bytes %d, want %d", bb, want)
	}
	for name, c := range map[string]PagedConfig{
		"zero layers": {NHeadKV: 2, HeadDim: 64, Type: DefaultType, Budget: 1 << 20},
		"q4_0":        {NLayer: 1, NHeadKV: 2, HeadDim: 64, Type: gguf.TypeQ4_0, Budget: 1 << 20},
		"q8_0 dim 40": {NLayer: 1, NHeadKV: 2, HeadDim: 40, Type: gguf.TypeQ8_0, Budget: 1 << 20},
		"tiny budget": {NLayer: 1, NHeadKV: 2, HeadDim: 64, Type: DefaultType, Budget: 100},
	} {
		if _, err := NewPaged(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func BenchmarkPagedAttendDecode(b *testing.B) {
	sh := kernel.AttnShape{NHead: 32, NHeadKV: 8, HeadDim: 64, Scale: 0.125}
	p, err := NewPaged(PagedConfig{NLayer: 1, NHeadKV: 8, HeadDim: 64, Type: DefaultType, Budget: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	const ctx = 1024
	p.Blocks().Admit(1, seqTokens(0, ctx))
	kv := make([]float32, ctx*8*64)
	for i := range kv {
		kv[i] = float32(i%13) * 0.01
	}
	p.Store(0, 1, 0, ctx, kv, kv)
	q := make([]float32, 32*64)
	out := make([]float32, len(q))
	b.ReportAllocs()
	for b.Loop() {
		p.Attend(0, 1, ctx-1, 1, q, out, sh)
	}
}

// A prompt that repeats most of a released sequence gets that sequence's K/V copied into its own
// last block: attention over the copy is bit-identical to attention over the original.
func TestPagedPartialBlockCopy(t *testing.T) {
	for _, typ := range []gguf.Type{gguf.TypeF32, gguf.TypeF16, gguf.TypeQ8_0} {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(5, uint64(typ)))
			sh, cfg := smallAttn(typ)
			bb, _ := cfg.BlockBytes()
			cfg.Budget = 16 * bb
			p, err := NewPaged(cfg)
			if err != nil {
				t.Fatal(err)
			}
			m := p.Blocks()
			const total = 23 // 5 full blocks and 3 positions
			toks := seqTokens(0, total)
			re := sh.NHeadKV * sh.HeadDim
			k, v := make([]float32, total*re), make([]float32, total*re)
			for i := range k {
				k[i], v[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			}
			if _, err := m.Admit(7, toks); err != nil {
				t.Fatal(err)
			}
			for il := 0; il < cfg.NLayer; il++ {
				p.Store(il, 7, 0, total, k, v)
			}
			m.Commit(7, toks, total)
			q := make([]float32, sh.NHead*sh.HeadDim)
			for i := range q {
				q[i] = float32(rng.NormFloat64())
			}
			want := make([][]float32, cfg.NLayer)
			for il := range want {
				want[il] = make([]float32, len(q))
				p.Attend(il, 7, total-1, 1, q, want[il], sh)
			}
			src := m.Table(7)[5]
			m.Release(7)

			// The same 23 tokens: 5 blocks shared, 2 positions copied, the last recomputed.
			shared, err := m.Admit(8, toks)
			if err != nil || shared != total-1 {
				t.Fatalf("admit: shared %d, %v", shared, err)
			}
			dst := m.Table(8)[5]
			if dst == src {
				t.Fatal("the copy went to its own source block")
			}
			for il := 0; il < cfg.NLayer; il++ {
				for _, isV := range []bool{false, true} {
					if got, w := p.rows(dst, il, isV, 0, 2), p.rows(src, il, isV, 0, 2); !slices.Equal(got, w) {
						t.Fatalf("layer %d (V %v): copied rows differ", il, isV)
					}
				}
				p.Store(il, 8, total-1, 1, k[(total-1)*re:], v[(total-1)*re:])
				out := make([]float32, len(q))
				p.Attend(il, 8, total-1, 1, q, out, sh)
				if !slices.Equal(out, want[il]) {
					t.Fatalf("layer %d: attention over the copy differs from the original", il)
				}
			}
			if err := m.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
