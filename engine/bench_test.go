package engine_test

// Serving benchmarks on a Llama-3.2-1B-shape Q8_0 model (random weights, Llama 3 vocabulary),
// the shape issues 4 and 7 measure. They are Benchmark functions only, so the default test
// run never touches the 1.3 GB model. Run one at a time, e.g.
//
//	go test ./engine -run '^$' -bench ServeDecode -benchtime 1x -timeout 60m
//
// The model comes from $GOLEM_BENCH_MODEL; when that is unset it is
// $TMPDIR/golem-bench/llama-3.2-1b-q8_0.gguf, written by package testmodel on first use (a
// minute or two; never commit it). Threads: $GOLEM_BENCH_THREADS, default 2. Each benchmark
// logs its figures (b.Logf) and reports them as metrics; with -benchtime Nx it repeats N times
// and reports medians.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/testmodel"
)

// benchVocab is the Llama 3 (BPE) vocabulary the bench model is written with.
const benchVocab = "../tokenizer/testdata/ggml-vocab-llama-bpe.gguf"

func benchModel(b *testing.B) *golem.Model {
	b.Helper()
	path := os.Getenv("GOLEM_BENCH_MODEL")
	if path == "" {
		path = filepath.Join(os.TempDir(), "golem-bench", "llama-3.2-1b-q8_0.gguf")
	}
	if _, err := os.Stat(path); err != nil {
		vocab, err := gguf.Open(benchVocab)
		if err != nil {
			b.Fatal(err)
		}
		defer vocab.Close()
		cfg := testmodel.Shapes["llama-3.2-1b"]
		cfg.Type, cfg.Seed = "Q8_0", 1
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := testmodel.WriteFile(path, cfg, vocab); err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote %s in %v", path, time.Since(start).Round(time.Second))
	}
	threads := 2
	if s := os.Getenv("GOLEM_BENCH_THREADS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("GOLEM_BENCH_THREADS=%q: want a positive integer", s)
		}
		threads = n
	}
	m, err := golem.Load(path, golem.Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// benchEngine is a serving engine as `golem serve` builds it (F16 K/V, 16-token blocks,
// 512-token step budget) with 1 GiB of K/V (32768 positions of this shape).
func benchEngine(b *testing.B, m *golem.Model) *engine.Engine {
	b.Helper()
	e, err := engine.New(engine.Config{Model: m.Net(), Tokenizer: m.Tokenizer(), Context: 4096, KVMemory: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// randPrompt is BOS and n-1 ordinary token ids (below the Llama 3 special tokens).
func randPrompt(m *golem.Model, rng *rand.Rand, n int) []int32 {
	p := []int32{m.Tokenizer().BOS()}
	for len(p) < n {
		p = append(p, int32(1000+rng.IntN(min(m.Net().NVocab, 128000)-1000)))
	}
	return p
}

// stream is what one request saw: when each token arrived, and its final event.
type stream struct {
	times []time.Time
	final engine.Event
}

// submit sends r and collects its stream in the background; wait on wg.
func submit(b *testing.B, ctx context.Context, e *engine.Engine, r engine.Request, wg *sync.WaitGroup) *stream {
	b.Helper()
	ch, err := e.Submit(ctx, r)
	if err != nil {
		b.Fatal(err)
	}
	s := &stream{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range ch {
			if ev.Done {
				s.final = ev
				continue
			}
			s.times = append(s.times, time.Now())
		}
	}()
	return s
}

func median(x []float64) float64 {
	y := slices.Clone(x)
	slices.Sort(y)
	if len(y) == 0 {
		return 0
	}
	if len(y)%2 == 1 {
		return y[len(y)/2]
	}
	return (y[len(y)/2-1] + y[len(y)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkServeDecode measures aggregate decode throughput with 1, 4 and 16 concurrent
// streams, as llamacpp_batch.mjs does for llama.cpp (-p 32 -n 64): each stream has a distinct
// 32-token prompt and generates 65 tokens; the clock runs from the moment every stream has
// its first token (prefill done) to the last token, and counts the 64·S decode tokens.
func BenchmarkServeDecode(b *testing.B) {
	m := benchModel(b)
	for _, S := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("streams=%d", S), func(b *testing.B) {
			var agg []float64
			for it := 0; it < b.N; it++ {
				e := benchEngine(b, m)
				rng := rand.New(rand.NewPCG(uint64(S), uint64(it)))
				var wg sync.WaitGroup
				ss := make([]*stream, S)
				for j := range ss {
					ss[j] = submit(b, context.Background(), e, engine.Request{Prompt: randPrompt(m, rng, 32), MaxTokens: 65, IgnoreEOS: true}, &wg)
				}
				wg.Wait()
				e.Close()
				var t0, t1 time.Time
				for _, s := range ss {
					if len(s.times) != 65 {
						b.Fatalf("stream got %d tokens, want 65 (final %+v)", len(s.times), s.final)
					}
					if s.times[0].After(t0) {
						t0 = s.times[0]
					}
					if s.times[64].After(t1) {
						t1 = s.times[64]
					}
				}
				n := 0
				for _, s := range ss {
					for _, t := range s.times {
						if t.After(t0) {
							n++
						}
					}
				}
				agg = append(agg, float64(n)/t1.Sub(t0).Seconds())
			}
			med := median(agg)
			b.ReportMetric(med, "tok/s")
			b.ReportMetric(med/float64(S), "tok/s/stream")
			b.Logf("%d streams: aggregate decode %.2f tok/s (%.2f per stream); runs %.2f", S, med, med/float64(S), agg)
		})
	}
}

// BenchmarkServeTTFTPrefix measures time to first token for a 2,000-token prompt on a cold
// cache, then for the same prompt again (whole prompt cached: only the last token is
// recomputed for its logits) and for the same 2,000-token prefix with a new 16-token tail.
func BenchmarkServeTTFTPrefix(b *testing.B) {
	m := benchModel(b)
	var cold, hit, tail []float64
	for it := 0; it < b.N; it++ {
		e := benchEngine(b, m)
		rng := rand.New(rand.NewPCG(2000, uint64(it)))
		p := randPrompt(m, rng, 2000)
		one := func(prompt []int32) (time.Duration, engine.Usage) {
			var wg sync.WaitGroup
			s := submit(b, context.Background(), e, engine.Request{Prompt: prompt, MaxTokens: 1, IgnoreEOS: true}, &wg)
			wg.Wait()
			if s.final.FinishReason != "length" {
				b.Fatalf("final %+v", s.final)
			}
			return s.final.Usage.TTFT, s.final.Usage
		}
		c, _ := one(p)
		h, uh := one(p)
		p2 := append(slices.Clone(p), randPrompt(m, rng, 17)[1:]...)
		tl, ut := one(p2)
		e.Close()
		cold, hit, tail = append(cold, ms(c)), append(hit, ms(h)), append(tail, ms(tl))
		b.Logf("run %d: cold %v, same prompt %v (cached %d), prefix+16 %v (cached %d)", it, c, h, uh.CachedTokens, tl, ut.CachedTokens)
	}
	b.ReportMetric(median(cold), "cold-ms")
	b.ReportMetric(median(hit), "hit-ms")
	b.ReportMetric(median(tail), "prefix+tail-ms")
	b.ReportMetric(median(cold)/median(hit), "cold/hit")
	b.Logf("2000-token prompt TTFT: cold %.0f ms, same prompt %.1f ms (%.0f× lower), same prefix + 16-token tail %.1f ms (%.0f× lower)",
		median(cold), median(hit), median(cold)/median(hit), median(tail), median(cold)/median(tail))
}

// BenchmarkServeSharedPrefixBurst is issue 7's load: one request with a ~450-token system
// prompt and a 20-token tail alone on a cold cache (the reference TTFT); then 16 requests
// submitted together with another 450-token system prompt and distinct 20-token tails
// (p50/max TTFT, and the prompt tokens the engine actually computed, Stats().PromptTokensComputed);
// then the first of them again (whole prompt cached).
func BenchmarkServeSharedPrefixBurst(b *testing.B) {
	m := benchModel(b)
	const prefix, tail, burst = 450, 20, 16
	var colds, p50s, maxs, agains, computed []float64
	for it := 0; it < b.N; it++ {
		e := benchEngine(b, m)
		rng := rand.New(rand.NewPCG(450, uint64(it)))
		req := func(sys []int32) engine.Request {
			p := append(slices.Clone(sys), randPrompt(m, rng, tail+1)[1:]...)
			return engine.Request{Prompt: p, MaxTokens: 16, IgnoreEOS: true}
		}
		var wg sync.WaitGroup
		cold := submit(b, context.Background(), e, req(randPrompt(m, rng, prefix)), &wg)
		wg.Wait()

		sys := randPrompt(m, rng, prefix)
		before := e.Stats().PromptTokensComputed
		reqs := make([]engine.Request, burst)
		for j := range reqs {
			reqs[j] = req(sys)
		}
		ss := make([]*stream, burst)
		for j := range ss {
			ss[j] = submit(b, context.Background(), e, reqs[j], &wg)
		}
		wg.Wait()
		comp := e.Stats().PromptTokensComputed - before
		var ttft []float64
		for _, s := range ss {
			ttft = append(ttft, ms(s.final.Usage.TTFT))
		}
		again := submit(b, context.Background(), e, reqs[0], &wg)
		wg.Wait()
		e.Close()
		c := ms(cold.final.Usage.TTFT)
		colds, p50s, maxs = append(colds, c), append(p50s, median(ttft)), append(maxs, slices.Max(ttft))
		agains, computed = append(agains, ms(again.final.Usage.TTFT)), append(computed, float64(comp))
		slices.Sort(ttft)
		b.Logf("run %d: cold alone %.0f ms; burst of %d: TTFT p50 %.0f ms, max %.0f ms (sorted %.0f), prompt tokens computed %d of %d; again %.1f ms (cached %d)",
			it, c, burst, median(ttft), slices.Max(ttft), ttft, comp, burst*(prefix+tail), ms(again.final.Usage.TTFT), again.final.Usage.CachedTokens)
	}
	b.ReportMetric(median(colds), "cold-ms")
	b.ReportMetric(median(p50s), "burst-p50-ms")
	b.ReportMetric(median(maxs), "burst-max-ms")
	b.ReportMetric(median(p50s)/median(colds), "p50/cold")
	b.ReportMetric(median(computed), "prompt-tokens")
	b.ReportMetric(100*median(agains)/median(colds), "again-%cold")
}

// rss returns the resident set size in bytes (/proc/self/statm, second field, in pages).
func rss(b *testing.B) int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		b.Skip("no /proc/self/statm:", err)
	}
	var size, res int64
	if _, err := fmt.Sscan(string(raw), &size, &res); err != nil {
		b.Fatal(err)
	}
	return res * int64(os.Getpagesize())
}

// BenchmarkServeRSS runs $GOLEM_BENCH_REQUESTS requests (default 400), 16 in flight at a
// time: prompts of 8–64 tokens, half of them behind one of four shared 64-token prefixes,
// 1–16 new tokens, and a third cancelled after a random 0–300 ms. It samples the RSS after
// every tenth of the run and reports how far the later samples stray from the one after the
// first tenth (warm: scratch buffers grown, model pages touched). At the end every K/V block
// must be free of owners and no stream goroutine left.
func BenchmarkServeRSS(b *testing.B) {
	m := benchModel(b)
	total := 400
	if s := os.Getenv("GOLEM_BENCH_REQUESTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 10 {
			b.Fatalf("GOLEM_BENCH_REQUESTS=%q: want an integer ≥ 10", s)
		}
		total = n
	}
	for it := 0; it < b.N; it++ {
		e := benchEngine(b, m)
		rng := rand.New(rand.NewPCG(7, uint64(it)))
		prefixes := make([][]int32, 4)
		for i := range prefixes {
			prefixes[i] = randPrompt(m, rng, 64)
		}
		goroutines := runtime.NumGoroutine()
		type job struct {
			r      engine.Request
			cancel time.Duration // 0: never
		}
		jobs := make(chan job)
		go func() {
			for i := 0; i < total; i++ {
				var p []int32
				if rng.IntN(2) == 0 {
					p = append(slices.Clone(prefixes[rng.IntN(4)]), randPrompt(m, rng, 1+rng.IntN(16))[1:]...)
				} else {
					p = randPrompt(m, rng, 8+rng.IntN(57))
				}
				j := job{r: engine.Request{Prompt: p, MaxTokens: 1 + rng.IntN(16), IgnoreEOS: true}}
				if rng.IntN(3) == 0 {
					j.cancel = time.Duration(1+rng.IntN(300)) * time.Millisecond
				}
				jobs <- j
			}
			close(jobs)
		}()
		var mu sync.Mutex
		done, aborted := 0, 0
		var samples, heap []int64
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					ctx, cancel := context.WithCancel(context.Background())
					var timer *time.Timer
					if j.cancel > 0 {
						timer = time.AfterFunc(j.cancel, cancel)
					}
					ch, err := e.Submit(ctx, j.r)
					if err != nil {
						b.Error(err)
						cancel()
						return
					}
					var final engine.Event
					for ev := range ch {
						if ev.Done {
							final = ev
						}
					}
					if timer != nil {
						timer.Stop()
					}
					cancel()
					mu.Lock()
					done++
					if final.FinishReason == "abort" {
						aborted++
					}
					if done%(total/10) == 0 {
						runtime.GC()
						var ms runtime.MemStats
						runtime.ReadMemStats(&ms)
						samples, heap = append(samples, rss(b)), append(heap, int64(ms.HeapInuse))
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		// The engine's stream goroutines end with their streams; give the runtime a moment.
		deadline := time.Now().Add(2 * time.Second)
		for runtime.NumGoroutine() > goroutines+1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		st := e.Stats()
		if st.Running != 0 || st.Waiting != 0 || st.KVBlocksUsed != 0 {
			b.Errorf("after the run: %+v (want no running or waiting request and no used block)", st)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			b.Errorf("%d goroutines after the run, %d before", n, goroutines)
		}
		e.Close()
		if len(samples) < 3 {
			b.Fatalf("only %d RSS samples", len(samples))
		}
		base := samples[0]
		var worst float64
		for _, s := range samples[1:] {
			worst = max(worst, 100*float64(s-base)/float64(base))
		}
		// The K/V budget is one allocation whose pages the OS maps on first touch, so RSS
		// also grows while blocks never used before are handed out; the Go heap is listed
		// beside it to tell that from a leak.
		mib := make([]string, len(samples))
		for i, s := range samples {
			mib[i] = fmt.Sprintf("%.1f (heap %.1f)", float64(s)/(1<<20), float64(heap[i])/(1<<20))
		}
		b.ReportMetric(worst, "max-rss-growth-%")
		b.ReportMetric(float64(base)/(1<<20), "rss-MiB")
		b.Logf("%d requests (%d aborted) in %v; RSS MiB per tenth %v; max growth over the first sample %.2f%%; stats %+v",
			total, aborted, elapsed.Round(time.Second), mib, worst, st)
	}
}
