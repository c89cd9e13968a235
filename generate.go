package golem

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
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
// stops before the next token. The prompt is tokenized with special tokens parsed, as
// llama.cpp's CLI does.
func (m *Model) Generate(ctx context.Context, prompt string, opt GenerateOptions, fn func(Token) error) (*Result, error) {
	ids := opt.PromptTokens
	if ids == nil {
		var err error
		ids, err = m.tok.Encode(prompt, !opt.NoBOS, true)
		if err != nil {
			return nil, err
		}
		// A chat template that writes the BOS text itself would give two BOS tokens.
		if bos := m.tok.BOS(); len(ids) > 1 && ids[0] == bos && ids[1] == bos && m.tok.AddBOS() {
			ids = ids[1:]
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("golem: empty prompt (the model adds no BOS token)")
	}
	if len(ids) >= m.nCtx {
		return nil, fmt.Errorf("golem: prompt of %d tokens does not fit the context of %d tokens", len(ids), m.nCtx)
	}
	res := &Result{Prompt: ids}
	net := m.net
	kv := kvcache.NewContiguous(net.NLayer, m.nCtx, net.NHeadKV*net.HeadDim, m.kvF16, net.Pool())
	bs := opt.BatchSize
	if bs <= 0 {
		bs = 512
	}
	start := time.Now()
	var logits []float32
	for p := 0; p < len(ids); p += bs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		end := min(p+bs, len(ids))
		mode := model.LogitsNone
		if end == len(ids) {
			mode = model.LogitsLast
		}
		out, err := net.Forward(&model.Batch{Seqs: []model.Seq{{Pos: p, Tokens: ids[p:end], Logits: mode}}}, kv)
		if err != nil {
			return res, err
		}
		if mode == model.LogitsLast {
			logits = out[0]
		}
	}
	res.PromptTime = time.Since(start)
	start = time.Now()
	defer func() { res.DecodeTime = time.Since(start) }()

	smp := sample.New(opt.Sampling)
	for _, id := range ids {
		smp.Accept(id)
	}
	dec := m.tok.NewDecoder(false)
	stop := sample.NewStopMatcher(opt.Stop)
	var text []byte
	var top []sample.TopLogprob
	pos := len(ids)
	maxTok := opt.MaxTokens
	if maxTok <= 0 || maxTok > m.nCtx-pos {
		maxTok = m.nCtx - pos
	}
	res.FinishReason = "length"
	for len(res.Tokens) < maxTok {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		id := smp.Sample(logits)
		smp.Accept(id)
		var lp float32
		lp, top = sample.Logprobs(logits, id, opt.Logprobs, top[:0])
		if m.tok.IsEOG(id) && !opt.IgnoreEOS {
			res.FinishReason = "stop"
			break
		}
		res.Tokens = append(res.Tokens, id)
		raw := dec.Add(id)
		if len(res.Tokens) == 1 && m.tok.AddSpacePrefix() && strings.HasPrefix(raw, " ") {
			// As llama.cpp's detokenize of the generated tokens: the first piece loses
			// the space SentencePiece put before it.
			raw = raw[1:]
		}
		piece, stopped := stop.Push(raw)
		text = append(text, piece...)
		if fn != nil {
			if err := fn(Token{ID: id, Text: piece, Logprob: lp, Top: top}); err != nil {
				res.Text = string(text)
				return res, err
			}
		}
		if stopped {
			res.FinishReason = "stop"
			break
		}
		if len(res.Tokens) == maxTok {
			break
		}
		out, err := net.Forward(&model.Batch{Seqs: []model.Seq{{Pos: pos, Tokens: []int32{id}, Logits: model.LogitsLast}}}, kv)
		if err != nil {
			return res, err
		}
		logits = out[0]
		pos++
	}
	if !stop.Stopped() {
		// Text held back at the end: an unfinished UTF-8 sequence or the start of a stop string.
		tail, _ := stop.Push(dec.Flush())
		tail += stop.Flush()
		if tail != "" {
			text = append(text, tail...)
			if fn != nil {
				if err := fn(Token{ID: -1, Text: tail}); err != nil {
					res.Text = string(text)
					return res, err
				}
			}
		}
	}
	res.Text = string(text)
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
