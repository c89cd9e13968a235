package server

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/sample"
)

// Limits on generation parameters.
const (
	maxN           = 16 // choices per prompt
	maxStops       = 16
	maxStopLen     = 256 // bytes per stop string
	maxTopLogprobs = 20
	maxLegacyLP    = 20 // /v1/completions logprobs (OpenAI allows 5; vLLM 20)
	maxPrompts     = 64 // prompts in one /v1/completions or /v1/embeddings batch
)

// genParams are the sampling and stopping parameters /v1/chat/completions and /v1/completions
// share.
type genParams struct {
	maxTokens    int // 0: until the context is full
	maxParam     string
	n            int
	stream       bool
	includeUsage bool
	sampling     sample.Params
	stop         []string
	logprobs     bool
	topLogprobs  int
	priority     int
	ignoreEOS    bool
}

// parseGen reads the shared parameters. defMax is the max_tokens default (0: none).
// OpenAI's defaults: temperature 1, top_p 1 (no truncation); a request without a seed gets a
// random one.
func parseGen(p *parser, defMax int, chat bool) genParams {
	g := genParams{n: 1, maxTokens: defMax, maxParam: "max_tokens"}
	g.sampling.Temperature = 1
	if v, ok := p.integer("max_tokens", 1, math.MaxInt32); ok {
		g.maxTokens = int(v)
	}
	if chat {
		// max_completion_tokens supersedes the deprecated max_tokens.
		if v, ok := p.integer("max_completion_tokens", 1, math.MaxInt32); ok {
			g.maxTokens, g.maxParam = int(v), "max_completion_tokens"
		}
	}
	if v, ok := p.integer("n", 1, maxN); ok {
		g.n = int(v)
	}
	g.stream, _ = p.boolean("stream")
	if v, ok := p.raw("stream_options"); ok {
		var so fields
		if v[0] != '{' || json.Unmarshal(v, &so) != nil {
			p.fail("stream_options", "stream_options must be an object, got %s", jsonKind(v))
		} else {
			sp := parser{f: so}
			g.includeUsage, _ = sp.boolean("include_usage")
			if sp.err != nil {
				sp.err.Param = strp("stream_options.include_usage")
				p.err = sp.err
			}
		}
	}
	if v, ok := p.num("temperature", 0, 2, false); ok {
		g.sampling.Temperature = float32(v)
	}
	if v, ok := p.num("top_p", 0, 1, true); ok {
		g.sampling.TopP = float32(v)
	}
	if v, ok := p.integer("top_k", -1, 1<<20); ok && v > 0 {
		g.sampling.TopK = int(v) // 0 and -1 disable it (vLLM)
	}
	if v, ok := p.num("min_p", 0, 1, false); ok {
		g.sampling.MinP = float32(v)
	}
	if v, ok := p.num("presence_penalty", -2, 2, false); ok {
		g.sampling.PresencePenalty = float32(v)
	}
	if v, ok := p.num("frequency_penalty", -2, 2, false); ok {
		g.sampling.FrequencyPenalty = float32(v)
	}
	if v, ok := p.num("repetition_penalty", 0, 10, true); ok {
		g.sampling.RepeatPenalty = float32(v)
	}
	// OpenAI's penalties count every generated token, not a window.
	g.sampling.RepeatLastN = -1
	if v, ok := p.integer("seed", math.MinInt64, math.MaxInt64); ok {
		g.sampling.Seed = uint64(v)
	} else {
		g.sampling.Seed = rand.Uint64()
	}
	g.stop = parseStop(p)
	// Not implemented: refuse rather than silently ignore a request that changes sampling.
	if raw, ok := p.raw("logit_bias"); ok && string(raw) != "null" && string(raw) != "{}" {
		p.fail("logit_bias", "logit_bias is not supported")
	}
	if v, ok := p.integer("priority", math.MinInt32, math.MaxInt32); ok {
		g.priority = int(v)
	}
	g.ignoreEOS, _ = p.boolean("ignore_eos")
	if chat {
		g.logprobs, _ = p.boolean("logprobs")
		if v, ok := p.integer("top_logprobs", 0, maxTopLogprobs); ok {
			if !g.logprobs && v > 0 {
				p.fail("top_logprobs", "top_logprobs requires logprobs to be true")
			}
			g.topLogprobs = int(v)
		}
	} else if v, ok := p.integer("logprobs", 0, maxLegacyLP); ok {
		g.logprobs, g.topLogprobs = true, int(v)
	}
	return g
}

// parseStop reads stop: a string or an array of strings. Empty strings are dropped (they
// would match at once).
func parseStop(p *parser) []string {
	v, ok := p.raw("stop")
	if !ok {
		return nil
	}
	var list []string
	if s, ok := decodeString(v); ok {
		list = []string{s}
	} else if v[0] != '[' || json.Unmarshal(v, &list) != nil {
		p.fail("stop", "stop must be a string or an array of strings, got %s", jsonKind(v))
		return nil
	}
	if len(list) > maxStops {
		p.fail("stop", "stop has %d strings; at most %d are allowed", len(list), maxStops)
		return nil
	}
	out := list[:0]
	for i, s := range list {
		if len(s) > maxStopLen {
			p.fail("stop", "stop[%d] is %d bytes long; at most %d are allowed", i, len(s), maxStopLen)
			return nil
		}
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// requests builds the engine requests for one prompt: n copies (the engine's prefix cache
// shares their blocks). Copy i samples with seed+i so that the choices differ but the whole
// response stays reproducible for a given seed.
func (g *genParams) requests(prompt []int32) []engine.Request {
	out := make([]engine.Request, g.n)
	for i := range out {
		sp := g.sampling
		sp.Seed += uint64(i)
		out[i] = engine.Request{
			Prompt: prompt, MaxTokens: g.maxTokens, Sampling: sp, Stop: g.stop,
			IgnoreEOS: g.ignoreEOS, Logprobs: g.logprobs, TopLogprobs: g.topLogprobs, Priority: g.priority,
		}
	}
	return out
}

// checkContext rejects a prompt that, with max_tokens, does not fit the context: the API never
// truncates silently. promptParam names the parameter holding the prompt.
func (g *genParams) checkContext(nPrompt, nCtx int, promptParam string) *apiError {
	if nPrompt >= nCtx {
		e := badParam(promptParam, fmt.Sprintf("This model's maximum context length is %d tokens. However, the prompt has %d tokens, which leaves no room for the completion.", nCtx, nPrompt))
		e.Code = strp("context_length_exceeded")
		return e
	}
	if g.maxTokens > 0 && nPrompt+g.maxTokens > nCtx {
		e := badParam(g.maxParam, fmt.Sprintf("This model's maximum context length is %d tokens. However, you requested %d tokens (%d in the prompt, %d for the completion). Please reduce the prompt or %s.", nCtx, nPrompt+g.maxTokens, nPrompt, g.maxTokens, g.maxParam))
		e.Code = strp("context_length_exceeded")
		return e
	}
	return nil
}
