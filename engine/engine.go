// Package engine serves many generation requests at once on one model: a single goroutine
// owns the model, the paged KV cache and the scheduler, and each step runs one forward pass
// over a ragged batch of every running sequence (decode tokens and prompt chunks), so the
// weights are read once per step for everyone (continuous batching, as vLLM does).
//
// Requests join and leave between steps; cancellation is observed at the next step. A
// seeded or greedy request yields the same tokens alone or batched with others: every
// matmul row and every attention row depends only on its own sequence.
package engine

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
	"github.com/golem-llm/golem/sample"
	"github.com/golem-llm/golem/sched"
	"github.com/golem-llm/golem/tokenizer"
)

// Config configures an Engine. Zero values take the defaults in brackets.
type Config struct {
	Model          *model.Model
	Tokenizer      *tokenizer.Tokenizer
	Context        int    // max prompt + generated tokens per request [min(training context, 4096)]
	BlockSize      int    // KV block size in tokens [16]
	KVMemory       int64  // KV cache budget in bytes [a fifth of RAM, capped to what Context×MaxSeqs needs]
	KVType         string // "f16" [default], "f32", "q8_0"
	MaxBatchTokens int    // per-step token budget [512, or MaxSeqs if larger]; ≥ MaxSeqs
	MaxSeqs        int    // max running sequences [64, or MaxBatchTokens if smaller]
	MaxWaiting     int    // waiting-queue limit [1024]
}

// Engine runs requests. Create it with New; all methods are safe for concurrent use.
type Engine struct {
	cfg Config
	m   *model.Model
	tok *tokenizer.Tokenizer
	mgr *kvcache.Manager
	kv  *kvcache.Paged
	sch *sched.Scheduler

	mu       sync.Mutex
	inbox    []*request // submitted, not yet given to the scheduler
	aborts   []int
	embeds   []*embedJob
	waiting  int // submitted and not finished
	draining bool
	closed   bool
	wake     chan struct{}
	done     chan struct{}
	nextID   int
	stats    Stats

	// engine-goroutine state
	reqs         map[int]*request
	batch        model.Batch
	results      []sched.Result
	smpScratch   sample.Scratch
	promptTokens int64     // Stats.PromptTokens
	emit         []emitted // token events of the current step, pushed after Update
}

type emitted struct {
	q  *request
	ev Event
}

type request struct {
	id      int
	r       Request
	ctx     context.Context
	stopCtx func() bool
	out     *eventQueue
	smp     *sample.Sampler
	dec     *tokenizer.Decoder
	stop    *sample.StopMatcher
	top     []sample.TopLogprob
	start   time.Time
	usage   Usage
	started bool
	aborted bool
}

type embedJob struct {
	ctx    context.Context
	tokens []int32
	out    []float32
	err    error
	done   chan struct{}
}

// New builds the engine and starts its goroutine.
func New(cfg Config) (*Engine, error) {
	if cfg.Model == nil || cfg.Tokenizer == nil {
		return nil, fmt.Errorf("engine: Config needs Model and Tokenizer")
	}
	m := cfg.Model
	for _, v := range []struct {
		name string
		n    int64
	}{{"Context", int64(cfg.Context)}, {"BlockSize", int64(cfg.BlockSize)}, {"KVMemory", cfg.KVMemory},
		{"MaxBatchTokens", int64(cfg.MaxBatchTokens)}, {"MaxSeqs", int64(cfg.MaxSeqs)}, {"MaxWaiting", int64(cfg.MaxWaiting)}} {
		if v.n < 0 {
			return nil, fmt.Errorf("engine: %s %d is negative (0 means the default)", v.name, v.n)
		}
	}
	if cfg.Context == 0 {
		cfg.Context = min(m.NCtxTrain, 4096)
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = kvcache.DefaultBlockSize
	}
	switch {
	case cfg.MaxBatchTokens > 0 && cfg.MaxSeqs > cfg.MaxBatchTokens:
		// As vLLM: a step must have room for one token of every running sequence.
		return nil, fmt.Errorf("engine: MaxBatchTokens %d is below MaxSeqs %d: every running sequence needs a token of each step's budget", cfg.MaxBatchTokens, cfg.MaxSeqs)
	case cfg.MaxSeqs == 0:
		cfg.MaxSeqs = 64
		if cfg.MaxBatchTokens > 0 {
			cfg.MaxSeqs = min(64, cfg.MaxBatchTokens)
		}
	}
	if cfg.MaxBatchTokens == 0 {
		cfg.MaxBatchTokens = max(512, cfg.MaxSeqs)
	}
	if cfg.MaxWaiting == 0 {
		cfg.MaxWaiting = 1024
	}
	typ, err := kvType(cfg.KVType)
	if err != nil {
		return nil, err
	}
	if cfg.KVType == "" {
		cfg.KVType = "f16"
	}
	pc := kvcache.PagedConfig{NLayer: m.NLayer, NHeadKV: m.NHeadKV, HeadDim: m.HeadDim, BlockSize: cfg.BlockSize, Type: typ, Pool: m.Pool()}
	blockBytes, err := pc.BlockBytes()
	if err != nil {
		return nil, err
	}
	pc.Budget = cfg.KVMemory
	if pc.Budget <= 0 {
		// A fifth of the machine's RAM (1 GiB when unknown), but never more than every
		// running sequence at full context needs.
		share := int64(1 << 30)
		if ram := physicalMemory(); ram > 0 {
			share = ram / 5
		}
		need := int64(cfg.MaxSeqs) * int64((cfg.Context+cfg.BlockSize-1)/cfg.BlockSize) * blockBytes
		pc.Budget = max(min(share, need), int64((cfg.Context+cfg.BlockSize-1)/cfg.BlockSize)*blockBytes)
	}
	if nb := pc.Budget / blockBytes; nb*int64(cfg.BlockSize) < int64(cfg.Context) {
		return nil, fmt.Errorf("engine: KV memory of %d bytes holds %d blocks of %d tokens, less than one context of %d tokens (a block takes %d bytes)",
			pc.Budget, nb, cfg.BlockSize, cfg.Context, blockBytes)
	}
	kv, err := kvcache.NewPaged(pc)
	if err != nil {
		return nil, err
	}
	mgr := kv.Blocks()
	sch, err := sched.New(sched.Config{MaxBatchTokens: cfg.MaxBatchTokens, MaxSeqs: cfg.MaxSeqs, MaxModelLen: cfg.Context}, mgr)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg: cfg, m: m, tok: cfg.Tokenizer, mgr: mgr, kv: kv, sch: sch,
		wake: make(chan struct{}, 1), done: make(chan struct{}), reqs: map[int]*request{},
	}
	e.stats.KVBlocks = mgr.NumBlocks()
	go e.loop()
	return e, nil
}

// kvType maps a --kv-type name to the storage type ("" is F16, llama.cpp's default).
func kvType(name string) (gguf.Type, error) {
	switch name {
	case "", "f16":
		return gguf.TypeF16, nil
	case "f32":
		return gguf.TypeF32, nil
	case "q8_0":
		return gguf.TypeQ8_0, nil
	}
	return 0, fmt.Errorf("engine: KV cache type %q is not supported (supported: f16, f32, q8_0)", name)
}

// KVBytesPerToken returns the K/V cache bytes one token takes in model m with cache type
// kvTypeName (2 · n_layer · n_head_kv · head_dim elements), or 0 for an unknown type.
func KVBytesPerToken(m *model.Model, kvTypeName string) int64 {
	t, err := kvType(kvTypeName)
	if err != nil {
		return 0
	}
	row, err := t.RowSize(int64(m.NHeadKV * m.HeadDim))
	if err != nil {
		return 0
	}
	return 2 * int64(m.NLayer) * row
}

// Tokenizer returns the model's tokenizer.
func (e *Engine) Tokenizer() *tokenizer.Tokenizer { return e.tok }

// ContextSize returns the maximum prompt + generated tokens of a request.
func (e *Engine) ContextSize() int { return e.cfg.Context }

// Config returns the effective configuration (defaults filled in).
func (e *Engine) Config() Config { return e.cfg }

// Stats returns a snapshot of the engine's gauges and counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Submit queues a request and returns its event stream. Cancelling ctx aborts the request
// at the next step (the stream then ends with FinishReason "abort"). Errors: ErrEmptyPrompt,
// ErrTooLong (prompt + MaxTokens beyond the context), ErrQueueFull, ErrDraining, or a token
// id outside the vocabulary.
func (e *Engine) Submit(ctx context.Context, r Request) (<-chan Event, error) {
	if len(r.Prompt) == 0 {
		return nil, ErrEmptyPrompt
	}
	for i, t := range r.Prompt {
		if t < 0 || int(t) >= e.m.NVocab {
			return nil, fmt.Errorf("engine: prompt token %d at index %d is outside the vocabulary (n_vocab %d)", t, i, e.m.NVocab)
		}
	}
	if r.MaxTokens <= 0 {
		r.MaxTokens = e.cfg.Context - len(r.Prompt)
	}
	if len(r.Prompt)+r.MaxTokens > e.cfg.Context || r.MaxTokens <= 0 {
		return nil, fmt.Errorf("%w: %d prompt tokens + %d max tokens > context %d", ErrTooLong, len(r.Prompt), r.MaxTokens, e.cfg.Context)
	}
	if r.TopLogprobs < 0 || r.TopLogprobs > 20 {
		return nil, fmt.Errorf("engine: top_logprobs %d outside 0–20", r.TopLogprobs)
	}
	r.Prompt = append([]int32(nil), r.Prompt...)
	q := &request{r: r, ctx: ctx, out: newEventQueue(), start: time.Now()}
	// Sampling runs on the engine goroutine only, one request after another: one Scratch
	// for all, so a request's first token does not allocate vocabulary-sized buffers.
	q.smp = sample.NewShared(r.Sampling, &e.smpScratch)
	for _, t := range r.Prompt {
		q.smp.Accept(t)
	}
	q.dec = e.tok.NewDecoder(false)
	q.stop = sample.NewStopMatcher(r.Stop)
	q.usage.PromptTokens = len(r.Prompt)

	e.mu.Lock()
	switch {
	case e.draining || e.closed:
		e.mu.Unlock()
		return nil, ErrDraining
	case e.waiting >= e.cfg.MaxWaiting+e.cfg.MaxSeqs:
		e.mu.Unlock()
		return nil, ErrQueueFull
	}
	e.nextID++
	q.id = e.nextID
	e.waiting++
	e.mu.Unlock()
	// Registered before the engine can see the request, so finish may call stopCtx. An
	// abort that arrives before admission is caught by admit's ctx check.
	id := q.id
	q.stopCtx = context.AfterFunc(ctx, func() {
		e.mu.Lock()
		e.aborts = append(e.aborts, id)
		e.mu.Unlock()
		e.signal()
	})
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		e.finish(q, "abort", nil) // closed meanwhile: the loop will not read the inbox again
		return q.out.ch, nil
	}
	e.inbox = append(e.inbox, q)
	e.mu.Unlock()
	e.signal()
	return q.out.ch, nil
}

// Embed returns the L2-normalized final-norm hidden state of the last token of tokens
// (last-token pooling, as decoder-only embedding models such as E5-Mistral use). It runs on
// the engine goroutine between steps.
func (e *Engine) Embed(ctx context.Context, tokens []int32) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, ErrEmptyPrompt
	}
	if len(tokens) > e.cfg.Context {
		return nil, fmt.Errorf("%w: %d tokens > context %d", ErrTooLong, len(tokens), e.cfg.Context)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= e.m.NVocab {
			return nil, fmt.Errorf("engine: token %d at index %d is outside the vocabulary (n_vocab %d)", t, i, e.m.NVocab)
		}
	}
	j := &embedJob{ctx: ctx, tokens: tokens, done: make(chan struct{})}
	e.mu.Lock()
	if e.draining || e.closed {
		e.mu.Unlock()
		return nil, ErrDraining
	}
	e.embeds = append(e.embeds, j)
	e.mu.Unlock()
	e.signal()
	select {
	case <-j.done:
		return j.out, j.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Drain stops accepting requests and waits for the in-flight ones to finish; when ctx ends
// first, the rest are aborted. The engine keeps running until Close.
func (e *Engine) Drain(ctx context.Context) error {
	e.mu.Lock()
	e.draining = true
	e.mu.Unlock()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		e.mu.Lock()
		n := e.waiting
		e.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			e.mu.Lock()
			for id := 1; id <= e.nextID; id++ {
				e.aborts = append(e.aborts, id)
			}
			e.mu.Unlock()
			e.signal()
			for {
				e.mu.Lock()
				n := e.waiting
				e.mu.Unlock()
				if n == 0 {
					return ctx.Err()
				}
				time.Sleep(5 * time.Millisecond)
			}
		case <-t.C:
		}
	}
}

// Close aborts everything and stops the engine goroutine.
func (e *Engine) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	e.mu.Unlock()
	e.signal()
	<-e.done
}

// loop is the engine goroutine: take inputs, schedule, run one step, emit.
func (e *Engine) loop() {
	defer close(e.done)
	for {
		e.mu.Lock()
		inbox, aborts, embeds, closed := e.inbox, e.aborts, e.embeds, e.closed
		e.inbox, e.aborts, e.embeds = nil, nil, nil
		e.mu.Unlock()
		if closed {
			e.shutdown(inbox)
			for _, j := range embeds {
				j.err = ErrDraining
				close(j.done)
			}
			return
		}
		for _, q := range inbox {
			e.admit(q)
		}
		for _, id := range aborts {
			e.abort(id)
		}
		for _, j := range embeds {
			e.embed(j)
		}
		if e.sch.Idle() {
			e.publish() // aborts and admissions changed the gauges
			<-e.wake
			continue
		}
		e.step()
	}
}

func (e *Engine) admit(q *request) {
	if q.ctx.Err() != nil {
		e.finish(q, "abort", nil)
		return
	}
	err := e.sch.Add(sched.Request{ID: q.id, Prompt: q.r.Prompt, MaxTokens: q.r.MaxTokens, Priority: q.r.Priority})
	if err != nil {
		e.finish(q, "error", err)
		return
	}
	e.reqs[q.id] = q
}

func (e *Engine) abort(id int) {
	q, ok := e.reqs[id]
	if !ok || q.aborted {
		return
	}
	q.aborted = true
	e.sch.Abort(id)
	delete(e.reqs, id)
	e.publish() // before the stream closes, as in step
	e.finish(q, "abort", nil)
}

// step runs one scheduled forward pass.
func (e *Engine) step() {
	plan := e.sch.Schedule()
	if len(plan.Work) == 0 {
		// Nothing runnable this instant (e.g. every request waits on in-flight blocks of
		// an aborted owner); the scheduler guarantees progress on the next call.
		e.sch.Update(nil)
		return
	}
	b := &e.batch
	b.Seqs = b.Seqs[:0]
	for _, w := range plan.Work {
		mode := model.LogitsNone
		if w.Logits {
			mode = model.LogitsLast
		}
		b.Seqs = append(b.Seqs, model.Seq{ID: w.ID, Pos: w.Pos, Tokens: w.Tokens, Logits: mode})
		if q := e.reqs[w.ID]; q != nil {
			if !q.started {
				q.started = true
				q.usage.QueueTime = time.Since(q.start)
			}
			if q.usage.Preemptions == 0 {
				// The skipped positions are w.Pos-w.Cached … w.Pos-1; count the prompt's.
				// After a preemption the request skips its own recomputed tokens, which
				// were not served by the cache the first time (vLLM also counts the
				// first scheduling only).
				lo, hi := w.Pos-w.Cached, min(w.Pos, len(q.r.Prompt))
				q.usage.CachedTokens += max(0, hi-lo)
			}
		}
	}
	for _, id := range plan.Preempted {
		if q := e.reqs[id]; q != nil {
			q.usage.Preemptions++
		}
	}
	logits, err := e.m.Forward(b, e.kv)
	e.results = e.results[:0]
	if err != nil {
		// A model error fails every request of the step; the scheduler then drops them.
		for _, w := range plan.Work {
			if q := e.reqs[w.ID]; q != nil {
				e.sch.Abort(w.ID)
				delete(e.reqs, w.ID)
				e.finish(q, "error", err)
			}
		}
		e.sch.Update(nil)
		return
	}
	e.emit = e.emit[:0]
	li := 0
	for _, w := range plan.Work {
		if !w.Logits {
			continue
		}
		lg := logits[li]
		li++
		q := e.reqs[w.ID]
		if q == nil {
			continue
		}
		tok := q.smp.Sample(lg)
		q.smp.Accept(tok)
		ev := Event{Token: tok}
		if q.r.Logprobs || q.r.TopLogprobs > 0 {
			ev.Logprob, q.top = sample.Logprobs(lg, tok, q.r.TopLogprobs, q.top[:0])
			if len(q.top) > 0 {
				ev.Top = append([]sample.TopLogprob(nil), q.top...)
			}
		}
		stop := false
		eog := e.tok.IsEOG(tok) && !q.r.IgnoreEOS
		if eog {
			stop = true
		} else {
			text, stopped := q.stop.Push(q.dec.Add(tok))
			ev.Text = text
			stop = stopped
		}
		if q.usage.TTFT == 0 {
			q.usage.TTFT = time.Since(q.start)
			e.promptTokens += int64(len(q.r.Prompt))
		}
		e.results = append(e.results, sched.Result{ID: w.ID, Token: tok, Stop: stop})
		if !eog { // the EOG token itself is not part of the text or the completion
			e.emit = append(e.emit, emitted{q: q, ev: ev})
		}
	}
	finished, err := e.sch.Update(e.results)
	if err != nil {
		panic(fmt.Sprintf("engine: scheduler rejected its own plan's results: %v", err)) // a bug, not input
	}
	for _, x := range e.emit {
		x.q.usage.CompletionTokens++
		x.q.out.push(x.ev)
	}
	clear(e.emit) // drop references to finished requests
	// Publish before the finished streams close, so that a client that sees its stream end
	// also sees its blocks released in Stats.
	e.publish()
	for _, f := range finished {
		q := e.reqs[f.ID]
		if q == nil {
			continue
		}
		delete(e.reqs, f.ID)
		e.finish(q, f.Reason.String(), nil)
	}
}

// publish copies the scheduler's gauges and counters into the snapshot Stats returns.
func (e *Engine) publish() {
	st := e.sch.Stats()
	e.mu.Lock()
	e.stats.Running, e.stats.Waiting = e.sch.NumRunning(), e.sch.NumWaiting()
	e.stats.KVBlocksUsed, e.stats.KVBlocksCached = e.mgr.NumUsed(), e.mgr.NumCached()
	e.stats.PrefixQueries, e.stats.PrefixHits = int64(st.CacheQueried), int64(st.CacheHit)
	e.stats.Preemptions = int64(st.Preemptions)
	e.stats.PromptTokens = e.promptTokens
	e.stats.PromptTokensComputed = int64(st.PromptTokens)
	e.stats.GenerationTokens = int64(st.DecodeTokens)
	e.stats.Steps = int64(st.Steps)
	e.mu.Unlock()
}

// finish sends the final event and closes the stream.
func (e *Engine) finish(q *request, reason string, err error) {
	if q.stopCtx != nil {
		q.stopCtx()
	}
	ev := Event{Done: true, FinishReason: reason, Err: err}
	if reason != "abort" && reason != "error" && !q.stop.Stopped() {
		tail, _ := q.stop.Push(q.dec.Flush())
		ev.Text = tail + q.stop.Flush()
	}
	q.usage.E2E = time.Since(q.start)
	ev.Usage = q.usage
	q.out.push(ev)
	q.out.close()
	e.mu.Lock()
	e.waiting--
	e.mu.Unlock()
}

func (e *Engine) shutdown(inbox []*request) {
	for _, q := range inbox {
		e.finish(q, "abort", nil)
	}
	for id, q := range e.reqs {
		e.sch.Abort(id)
		delete(e.reqs, id)
		e.finish(q, "abort", nil)
	}
}

// embed runs a prompt through the model in a private contiguous cache.
func (e *Engine) embed(j *embedJob) {
	defer close(j.done)
	if err := j.ctx.Err(); err != nil {
		j.err = err
		return
	}
	m := e.m
	kv := kvcache.NewContiguous(m.NLayer, len(j.tokens), m.NHeadKV*m.HeadDim, false, m.Pool())
	bs := e.cfg.MaxBatchTokens
	for p := 0; p < len(j.tokens); p += bs {
		end := min(p+bs, len(j.tokens))
		mode := model.LogitsNone
		if end == len(j.tokens) {
			mode = model.LogitsLast
		}
		if _, err := m.Forward(&model.Batch{Seqs: []model.Seq{{Pos: p, Tokens: j.tokens[p:end], Logits: mode}}}, kv); err != nil {
			j.err = err
			return
		}
	}
	h := m.Hidden()[0]
	var ss float64
	for _, v := range h {
		ss += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(max(ss, 1e-24)))
	j.out = make([]float32, len(h))
	for i, v := range h {
		j.out[i] = v * inv
	}
}
