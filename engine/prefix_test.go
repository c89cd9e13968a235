package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/sample"
	"github.com/golem-llm/golem/testmodel"
)

// modelFor returns a model whose head size suits K/V type kvt: tiny-llama (head_dim 16) for
// f16/f32, a generated "small" llama (head_dim 64) for q8_0, which needs a multiple of 32.
func modelFor(t *testing.T, kvt string) *golem.Model {
	t.Helper()
	if kvt != "q8_0" {
		return load(t, "../testdata/models/tiny-llama-q8_0.gguf")
	}
	vocab, err := gguf.Open("../testdata/models/tiny-llama-q8_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer vocab.Close()
	cfg := testmodel.Shapes["small"]
	cfg.Type, cfg.Seed = "Q8_0", 1
	path, err := testmodel.Generate(t.TempDir(), "small-q8_0", cfg, vocab)
	if err != nil {
		t.Fatal(err)
	}
	return load(t, path)
}

// coldRun runs r alone on a fresh engine (empty prefix cache) with cfg.
func coldRun(t *testing.T, m *golem.Model, cfg engine.Config, r engine.Request) outcome {
	t.Helper()
	e := newEngine(t, m, cfg)
	o := run(t, e, r)
	e.Close()
	return o
}

func sameOutcome(t *testing.T, what string, got, want outcome) {
	t.Helper()
	if !equalTokens(got.tokens, want.tokens) {
		t.Errorf("%s: tokens %v, cold %v", what, got.tokens, want.tokens)
		return
	}
	for i := range want.logprobs {
		if got.logprobs[i] != want.logprobs[i] {
			t.Errorf("%s: token %d logprob %v, cold %v", what, i, got.logprobs[i], want.logprobs[i])
			return
		}
	}
	if got.final.FinishReason != want.final.FinishReason {
		t.Errorf("%s: finish %q, cold %q", what, got.final.FinishReason, want.final.FinishReason)
	}
}

// Prompts of lengths around block boundaries, repeated, prefixes of each other and chat
// continuations, run one after another on one engine (prefix and partial-block reuse), give
// exactly the tokens and log-probabilities of a cold run, for every K/V type and a few block
// sizes.
func TestEnginePrefixReuseMatchesCold(t *testing.T) {
	for _, kvt := range []string{"f16", "f32", "q8_0"} {
		m := modelFor(t, kvt)
		for _, bs := range []int{1, 4, 16} {
			t.Run(fmt.Sprintf("%s/bs%d", kvt, bs), func(t *testing.T) {
				cfg := engine.Config{Context: 160, BlockSize: bs, KVType: kvt, MaxSeqs: 4, MaxBatchTokens: 64}
				rng := rand.New(rand.NewPCG(11, uint64(bs)))
				base := prompts(m, 1, rng)[0]
				for len(base) < 3*bs+2 || len(base) < 40 {
					base = append(base, int32(3+rng.IntN(m.Net().NVocab-3)))
				}
				hot := newEngine(t, m, cfg)
				mk := func(p []int32, i int) engine.Request {
					r := engine.Request{Prompt: p, MaxTokens: 6, IgnoreEOS: true, Logprobs: true}
					if i%2 == 1 {
						r.Sampling = sample.Params{Temperature: 0.8, TopK: 20, RepeatPenalty: 1.2, RepeatLastN: 32, Seed: uint64(i)}
					}
					return r
				}
				lens := []int{1, 2, bs - 1, bs, bs + 1, 2*bs - 1, 2 * bs, 2*bs + 1, 3 * bs, len(base)}
				i := 0
				var first outcome
				for _, n := range lens {
					if n < 1 || n > len(base) {
						continue
					}
					for rep := 0; rep < 2; rep++ { // each prompt twice: the second is a full repeat
						r := mk(base[:n], i)
						got := run(t, hot, r)
						sameOutcome(t, fmt.Sprintf("prefix %d rep %d", n, rep), got, coldRun(t, m, cfg, r))
						if rep == 1 && got.final.Usage.CachedTokens != n-1 {
							t.Errorf("prefix %d repeated: %d cached tokens, want %d", n, got.final.Usage.CachedTokens, n-1)
						}
						if n == len(base) && rep == 0 {
							first = got
						}
						i++
					}
				}
				// Chat continuation: the prompt plus its output, plus one more token, twice.
				conv := append(append([]int32(nil), base...), first.tokens...)
				for _, extra := range [][]int32{nil, {5}, {5, 6, 7}} {
					p := append(append([]int32(nil), conv...), extra...)
					r := mk(p, i)
					sameOutcome(t, fmt.Sprintf("continuation +%d", len(extra)), run(t, hot, r), coldRun(t, m, cfg, r))
					i++
				}
			})
		}
	}
}

// Many requests sharing prefixes that diverge inside blocks, submitted concurrently to an
// engine with a small KV budget (preemption) and some cancelled, give the cold run's outputs.
func TestEnginePrefixReuseConcurrentMatchesCold(t *testing.T) {
	for _, kvt := range []string{"f16", "q8_0"} {
		t.Run(kvt, func(t *testing.T) {
			m := modelFor(t, kvt)
			const bs = 4
			rng := rand.New(rand.NewPCG(21, 22))
			base := prompts(m, 1, rng)[0]
			for len(base) < 30 {
				base = append(base, int32(3+rng.IntN(m.Net().NVocab-3)))
			}
			var reqs []engine.Request
			for i := 0; i < 24; i++ {
				n := 1 + rng.IntN(len(base))
				p := append([]int32(nil), base[:n]...)
				for k := rng.IntN(3); k > 0; k-- {
					p = append(p, int32(3+rng.IntN(50)))
				}
				r := engine.Request{Prompt: p, MaxTokens: 4 + rng.IntN(10), IgnoreEOS: true, Logprobs: true}
				if i%3 == 0 {
					r.Sampling = sample.Params{Temperature: 0.9, TopP: 0.9, Seed: uint64(i)}
				}
				reqs = append(reqs, r)
			}
			coldCfg := engine.Config{Context: 64, BlockSize: bs, KVType: kvt, MaxSeqs: 1, MaxBatchTokens: 64}
			want := make([]outcome, len(reqs))
			for i, r := range reqs {
				want[i] = coldRun(t, m, coldCfg, r)
			}
			bb := engine.KVBytesPerToken(m.Net(), kvt) * bs
			for _, kvBlocks := range []int64{16, 40} {
				e := newEngine(t, m, engine.Config{Context: 64, BlockSize: bs, KVType: kvt, MaxSeqs: 6, MaxBatchTokens: 16, KVMemory: kvBlocks * bb})
				for round := 0; round < 2; round++ {
					got := make([]outcome, len(reqs))
					cancelled := make([]bool, len(reqs))
					var wg sync.WaitGroup
					for i, r := range reqs {
						wg.Add(1)
						ctx, cancel := context.WithCancel(context.Background())
						if (i+round)%5 == 4 {
							cancel()
							cancelled[i] = true
						}
						midway := (i+round)%5 == 2 // cancelled after its first token
						go func() {
							defer wg.Done()
							defer cancel()
							ch, err := e.Submit(ctx, r)
							if err != nil {
								t.Error(err)
								return
							}
							if midway {
								for ev := range ch {
									if !ev.Done {
										cancel()
									}
								}
								got[i].final.FinishReason = "abort"
								return
							}
							got[i] = collect(t, ch)
						}()
					}
					wg.Wait()
					for i := range reqs {
						if cancelled[i] || got[i].final.FinishReason == "abort" {
							continue
						}
						if u := got[i].final.Usage; u.CachedTokens < 0 || u.CachedTokens > u.PromptTokens {
							t.Errorf("request %d: %d cached of %d prompt tokens (%d preemptions)", i, u.CachedTokens, u.PromptTokens, u.Preemptions)
						}
						sameOutcome(t, fmt.Sprintf("blocks %d round %d request %d (len %d)", kvBlocks, round, i, len(reqs[i].Prompt)), got[i], want[i])
					}
				}
				st := e.Stats()
				t.Logf("kv blocks %d: preemptions %d, prefix hits %d/%d", kvBlocks, st.Preemptions, st.PrefixHits, st.PrefixQueries)
				if st.KVBlocksUsed != 0 {
					t.Errorf("blocks used after the run: %+v", st)
				}
			}
		})
	}
}

// Requests that attach to a prefix another request is still computing report it as cached once
// they run, although at their admission most of it was still in flight.
func TestEngineInFlightPrefixReportedCached(t *testing.T) {
	m := load(t, "../testdata/models/tiny-llama-q8_0.gguf")
	rng := rand.New(rand.NewPCG(31, 32))
	base := prompts(m, 1, rng)[0]
	for len(base) < 40 {
		base = append(base, int32(3+rng.IntN(m.Net().NVocab-3)))
	}
	base = base[:40] // 10 blocks of 4
	e := newEngine(t, m, engine.Config{Context: 64, BlockSize: 4, MaxSeqs: 6, MaxBatchTokens: 16})
	const n = 4
	outs := make([]outcome, n)
	var wg sync.WaitGroup
	for i := range n {
		p := append(slices.Clone(base), int32(100+i), int32(200+i), int32(300+i))
		ch, err := e.Submit(context.Background(), engine.Request{Prompt: p, MaxTokens: 2, IgnoreEOS: true})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); outs[i] = collect(t, ch) }()
	}
	wg.Wait()
	total := 0
	for i, o := range outs {
		if c := o.final.Usage.CachedTokens; c != 0 && c != 40 {
			t.Errorf("request %d: %d cached tokens, want 0 (it computed the prefix) or 40", i, c)
		}
		total += o.final.Usage.CachedTokens
	}
	if total != (n-1)*40 {
		t.Errorf("%d cached tokens in all, want %d: one request computes the prefix, the others share it", total, (n-1)*40)
	}
}
