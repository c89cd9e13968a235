package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/golem-llm/golem/tokenizer"
)

// parsePrompts reads a prompt parameter (prompt, input): a string, an array of token ids, or a
// non-empty array of either. Strings are tokenized as llama-server does; token ids are used
// as given (no BOS added) and must be in the vocabulary.
func parsePrompts(p *parser, tok *tokenizer.Tokenizer, k string) [][]int32 {
	v, ok := p.raw(k)
	if !ok {
		if p.err == nil {
			p.fail(k, "%s is required", k)
		}
		return nil
	}
	if s, ok := decodeString(v); ok {
		ids, err := encodePrompt(tok, s)
		if err != nil {
			p.fail(k, "tokenizing %s: %v", k, err)
			return nil
		}
		return [][]int32{ids}
	}
	var items []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &items) != nil {
		p.fail(k, "%s must be a string, an array of token ids, or an array of those, got %s", k, jsonKind(v))
		return nil
	}
	if len(items) == 0 {
		p.fail(k, "%s must not be an empty array", k)
		return nil
	}
	if _, isNum := number(items[0]); isNum {
		ids := tokenIDs(p, tok, k, items)
		if ids == nil {
			return nil
		}
		return [][]int32{ids}
	}
	if len(items) > maxPrompts {
		p.fail(k, "%s has %d entries; at most %d are allowed in one request", k, len(items), maxPrompts)
		return nil
	}
	out := make([][]int32, 0, len(items))
	for i, it := range items {
		at := fmt.Sprintf("%s[%d]", k, i)
		if s, ok := decodeString(it); ok {
			ids, err := encodePrompt(tok, s)
			if err != nil {
				p.fail(at, "tokenizing %s: %v", at, err)
				return nil
			}
			out = append(out, ids)
			continue
		}
		var sub []json.RawMessage
		if len(it) == 0 || it[0] != '[' || json.Unmarshal(it, &sub) != nil {
			p.fail(at, "%s must be a string or an array of token ids, got %s", at, jsonKind(it))
			return nil
		}
		ids := tokenIDs(p, tok, at, sub)
		if ids == nil {
			return nil
		}
		out = append(out, ids)
	}
	return out
}

// tokenIDs checks a token-id array: integers in [0, vocabulary size).
func tokenIDs(p *parser, tok *tokenizer.Tokenizer, at string, items []json.RawMessage) []int32 {
	if len(items) == 0 {
		p.fail(at, "%s must not be empty", at)
		return nil
	}
	nv := tok.NVocab()
	ids := make([]int32, len(items))
	for i, it := range items {
		x, ok := number(it)
		if !ok || x != math.Trunc(x) || x < 0 || x >= float64(nv) {
			p.fail(at, "%s[%d]: %s is not a token id (integers 0 to %d)", at, i, string(truncate(it, 40)), nv-1)
			return nil
		}
		ids[i] = int32(x)
	}
	return ids
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	f, aerr := s.readBody(w, r)
	if aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	p := &parser{f: f}
	if aerr := checkModel(p, m); aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	tok := m.Backend.Tokenizer()
	prompts := parsePrompts(p, tok, "prompt")
	g := parseGen(p, 16, false) // OpenAI's legacy default: 16 tokens
	if echo, _ := p.boolean("echo"); echo {
		p.fail("echo", "echo is not supported")
	}
	if sfx, _ := p.str("suffix"); sfx != "" {
		p.fail("suffix", "suffix is not supported")
	}
	if v, ok := p.integer("best_of", 1, maxN); ok && int(v) != g.n && v != 1 {
		p.fail("best_of", "best_of other than 1 or n is not supported")
	}
	if p.err != nil {
		s.fail(w, rl, p.err)
		return
	}
	if len(prompts)*g.n > maxPrompts {
		s.fail(w, rl, badParam("n", fmt.Sprintf("%d prompts × n=%d is more than %d choices", len(prompts), g.n, maxPrompts)))
		return
	}
	for _, ids := range prompts {
		if aerr := g.checkContext(len(ids), m.Backend.ContextSize(), "prompt"); aerr != nil {
			s.fail(w, rl, aerr)
			return
		}
	}
	rl.id = newID("cmpl-")
	rl.model = m.Name
	cf := &completionFormat{id: rl.id, created: time.Now().Unix(), model: m.Name, tok: tok, logprobs: g.logprobs, offsets: make([]int, len(prompts)*g.n)}
	s.run(w, r, m, rl, &job{prompts: prompts, g: g, promptParam: "prompt", f: cf})
}

// completionFormat renders text_completion objects with legacy logprobs.
type completionFormat struct {
	id       string
	created  int64
	model    string
	tok      *tokenizer.Tokenizer
	logprobs bool
	offsets  []int // streamed text offset per choice
}

type completionChoice struct {
	Index        int            `json:"index"`
	Text         string         `json:"text"`
	Logprobs     *legacyLogprob `json:"logprobs"`
	FinishReason *string        `json:"finish_reason"`
}

// legacyLogprob is /v1/completions' logprobs object: parallel arrays per token; text_offset is
// the byte offset of each token's text in the completion.
type legacyLogprob struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

func (f *completionFormat) add(lp *legacyLogprob, t *tokenLP, offset int) int {
	text, _ := pieceOf(f.tok, t.id)
	top := make(map[string]float64, len(t.top))
	for _, a := range t.top {
		k, _ := pieceOf(f.tok, a.ID)
		if _, dup := top[k]; !dup { // the most likely of tokens with the same text
			top[k] = finiteLP(a.Logprob)
		}
	}
	lp.Tokens = append(lp.Tokens, text)
	lp.TokenLogprobs = append(lp.TokenLogprobs, finiteLP(t.logprob))
	lp.TopLogprobs = append(lp.TopLogprobs, top)
	lp.TextOffset = append(lp.TextOffset, offset)
	return offset + len(text)
}

func (f *completionFormat) first(int) any { return nil }

func (f *completionFormat) delta(i int, text string, t *tokenLP, finish string) any {
	c := completionChoice{Index: i, Text: text}
	if t != nil {
		c.Logprobs = &legacyLogprob{}
		f.offsets[i] = f.add(c.Logprobs, t, f.offsets[i])
	}
	if finish != "" {
		c.FinishReason = &finish
	}
	return completionResponse{ID: f.id, Object: "text_completion", Created: f.created, Model: f.model, Choices: []completionChoice{c}}
}

func (f *completionFormat) usageChunk(u usage) any {
	return completionResponse{ID: f.id, Object: "text_completion", Created: f.created, Model: f.model, Choices: []completionChoice{}, Usage: &u}
}

func (f *completionFormat) response(cs []*choice, u usage) any {
	out := completionResponse{ID: f.id, Object: "text_completion", Created: f.created, Model: f.model, Usage: &u, Choices: make([]completionChoice, len(cs))}
	for i, c := range cs {
		fin := c.finish
		ch := completionChoice{Index: i, Text: c.text.String(), FinishReason: &fin}
		if f.logprobs {
			ch.Logprobs = &legacyLogprob{}
			off := 0
			for k := range c.lps {
				off = f.add(ch.Logprobs, &c.lps[k], off)
			}
		}
		out.Choices[i] = ch
	}
	return out
}

// embeddings answers POST /v1/embeddings with last-token pooling: the final-norm hidden state
// of each input's last token, L2-normalized (llama.cpp's --pooling last with
// --embd-normalize 2). encoding_format "base64" sends the little-endian float32 bytes.
func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	f, aerr := s.readBody(w, r)
	if aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	p := &parser{f: f}
	if aerr := checkModel(p, m); aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	tok := m.Backend.Tokenizer()
	inputs := parsePrompts(p, tok, "input")
	format := "float"
	if v, ok := p.str("encoding_format"); ok {
		if v != "float" && v != "base64" {
			p.fail("encoding_format", "encoding_format must be \"float\" or \"base64\", got %q", v)
		}
		format = v
	}
	if _, ok := p.raw("dimensions"); ok {
		p.fail("dimensions", "dimensions is not supported: the embedding has the model's width")
	}
	if p.err != nil {
		s.fail(w, rl, p.err)
		return
	}
	nctx := m.Backend.ContextSize()
	total := 0
	for i, ids := range inputs {
		if len(ids) > nctx {
			e := badParam("input", fmt.Sprintf("input[%d] has %d tokens; the model's context is %d tokens", i, len(ids), nctx))
			e.Code = strp("context_length_exceeded")
			s.fail(w, rl, e)
			return
		}
		total += len(ids)
	}
	rl.id, rl.model, rl.promptTokens, rl.choices = newID("embd-"), m.Name, total, len(inputs)
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, len(inputs))
	for i, ids := range inputs {
		vec, err := m.Backend.Embed(r.Context(), ids)
		if err != nil {
			if r.Context().Err() != nil {
				rl.errMsg = "client disconnected"
				return
			}
			s.fail(w, rl, submitErrorEmbed(err))
			return
		}
		data[i] = item{Object: "embedding", Index: i, Embedding: vec}
		if format == "base64" {
			b := make([]byte, 4*len(vec))
			for k, x := range vec {
				binary.LittleEndian.PutUint32(b[4*k:], math.Float32bits(x))
			}
			data[i].Embedding = base64.StdEncoding.EncodeToString(b)
		}
	}
	s.writeJSON(w, map[string]any{"object": "list", "data": data, "model": m.Name,
		"usage": map[string]int{"prompt_tokens": total, "total_tokens": total}})
}

func submitErrorEmbed(err error) *apiError {
	e := submitError(err, "input")
	if e.Status == http.StatusBadRequest && e.Code == nil && e.Param == nil {
		return errInternal("computing the embedding: " + err.Error())
	}
	return e
}
