package golem

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/sample"
)

// GenerateOptions control one generation.
type GenerateOptions struct {
	MaxTokens    int           // new tokens at most; ≤ 0 means until the context is full
	Sampling     sample.Params // Temperature 0 = greedy
	Stop         []string      // stop strings; the text before the first match is kept
	Logprobs     int           // also report this many top alternatives per token (0 = chosen only)
	NoBOS        bool          // do not add BOS/EOS even when the model asks for them
	IgnoreEOS    bool          // keep generating past end-of-generation tokens
	PromptTokens []int32       // use these ids instead of tokenizing the prompt
	BatchSize    int           // prompt tokens per forward pass (default 512)
}

// Token is one generated token as it is streamed. A last Token with ID -1 may carry text
// held back until the end (an unfinished UTF-8 sequence or an unmatched stop-string prefix).
//
// The texts of a generation concatenate to llama.cpp's detokenization of the generated
// tokens alone: with a SentencePiece vocabulary the space before the first word is dropped
// (after "They saw", " a big box" streams as "a big box"), as llama.cpp's detokenize gives it and as
// the stories260K goldens record it. The server (OpenAI's API) keeps that space instead.
type Token struct {
	ID      int32
	Text    string              // the text this token completes (may be empty while a UTF-8 character or stop string is pending)
	Logprob float32             // log-probability of ID under the model (log-softmax of the raw logits)
	Top     []sample.TopLogprob // the Logprobs most likely alternatives
}

// Result summarises a generation.
type Result struct {
	Prompt       []int32
	Tokens       []int32
	Text         string
	FinishReason string // "stop" (end-of-generation token or stop string), "length" (MaxTokens or context full)
	PromptTime   time.Duration
	DecodeTime   time.Duration
}

// PrefillTokensPerSecond returns the prompt processing rate.
func (r *Result) PrefillTokensPerSecond() float64 {
	return rate(len(r.Prompt), r.PromptTime)
}

// DecodeTokensPerSecond returns the generation rate (tokens after the first, per second of
// decode time).
func (r *Result) DecodeTokensPerSecond() float64 {
	return rate(len(r.Tokens)-1, r.DecodeTime)
}

func rate(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Generate runs prompt through the model and samples up to MaxTokens tokens, calling fn for
// each (fn may be nil; an error from fn stops generation and is returned). Cancelling ctx
// stops at the next step and returns ctx's error with the partial Result. The prompt is
// tokenized with special tokens parsed, as llama.cpp's CLI does. The request runs on the
// model's in-process engine (see Engine), the same path `golem serve` uses.
func (m *Model) Generate(ctx context.Context, prompt string, opt GenerateOptions, fn func(Token) error) (*Result, error) {
	ids := opt.PromptTokens
	if ids == nil {
		var err error
		ids, err = m.tok.EncodePrompt(prompt, !opt.NoBOS)
		if err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("golem: empty prompt (the model adds no BOS token)")
	}
	if len(ids) >= m.nCtx {
		return nil, fmt.Errorf("golem: prompt of %d tokens does not fit the context of %d tokens", len(ids), m.nCtx)
	}
	if opt.Logprobs < 0 || opt.Logprobs > 20 {
		return nil, fmt.Errorf("golem: Logprobs %d outside 0–20", opt.Logprobs)
	}
	maxTok := opt.MaxTokens
	if maxTok <= 0 || maxTok > m.nCtx-len(ids) {
		maxTok = m.nCtx - len(ids)
	}
	eng, err := m.Engine()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := eng.Submit(ctx, engine.Request{
		Prompt: ids, MaxTokens: maxTok, Sampling: opt.Sampling, Stop: opt.Stop,
		IgnoreEOS: opt.IgnoreEOS, Logprobs: true, TopLogprobs: opt.Logprobs,
	})
	if err != nil {
		return nil, err
	}
	res := &Result{Prompt: ids}
	var text strings.Builder
	var fnErr error
	// The first piece loses the space SentencePiece put before it, as llama.cpp's
	// detokenize of the generated tokens does (the text may arrive later than the token
	// when a UTF-8 character or a stop-string prefix is held back).
	strip := false
	for ev := range events {
		if fnErr != nil {
			continue // drain after cancel
		}
		t := Token{ID: ev.Token, Text: ev.Text, Logprob: ev.Logprob, Top: ev.Top}
		if ev.Done {
			res.FinishReason = ev.FinishReason
			res.PromptTime = ev.Usage.TTFT
			res.DecodeTime = ev.Usage.E2E - ev.Usage.TTFT
			if ev.Err != nil {
				fnErr = ev.Err
			}
			if ev.Text == "" {
				continue
			}
			t = Token{ID: -1, Text: ev.Text}
		} else {
			res.Tokens = append(res.Tokens, ev.Token)
			if len(res.Tokens) == 1 {
				strip = m.tok.AddSpacePrefix() && strings.HasPrefix(string(m.tok.TokenToPiece(ev.Token, false)), " ")
			}
		}
		if strip && t.Text != "" {
			t.Text = strings.TrimPrefix(t.Text, " ")
			strip = false
		}
		text.WriteString(t.Text)
		if fn != nil {
			if err := fn(t); err != nil {
				fnErr = err
				cancel()
			}
		}
	}
	res.Text = text.String()
	if fnErr != nil {
		return res, fnErr
	}
	if res.FinishReason == "abort" {
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Tokens is Generate as an iterator: each step yields a Token, and a final error (if any)
// with a zero Token. Breaking out of the loop stops generation.
func (m *Model) Tokens(ctx context.Context, prompt string, opt GenerateOptions) iter.Seq2[Token, error] {
	return func(yield func(Token, error) bool) {
		stopped := false
		_, err := m.Generate(ctx, prompt, opt, func(t Token) error {
			if !yield(t, nil) {
				stopped = true
				return errStopIter
			}
			return nil
		})
		if err != nil && err != errStopIter && !stopped {
			yield(Token{}, err)
		}
	}
}

var errStopIter = fmt.Errorf("golem: iteration stopped")
