package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/sample"
)

func load(t testing.TB, path string) *golem.Model {
	t.Helper()
	var m *golem.Model
	var err error
	if path == "" {
		m, err = golem.LoadDefault(golem.Options{Threads: 2})
	} else {
		m, err = golem.Load(path, golem.Options{Threads: 2})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func newEngine(t testing.TB, m *golem.Model, cfg engine.Config) *engine.Engine {
	t.Helper()
	cfg.Model, cfg.Tokenizer = m.Net(), m.Tokenizer()
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

type outcome struct {
	tokens   []int32
	text     string
	logprobs []float32
	final    engine.Event
}

func collect(t testing.TB, ch <-chan engine.Event) outcome {
	t.Helper()
	var o outcome
	for ev := range ch {
		if ev.Done {
			o.text += ev.Text
			o.final = ev
			continue
		}
		o.tokens = append(o.tokens, ev.Token)
		o.text += ev.Text
		o.logprobs = append(o.logprobs, ev.Logprob)
	}
	if !o.final.Done {
		t.Fatal("stream closed without a final event")
	}
	return o
}

func run(t testing.TB, e *engine.Engine, r engine.Request) outcome {
	t.Helper()
	ch, err := e.Submit(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return collect(t, ch)
}

func equalTokens(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The engine on stories260K gives llama.cpp's 200 greedy tokens (F32 K/V, as the goldens).
func TestEngineStoriesGolden(t *testing.T) {
	raw, err := os.ReadFile("../testdata/models/stories260K.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Prompts []struct {
			Tokens    []int32 `json:"tokens"`
			Greedy200 []int32 `json:"greedy200"`
		} `json:"prompts"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	m := load(t, "")
	e := newEngine(t, m, engine.Config{KVType: "f32", Context: 512})
	var wg sync.WaitGroup
	outs := make([]outcome, len(g.Prompts))
	for i, p := range g.Prompts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i] = run(t, e, engine.Request{Prompt: p.Tokens, MaxTokens: 200, IgnoreEOS: true})
		}()
	}
	wg.Wait()
	for i, p := range g.Prompts {
		if !equalTokens(outs[i].tokens, p.Greedy200) {
			t.Errorf("prompt %d: batched greedy differs from llama.cpp:\n got %v\nwant %v", i, outs[i].tokens, p.Greedy200)
		}
		if outs[i].final.FinishReason != "length" || outs[i].final.Usage.CompletionTokens != 200 {
			t.Errorf("prompt %d: final %+v", i, outs[i].final)
		}
	}
}

func prompts(m *golem.Model, n int, rng *rand.Rand) [][]int32 {
	var ps [][]int32
	for i := 0; i < n; i++ {
		p := []int32{m.Tokenizer().BOS()}
		for j := 0; j < 3+rng.IntN(40); j++ {
			p = append(p, int32(3+rng.IntN(m.Net().NVocab-3)))
		}
		ps = append(ps, p)
	}
	return ps
}

// Batched outputs equal sequential outputs token for token, greedy and seeded, including
// when a small KV budget forces preemption and recomputation.
func TestEngineBatchedEqualsSequential(t *testing.T) {
	m := load(t, "../testdata/models/tiny-llama-q8_0.gguf")
	rng := rand.New(rand.NewPCG(1, 2))
	ps := prompts(m, 8, rng)
	reqs := make([]engine.Request, len(ps))
	for i, p := range ps {
		reqs[i] = engine.Request{Prompt: p, MaxTokens: 24, IgnoreEOS: true, Logprobs: true}
		if i%2 == 1 {
			reqs[i].Sampling = sample.Params{Temperature: 0.9, TopK: 40, TopP: 0.95, Seed: uint64(i)}
		}
	}
	seq := newEngine(t, m, engine.Config{Context: 128, MaxSeqs: 1, MaxBatchTokens: 64})
	want := make([]outcome, len(reqs))
	for i, r := range reqs {
		want[i] = run(t, seq, r)
	}
	for _, cfg := range []engine.Config{
		{Context: 128, MaxSeqs: 8, MaxBatchTokens: 64},
		{Context: 128, MaxSeqs: 8, MaxBatchTokens: 16},                      // chunked prefill
		{Context: 128, MaxSeqs: 8, MaxBatchTokens: 64, KVMemory: 10 * 4096}, // 10 blocks of 4 KiB: preemption
	} {
		e := newEngine(t, m, cfg)
		got := make([]outcome, len(reqs))
		var wg sync.WaitGroup
		for i, r := range reqs {
			wg.Add(1)
			go func() { defer wg.Done(); got[i] = run(t, e, r) }()
		}
		wg.Wait()
		for i := range reqs {
			if !equalTokens(got[i].tokens, want[i].tokens) {
				t.Errorf("cfg %+v request %d: batched %v, alone %v", cfg, i, got[i].tokens, want[i].tokens)
			}
			for j := range got[i].logprobs {
				if j < len(want[i].logprobs) && got[i].logprobs[j] != want[i].logprobs[j] {
					t.Errorf("cfg %+v request %d token %d: logprob %v alone %v", cfg, i, j, got[i].logprobs[j], want[i].logprobs[j])
					break
				}
			}
		}
		st := e.Stats()
		t.Logf("cfg max_batch_tokens=%d kv=%d: steps %d, preemptions %d", cfg.MaxBatchTokens, cfg.KVMemory, st.Steps, st.Preemptions)
		if cfg.KVMemory > 0 && st.Preemptions == 0 {
			t.Errorf("small KV budget: expected preemptions")
		}
	}
}

// A second request with the same prompt reuses the cached prefix blocks (and the leading
// positions of its last, partial block, copied) and produces exactly the cold run's tokens and
// log-probabilities: only its last prompt token is recomputed.
func TestEnginePrefixCacheHitMatchesCold(t *testing.T) {
	m := load(t, "../testdata/models/tiny-llama-q8_0.gguf")
	rng := rand.New(rand.NewPCG(3, 4))
	p := prompts(m, 1, rng)[0]
	for len(p) < 70 {
		p = append(p, int32(3+rng.IntN(1000)))
	}
	e := newEngine(t, m, engine.Config{Context: 256})
	r := engine.Request{Prompt: p, MaxTokens: 16, IgnoreEOS: true, Logprobs: true, TopLogprobs: 3}
	cold := run(t, e, r)
	hot := run(t, e, r)
	if cold.final.Usage.CachedTokens != 0 {
		t.Errorf("cold run: %d cached tokens", cold.final.Usage.CachedTokens)
	}
	if want := len(p) - 1; hot.final.Usage.CachedTokens != want {
		t.Errorf("hot run: %d cached tokens, want %d", hot.final.Usage.CachedTokens, want)
	}
	if !equalTokens(hot.tokens, cold.tokens) {
		t.Errorf("prefix hit: tokens %v, cold %v", hot.tokens, cold.tokens)
	}
	for i := range cold.logprobs {
		if hot.logprobs[i] != cold.logprobs[i] {
			t.Errorf("token %d: logprob %v, cold %v", i, hot.logprobs[i], cold.logprobs[i])
		}
	}
	if st := e.Stats(); st.PrefixHits == 0 {
		t.Errorf("stats: no prefix hits: %+v", st)
	}
	// prompt_tokens counts both prompts whole (as vLLM's); the computed count, the cold prompt
	// and the hot one's last token.
	if st := e.Stats(); st.PromptTokens != int64(2*len(p)) || st.PromptTokensComputed != int64(len(p)+1) {
		t.Errorf("stats: prompt tokens %d, computed %d; want %d, %d", st.PromptTokens, st.PromptTokensComputed, 2*len(p), len(p)+1)
	}
}

// A storm of requests with random cancellations: every stream ends, every block is free
// afterwards, and no goroutine is left.
func TestEngineStormWithCancellations(t *testing.T) {
	m := load(t, "../testdata/models/tiny-llama-q4_0.gguf")
	before := runtime.NumGoroutine()
	cfg := engine.Config{Model: m.Net(), Tokenizer: m.Tokenizer(), Context: 128, MaxSeqs: 6, MaxBatchTokens: 48, KVMemory: 24 * 16 * 2 * 2 * 64 * 2}
	e, err := engine.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	ps := prompts(m, 60, rng)
	var wg sync.WaitGroup
	var mu sync.Mutex
	reasons := map[string]int{}
	for i, p := range ps {
		ctx, cancel := context.WithCancel(context.Background())
		delay := time.Duration(rng.IntN(40)) * time.Millisecond
		cancelIt := i%3 == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			ch, err := e.Submit(ctx, engine.Request{Prompt: p, MaxTokens: 1 + i%20, IgnoreEOS: true, Priority: i % 2})
			if err != nil {
				t.Error(err)
				return
			}
			if cancelIt {
				time.AfterFunc(delay, cancel)
			}
			o := collect(t, ch)
			mu.Lock()
			reasons[o.final.FinishReason]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for {
		st := e.Stats()
		if st.KVBlocksUsed == 0 && st.Running == 0 && st.Waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("blocks still used after the storm: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("finish reasons: %v, stats %+v", reasons, e.Stats())
	if reasons["length"] == 0 || reasons["length"]+reasons["abort"] != len(ps) {
		t.Errorf("finish reasons %v for %d requests", reasons, len(ps))
	}
	e.Close()
	deadline = time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines left (had %d):\n%s", runtime.NumGoroutine(), before, buf[:n])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestEngineErrors(t *testing.T) {
	m := load(t, "")
	e := newEngine(t, m, engine.Config{Context: 64, MaxSeqs: 1, MaxWaiting: 1})
	ctx := context.Background()
	if _, err := e.Submit(ctx, engine.Request{}); !errors.Is(err, engine.ErrEmptyPrompt) {
		t.Errorf("empty prompt: %v", err)
	}
	if _, err := e.Submit(ctx, engine.Request{Prompt: make([]int32, 60), MaxTokens: 10}); !errors.Is(err, engine.ErrTooLong) {
		t.Errorf("too long: %v", err)
	}
	if _, err := e.Submit(ctx, engine.Request{Prompt: []int32{1, 100000}}); err == nil {
		t.Errorf("token outside the vocabulary: no error")
	}
	// Fill the queue: one running plus one waiting are allowed.
	var chans []<-chan engine.Event
	var full error
	for i := 0; i < 10 && full == nil; i++ {
		ch, err := e.Submit(ctx, engine.Request{Prompt: []int32{1, 403}, MaxTokens: 50, IgnoreEOS: true})
		if err != nil {
			full = err
			break
		}
		chans = append(chans, ch)
	}
	if !errors.Is(full, engine.ErrQueueFull) {
		t.Errorf("queue limit: %v after %d requests", full, len(chans))
	}
	for _, ch := range chans {
		collect(t, ch)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := e.Drain(dctx); err != nil {
		t.Errorf("drain: %v", err)
	}
	if _, err := e.Submit(ctx, engine.Request{Prompt: []int32{1}}); !errors.Is(err, engine.ErrDraining) {
		t.Errorf("after drain: %v", err)
	}
}

// Stop strings end a request with the text before them; EOG ends it without the token.
func TestEngineStopStrings(t *testing.T) {
	m := load(t, "")
	e := newEngine(t, m, engine.Config{Context: 512})
	ids, _ := m.Tokenize("Once upon a time", true, false)
	full := run(t, e, engine.Request{Prompt: ids, MaxTokens: 40})
	o := run(t, e, engine.Request{Prompt: ids, MaxTokens: 40, Stop: []string{"Lily"}})
	if o.final.FinishReason != "stop" || o.text != ", there was a little girl named " {
		t.Errorf("stop string: %q (%s); full text %q", o.text, o.final.FinishReason, full.text)
	}
}

func TestEngineEmbed(t *testing.T) {
	m := load(t, "")
	e := newEngine(t, m, engine.Config{})
	a, err := e.Embed(context.Background(), []int32{1, 403, 407})
	if err != nil {
		t.Fatal(err)
	}
	var ss float64
	for _, v := range a {
		ss += float64(v) * float64(v)
	}
	if len(a) != m.Net().NEmbd || ss < 0.999 || ss > 1.001 {
		t.Errorf("embedding: %d dims, squared norm %v", len(a), ss)
	}
	b, _ := e.Embed(context.Background(), []int32{1, 403, 407})
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("embedding not deterministic")
	}
}

// Config: negative sizes and a step budget below MaxSeqs are errors; an unset MaxSeqs follows a
// small step budget down, and an unset budget covers MaxSeqs.
func TestEngineConfigLimits(t *testing.T) {
	m := load(t, "../testdata/models/tiny-llama-q8_0.gguf")
	base := engine.Config{Model: m.Net(), Tokenizer: m.Tokenizer(), Context: 64}
	for _, c := range []struct {
		mod  func(*engine.Config)
		want string
	}{
		{func(c *engine.Config) { c.BlockSize = -1 }, "BlockSize -1 is negative"},
		{func(c *engine.Config) { c.KVMemory = -5 }, "KVMemory -5 is negative"},
		{func(c *engine.Config) { c.MaxWaiting = -1 }, "MaxWaiting -1 is negative"},
		{func(c *engine.Config) { c.MaxBatchTokens, c.MaxSeqs = 8, 16 }, "MaxBatchTokens 8 is below MaxSeqs 16"},
	} {
		cfg := base
		c.mod(&cfg)
		if e, err := engine.New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			if e != nil {
				e.Close()
			}
			t.Errorf("%+v: error %v, want %q", cfg, err, c.want)
		}
	}
	for _, c := range []struct{ batch, seqs, wantBatch, wantSeqs int }{
		{16, 0, 16, 16}, {0, 0, 512, 64}, {0, 600, 600, 600}, {100, 0, 100, 64},
	} {
		cfg := base
		cfg.MaxBatchTokens, cfg.MaxSeqs = c.batch, c.seqs
		e, err := engine.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := e.Config()
		e.Close()
		if got.MaxBatchTokens != c.wantBatch || got.MaxSeqs != c.wantSeqs {
			t.Errorf("batch %d seqs %d: got batch %d seqs %d, want %d, %d", c.batch, c.seqs, got.MaxBatchTokens, got.MaxSeqs, c.wantBatch, c.wantSeqs)
		}
	}
}
