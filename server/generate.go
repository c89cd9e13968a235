package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/sample"
	"github.com/golem-llm/golem/tokenizer"
)

// usage is OpenAI's usage object.
type usage struct {
	PromptTokens        int           `json:"prompt_tokens"`
	CompletionTokens    int           `json:"completion_tokens"`
	TotalTokens         int           `json:"total_tokens"`
	PromptTokensDetails *promptDetail `json:"prompt_tokens_details,omitempty"`
}

type promptDetail struct {
	CachedTokens int `json:"cached_tokens"`
}

// tokenLP is one generated token's log-probability and alternatives.
type tokenLP struct {
	id      int32
	logprob float32
	top     []sample.TopLogprob
}

// choice accumulates one engine request's stream.
type choice struct {
	text    strings.Builder
	tokens  int
	finish  string
	err     error
	usage   engine.Usage
	lps     []tokenLP
	lastTok time.Time
}

// event is one engine event of choice i, stamped when it arrived.
type event struct {
	i  int
	e  engine.Event
	at time.Time
}

// formatter renders the endpoint-specific JSON (chat or legacy completions).
type formatter interface {
	// first is the chunk opening choice i (nil for none).
	first(i int) any
	// delta is a chunk carrying text (and the token's log-probability, when requested);
	// finish is "" except in a choice's last chunk.
	delta(i int, text string, lp *tokenLP, finish string) any
	// usageChunk is the stream_options.include_usage chunk.
	usageChunk(u usage) any
	// response is the non-streamed body.
	response(cs []*choice, u usage) any
}

// job is a validated generation request: prompts, each sampled n times (choice index
// prompt×n + copy, as OpenAI numbers them).
type job struct {
	prompts     [][]int32
	g           genParams
	promptParam string
	f           formatter
}

// submitError maps an engine.Submit error to an API error.
func submitError(err error, promptParam string) *apiError {
	switch {
	case errors.Is(err, engine.ErrQueueFull):
		return &apiError{Status: http.StatusTooManyRequests, Message: "The server is at capacity (waiting queue full); retry later.",
			Type: "rate_limit_error", Code: strp("rate_limit_exceeded"), RetryAfter: 1}
	case errors.Is(err, engine.ErrDraining):
		return errUnavailable("The server is shutting down.")
	case errors.Is(err, engine.ErrTooLong):
		e := badParam(promptParam, "The prompt with max_tokens does not fit the model's context: "+err.Error())
		e.Code = strp("context_length_exceeded")
		return e
	case errors.Is(err, engine.ErrEmptyPrompt):
		return badParam(promptParam, promptParam+" is empty")
	}
	return badRequest(err.Error(), "")
}

// start submits every choice of j. On failure the ones already submitted are cancelled (and
// their streams drained in the background). The returned channel carries every event of every
// choice and is closed after the last final event.
func (s *Server) start(ctx context.Context, b Backend, j *job) (<-chan event, context.CancelFunc, *apiError) {
	ctx, cancel := context.WithCancel(ctx)
	var chans []<-chan engine.Event
	for _, p := range j.prompts {
		for _, req := range j.g.requests(p) {
			ch, err := b.Submit(ctx, req)
			if err != nil {
				cancel()
				for _, c := range chans {
					go func() {
						for range c {
						}
					}()
				}
				return nil, nil, submitError(err, j.promptParam)
			}
			chans = append(chans, ch)
		}
	}
	out := make(chan event, 8*len(chans))
	var wg sync.WaitGroup
	for i, c := range chans {
		wg.Go(func() {
			for e := range c {
				out <- event{i: i, e: e, at: time.Now()}
			}
		})
	}
	go func() {
		wg.Wait()
		close(out)
	}()
	return out, cancel, nil
}

// add records an event into c (and the inter-token latency metric).
func (s *Server) add(c *choice, ev event, want bool) {
	if ev.e.Done {
		c.finish, c.err, c.usage = ev.e.FinishReason, ev.e.Err, ev.e.Usage
		c.text.WriteString(ev.e.Text)
		s.metrics.finish(s.modelName(), ev.e.Usage, ev.e.FinishReason)
		return
	}
	c.tokens++
	c.text.WriteString(ev.e.Text)
	if !c.lastTok.IsZero() {
		s.metrics.itl.WithLabelValues(s.modelName()).Observe(ev.at.Sub(c.lastTok).Seconds())
	}
	c.lastTok = ev.at
	if want {
		c.lps = append(c.lps, tokenLP{id: ev.e.Token, logprob: ev.e.Logprob, top: ev.e.Top})
	}
}

// totals sums usage over choices: the prompt counts once per prompt (not per copy); cached
// tokens are those of each prompt's first copy.
func (j *job) totals(cs []*choice) usage {
	var u usage
	for p, toks := range j.prompts {
		u.PromptTokens += len(toks)
		u.PromptTokensDetails = &promptDetail{CachedTokens: cachedOf(u.PromptTokensDetails) + cs[p*j.g.n].usage.CachedTokens}
	}
	for _, c := range cs {
		u.CompletionTokens += c.usage.CompletionTokens
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func cachedOf(d *promptDetail) int {
	if d == nil {
		return 0
	}
	return d.CachedTokens
}

// run submits j and writes the response, streamed or whole.
func (s *Server) run(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog, j *job) {
	rl.stream, rl.choices = j.g.stream, len(j.prompts)*j.g.n
	for _, p := range j.prompts {
		rl.promptTokens += len(p)
	}
	evs, cancel, aerr := s.start(r.Context(), m.Backend, j)
	if aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	defer cancel()
	cs := make([]*choice, rl.choices)
	for i := range cs {
		cs[i] = &choice{}
	}
	defer func() {
		u := j.totals(cs)
		rl.completionTokens, rl.cachedTokens = u.CompletionTokens, cachedOf(u.PromptTokensDetails)
		rl.ttft = cs[0].usage.TTFT
		rl.finish = cs[0].finish
	}()
	if j.g.stream {
		s.stream(w, r, j, cs, evs, cancel)
		return
	}
	for ev := range evs {
		s.add(cs[ev.i], ev, j.g.logprobs)
	}
	for _, c := range cs {
		switch c.finish {
		case "error":
			msg := "generation failed"
			if c.err != nil {
				msg += ": " + c.err.Error()
			}
			s.fail(w, rl, errInternal(msg))
			return
		case "abort":
			if r.Context().Err() != nil {
				rl.errMsg = "client disconnected"
				return // nobody to answer
			}
			s.fail(w, rl, errUnavailable("The request was aborted: the server is shutting down."))
			return
		}
	}
	s.writeJSON(w, j.f.response(cs, j.totals(cs)))
}

// stream writes Server-Sent Events: data: {chunk} lines and data: [DONE]. A write failure
// (client gone) cancels the requests; the events are still drained so that no goroutine is
// left behind.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, j *job, cs []*choice, evs <-chan event, cancel context.CancelFunc) {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	broken := false
	send := func(v any) {
		if broken {
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			b, _ = json.Marshal(map[string]any{"error": errInternal("encoding a chunk: " + err.Error())})
		}
		rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		_, err = w.Write(append(append([]byte("data: "), b...), '\n', '\n'))
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			broken = true
			cancel()
		}
	}
	for i := range cs {
		if f := j.f.first(i); f != nil {
			send(f)
		}
	}
	for ev := range evs {
		c := cs[ev.i]
		s.add(c, ev, j.g.logprobs)
		if !ev.e.Done {
			if ev.e.Text != "" || j.g.logprobs {
				var lp *tokenLP
				if j.g.logprobs {
					lp = &c.lps[len(c.lps)-1]
				}
				send(j.f.delta(ev.i, ev.e.Text, lp, ""))
			}
			continue
		}
		switch ev.e.FinishReason {
		case "error", "abort":
			if r.Context().Err() != nil {
				broken = true // the client is gone
				continue
			}
			e := errUnavailable("The request was aborted: the server is shutting down.")
			if ev.e.FinishReason == "error" {
				e = errInternal("generation failed")
				if ev.e.Err != nil {
					e.Message += ": " + ev.e.Err.Error()
				}
			}
			send(map[string]any{"error": e})
		default:
			send(j.f.delta(ev.i, ev.e.Text, nil, ev.e.FinishReason))
		}
	}
	if j.g.includeUsage {
		send(j.f.usageChunk(j.totals(cs)))
	}
	if !broken {
		rc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		w.Write([]byte("data: [DONE]\n\n"))
		rc.Flush()
	}
}

// finiteLP makes a log-probability JSON-encodable: -Inf and NaN become -9999 (as vLLM).
func finiteLP(x float32) float64 {
	if math.IsInf(float64(x), 0) || math.IsNaN(float64(x)) {
		return -9999
	}
	return float64(x)
}

// pieceOf returns a token's text and bytes as OpenAI reports them (the text may hold U+FFFD
// for a partial UTF-8 sequence; the bytes are exact).
func pieceOf(tok *tokenizer.Tokenizer, id int32) (string, []int) {
	b := tok.TokenToPiece(id, true)
	ints := make([]int, len(b))
	for i, x := range b {
		ints[i] = int(x)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), ints
}

// encodePrompt tokenizes text as llama-server does (tokenizer.EncodePrompt with special tokens).
func encodePrompt(tok *tokenizer.Tokenizer, text string) ([]int32, error) {
	return tok.EncodePrompt(text, true)
}

// modelName is the served model's name for metric labels ("" while loading).
func (s *Server) modelName() string {
	if m := s.model.Load(); m != nil {
		return m.Name
	}
	return ""
}
