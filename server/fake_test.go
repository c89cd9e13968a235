package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/sample"
	"github.com/golem-llm/golem/tokenizer"
)

// The real engine satisfies Backend and Drainer.
var (
	_ Backend = (*engine.Engine)(nil)
	_ Drainer = (*engine.Engine)(nil)
)

var (
	tokOnce sync.Once
	tokVal  *tokenizer.Tokenizer
)

// storiesTokenizer is the embedded stories260K's tokenizer (SentencePiece, 512 tokens).
func storiesTokenizer(t testing.TB) *tokenizer.Tokenizer {
	tokOnce.Do(func() {
		f, err := gguf.Parse(golem.DefaultModelBytes())
		if err != nil {
			t.Fatal(err)
		}
		if tokVal, err = tokenizer.FromGGUF(f); err != nil {
			t.Fatal(err)
		}
	})
	return tokVal
}

// fakeBackend generates a fixed token script (text "Once upon a time, there was a little
// girl") with one token event per token, honours MaxTokens, Stop is not applied, ctx
// cancellation aborts. It records every request.
type fakeBackend struct {
	tok    *tokenizer.Tokenizer
	nctx   int
	script []int32
	delay  time.Duration // before each token
	err    error         // Submit fails with it
	stats  engine.Stats

	mu       sync.Mutex
	reqs     []engine.Request
	aborted  int
	finished int
	embeds   [][]int32
	drained  bool
	wg       sync.WaitGroup
}

func newFake(t testing.TB) *fakeBackend {
	tok := storiesTokenizer(t)
	script, err := tok.Encode("Once upon a time, there was a little girl", false, false)
	if err != nil {
		t.Fatal(err)
	}
	return &fakeBackend{tok: tok, nctx: 128, script: script}
}

func (f *fakeBackend) Tokenizer() *tokenizer.Tokenizer { return f.tok }
func (f *fakeBackend) ContextSize() int                { return f.nctx }
func (f *fakeBackend) Stats() engine.Stats             { return f.stats }

func (f *fakeBackend) Drain(ctx context.Context) error {
	f.mu.Lock()
	f.drained = true
	f.mu.Unlock()
	f.wg.Wait()
	return nil
}

func (f *fakeBackend) Submit(ctx context.Context, r engine.Request) (<-chan engine.Event, error) {
	if f.err != nil {
		return nil, f.err
	}
	if len(r.Prompt) == 0 {
		return nil, engine.ErrEmptyPrompt
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.mu.Unlock()
	ch := make(chan engine.Event)
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(ch)
		start := time.Now()
		dec := f.tok.NewDecoder(true)
		u := engine.Usage{PromptTokens: len(r.Prompt), CachedTokens: len(r.Prompt) / 2}
		n := len(f.script)
		if r.MaxTokens > 0 && r.MaxTokens < n {
			n = r.MaxTokens
		}
		final := engine.Event{Done: true, FinishReason: "stop"}
		if n < len(f.script) {
			final.FinishReason = "length"
		}
		for i := 0; i < n; i++ {
			select {
			case <-ctx.Done():
				final = engine.Event{Done: true, FinishReason: "abort"}
				n = i
			case <-time.After(f.delay):
			}
			if final.FinishReason == "abort" {
				break
			}
			id := f.script[i]
			ev := engine.Event{Token: id, Text: dec.Add(id)}
			if r.Logprobs {
				ev.Logprob = -0.5
				for k := 0; k < r.TopLogprobs; k++ {
					ev.Top = append(ev.Top, sample.TopLogprob{ID: id + int32(k), Logprob: -0.5 - float32(k)})
				}
			}
			if i == 0 {
				u.TTFT = time.Since(start)
			}
			u.CompletionTokens++
			select {
			case ch <- ev:
			case <-ctx.Done():
				final = engine.Event{Done: true, FinishReason: "abort"}
			}
			if final.FinishReason == "abort" {
				break
			}
		}
		final.Text = dec.Flush()
		u.E2E = time.Since(start)
		final.Usage = u
		f.mu.Lock()
		if final.FinishReason == "abort" {
			f.aborted++
		} else {
			f.finished++
		}
		f.mu.Unlock()
		ch <- final // the server always drains
	}()
	return ch, nil
}

func (f *fakeBackend) Embed(ctx context.Context, tokens []int32) ([]float32, error) {
	if f.err != nil {
		return nil, f.err
	}
	f.mu.Lock()
	f.embeds = append(f.embeds, tokens)
	f.mu.Unlock()
	// A unit vector that depends on the last token: e_(last mod 4).
	v := make([]float32, 4)
	v[tokens[len(tokens)-1]%4] = 1
	return v, nil
}

func (f *fakeBackend) requests() []engine.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]engine.Request(nil), f.reqs...)
}

// scriptText is what the fake generates for n tokens.
func (f *fakeBackend) scriptText(n int) string {
	dec := f.tok.NewDecoder(true)
	s := ""
	for _, id := range f.script[:min(n, len(f.script))] {
		s += dec.Add(id)
	}
	return s + dec.Flush()
}

var errValidation = errors.New("engine: top_logprobs 30 out of range")

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}
