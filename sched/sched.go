// Package sched is golem's request scheduler: a pure state machine (as etcd's raft is) with no
// goroutines, no clock and no I/O. Its inputs are events — Add, Abort, and the result of each
// step (Update) — and its output is a Plan for the next step: which sequences run, with which
// tokens at which positions, under a per-step token budget and the KV memory budget of a
// kvcache.Manager. The model is vLLM's scheduler: continuous batching at iteration level, chunked
// prefill, prefix caching (including blocks still being computed by another request), and
// preemption by recompute.
//
// # The engine loop
//
// One goroutine owns the Scheduler, the kvcache.Manager it was given, the kvcache.Paged storage
// built on that manager, and the model. Each step it must:
//
//  1. Call Schedule. An empty plan (len(p.Work) == 0) with Idle() true means nothing to do:
//     wait for Add or Abort. (A non-idle empty plan cannot happen: some request always progresses.)
//  2. Build one ragged model batch from p.Work, in order: for each Work w, feed w.Tokens at
//     positions w.Pos, w.Pos+1, … of KV sequence w.ID (the same integer as the request ID; the
//     Paged cache finds its block table in the manager), and request logits for the last token of
//     w exactly when w.Logits is true. Blocks are already allocated; the engine allocates nothing.
//  3. Run the forward pass (it writes the K/V of every fed token), then for each Work with Logits,
//     sample one token from the logits of its last row.
//  4. Call Update with one Result per Work with Logits, in plan order: the sampled token and
//     Stop=true if the engine's stop conditions (EOS, stop string) end the request with this
//     token. Update returns the requests that finished (including by MaxTokens); their blocks are
//     already released. Emit the sampled tokens of requests not aborted.
//
// p.Preempted lists requests that lost their blocks this step. They stay queued and resume by
// recomputing prompt + generated tokens; their next sampled token simply continues the stream,
// so the engine only uses the list for metrics. Abort may be called at any time on the engine
// goroutine, between Schedule and Update too: a request in the outstanding plan is then dropped
// at Update (its result, if given, is ignored) and its blocks released there, so the forward pass
// never writes blocks that were handed to someone else.
//
// # Policy
//
// Requests are ordered by (Priority, arrival): a lower Priority value runs first, as in vLLM;
// equal priorities are first come, first served. Each step, running sequences that need one token
// (decodes) are scheduled first, each allocating a new block when it crosses a block boundary;
// when no block is available the lowest-priority, newest running sequence is preempted (possibly
// the one asking), until the allocation succeeds. Then prompt chunks of running sequences fill
// the remaining MaxBatchTokens in order, then waiting requests are admitted in order while the
// budget lasts, there is room for MaxSeqs, and the KV blocks for all of their known tokens can be
// allocated; admission never skips ahead of a waiting request that does not fit, so no request
// starves behind smaller ones.
//
// Prefix caching: at admission the longest run of whole blocks of the request's tokens that the
// prefix cache holds — computed, or in flight in another running request — is shared instead of
// computed, and the leading positions of the next block are copied from a block that holds them
// (kvcache.Manager.Admit), so a repeated prompt computes only its last token. The last token is
// never taken from the cache, so its logits are always fresh. A
// request attached to in-flight blocks waits (scheduled for zero tokens) until their owner has
// computed them, then prefills only its tail; tails of many such requests are packed into as few
// steps as the budget allows. If the owner is aborted or preempted first, the next request that
// needs an orphaned block takes it over and computes it.
//
// A request that could never fit — prompt + MaxTokens beyond MaxModelLen, or more blocks than the
// whole cache — is rejected by Add, so every admitted request can run to completion alone, and
// preemption of the newest always makes room for the oldest: no deadlock, no starvation among
// equal priorities.
package sched

import (
	"errors"
	"fmt"
	"slices"

	"github.com/golem-llm/golem/kvcache"
)

// Config holds the scheduler limits.
type Config struct {
	// MaxBatchTokens is the per-step token budget: decode tokens plus prompt-chunk tokens
	// (vLLM's max_num_batched_tokens). Must be ≥ MaxSeqs, so a prompt chunk always gets at
	// least one token beside the decodes.
	MaxBatchTokens int
	// MaxSeqs is the maximum number of running (admitted) sequences (vLLM's max_num_seqs).
	MaxSeqs int
	// MaxModelLen, if > 0, bounds prompt tokens + MaxTokens of every request (the context size).
	MaxModelLen int
}

// Request is a generation request given to Add.
type Request struct {
	ID        int     // unique among live requests; also the KV sequence id
	Prompt    []int32 // token ids, at least one; the scheduler keeps its own copy
	MaxTokens int     // tokens to generate, at least 1
	Priority  int     // lower runs first (vLLM); FCFS among equal priorities
}

// Work is one sequence's share of a step.
type Work struct {
	ID     int     // request (and KV sequence) id
	Pos    int     // position of Tokens[0]; positions 0 … Pos-1 are in the cache
	Tokens []int32 // tokens to feed at Pos, Pos+1, …; a view into scheduler state, read-only, valid until Update
	Logits bool    // Tokens ends the sequence's known tokens: sample the next token from the last row's logits
	Cached int     // positions this sequence skipped since its previous Work because another request or the prefix cache computed them
}

// Plan is the output of Schedule. Its slices are reused by the next Schedule.
type Plan struct {
	Work      []Work // sequences to run this step, decodes first, then prompt chunks in order
	Preempted []int  // requests preempted this step (blocks released, back to waiting)
	Admitted  []int  // requests admitted this step
	Tokens    int    // total tokens in Work (≤ MaxBatchTokens)
	// CacheQueried and CacheHit count prompt tokens looked up in, and found in, the prefix cache
	// at this step's admissions (vLLM's prefix_cache_queries / prefix_cache_hits).
	CacheQueried, CacheHit int
}

// Result reports what the engine sampled for one Work with Logits.
type Result struct {
	ID    int
	Token int32 // the sampled token
	Stop  bool  // the engine's stop condition (EOS, stop string) ends the request with Token
}

// Reason tells why a request finished.
type Reason uint8

const (
	ReasonLength Reason = iota + 1 // reached MaxTokens
	ReasonStop                     // the engine reported Stop
)

func (r Reason) String() string {
	switch r {
	case ReasonLength:
		return "length"
	case ReasonStop:
		return "stop"
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// Finished is a request that ended at Update.
type Finished struct {
	ID     int
	Reason Reason
	Output []int32 // generated tokens (the scheduler's copy; owned by the caller now)
}

// State is where a request is.
type State uint8

const (
	StateUnknown State = iota // not known (never added, or finished/aborted)
	StateWaiting              // queued (new, or preempted and waiting to resume)
	StateRunning              // admitted: holds blocks
)

type seq struct {
	id        int
	prio      int
	arrival   uint64
	tokens    []int32 // prompt + generated
	promptLen int
	maxTokens int
	computed  int // positions 0 … computed-1 are in the cache (computed or skipped)
	running   bool
	planned   bool // in the outstanding plan
	aborted   bool // abort requested while planned
	preempted int  // times preempted
	skipped   int  // positions Skip advanced over since q's last Work (reported as Work.Cached)
}

func (s *seq) generated() int { return len(s.tokens) - s.promptLen }

// Scheduler is the state machine. Create it with New. Not safe for concurrent use.
type Scheduler struct {
	cfg         Config
	kv          *kvcache.Manager
	seqs        map[int]*seq
	waiting     []*seq // sorted by (prio, arrival)
	running     []*seq // sorted by (prio, arrival)
	arrivals    uint64
	plan        Plan
	outstanding bool
	stats       Stats
}

// Stats are cumulative counters.
type Stats struct {
	Steps           int // Schedule calls
	PromptTokens    int // tokens fed that were not sampling a new token's predecessor (prefill work)
	DecodeTokens    int // tokens fed as single-token decodes
	Preemptions     int
	CacheQueried    int
	CacheHit        int
	FinishedLength  int
	FinishedStop    int
	AbortedRequests int
}

// New returns a scheduler allocating KV blocks from kv. kv must not be shared with another
// scheduler; its block tables are keyed by request ID.
func New(cfg Config, kv *kvcache.Manager) (*Scheduler, error) {
	if kv == nil {
		return nil, errors.New("sched: nil kvcache.Manager")
	}
	if cfg.MaxSeqs < 1 {
		return nil, fmt.Errorf("sched: MaxSeqs %d: need at least 1", cfg.MaxSeqs)
	}
	if cfg.MaxBatchTokens < cfg.MaxSeqs {
		return nil, fmt.Errorf("sched: MaxBatchTokens %d is below MaxSeqs %d: prefill could starve behind decodes", cfg.MaxBatchTokens, cfg.MaxSeqs)
	}
	if cfg.MaxModelLen < 0 {
		return nil, fmt.Errorf("sched: MaxModelLen %d is negative", cfg.MaxModelLen)
	}
	return &Scheduler{cfg: cfg, kv: kv, seqs: make(map[int]*seq)}, nil
}

// Add queues a request. Errors: duplicate live ID, empty prompt, MaxTokens < 1, prompt +
// MaxTokens over MaxModelLen, or a request whose K/V could never fit in the whole cache
// (the K/V of prompt + MaxTokens - 1 tokens: the last sampled token is never fed).
func (s *Scheduler) Add(r Request) error {
	if _, ok := s.seqs[r.ID]; ok {
		return fmt.Errorf("sched: request %d: id already in use", r.ID)
	}
	if len(r.Prompt) == 0 {
		return fmt.Errorf("sched: request %d: empty prompt", r.ID)
	}
	if r.MaxTokens < 1 {
		return fmt.Errorf("sched: request %d: max tokens %d: need at least 1", r.ID, r.MaxTokens)
	}
	total := len(r.Prompt) + r.MaxTokens
	if total < len(r.Prompt) { // overflow
		return fmt.Errorf("sched: request %d: max tokens %d too large", r.ID, r.MaxTokens)
	}
	if s.cfg.MaxModelLen > 0 && total > s.cfg.MaxModelLen {
		return fmt.Errorf("sched: request %d: prompt %d + max tokens %d = %d exceeds the context of %d tokens", r.ID, len(r.Prompt), r.MaxTokens, total, s.cfg.MaxModelLen)
	}
	if need := s.kv.BlocksFor(total - 1); need > s.kv.NumBlocks() {
		return fmt.Errorf("sched: request %d: prompt %d + max tokens %d needs %d KV blocks, the cache has %d: it can never fit", r.ID, len(r.Prompt), r.MaxTokens, need, s.kv.NumBlocks())
	}
	q := &seq{
		id:        r.ID,
		prio:      r.Priority,
		arrival:   s.arrivals,
		tokens:    make([]int32, len(r.Prompt), len(r.Prompt)+min(r.MaxTokens, 4096)),
		promptLen: len(r.Prompt),
		maxTokens: r.MaxTokens,
	}
	copy(q.tokens, r.Prompt)
	s.arrivals++
	s.seqs[r.ID] = q
	s.waiting = insertSorted(s.waiting, q)
	return nil
}

func less(a, b *seq) bool {
	if a.prio != b.prio {
		return a.prio < b.prio
	}
	return a.arrival < b.arrival
}

func insertSorted(list []*seq, q *seq) []*seq {
	i, _ := slices.BinarySearchFunc(list, q, func(e, t *seq) int {
		if less(e, t) {
			return -1
		}
		return 1
	})
	return slices.Insert(list, i, q)
}

func remove(list []*seq, q *seq) []*seq {
	if i := slices.Index(list, q); i >= 0 {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// Abort cancels request id: its blocks are released now, or at Update if it is in the
// outstanding plan. It reports whether the request was known.
func (s *Scheduler) Abort(id int) bool {
	q := s.seqs[id]
	if q == nil || q.aborted {
		return false
	}
	s.stats.AbortedRequests++
	if q.planned {
		q.aborted = true
		return true
	}
	s.drop(q)
	return true
}

// drop forgets q and releases its blocks.
func (s *Scheduler) drop(q *seq) {
	if q.running {
		s.running = remove(s.running, q)
		s.kv.Release(q.id)
	} else {
		s.waiting = remove(s.waiting, q)
	}
	delete(s.seqs, q.id)
}

// preempt releases q's blocks and queues it to recompute prompt + generated tokens.
func (s *Scheduler) preempt(q *seq) {
	s.running = remove(s.running, q)
	s.kv.Release(q.id)
	q.running = false
	q.computed, q.skipped = 0, 0
	q.preempted++
	s.waiting = insertSorted(s.waiting, q)
	s.plan.Preempted = append(s.plan.Preempted, q.id)
	s.stats.Preemptions++
}

// Schedule returns the plan for the next step. The plan is valid until the next Schedule;
// Update must be called (with the step's results) before the next Schedule, which panics
// otherwise, since running a plan twice would corrupt the cache.
func (s *Scheduler) Schedule() *Plan {
	if s.outstanding {
		panic("sched: Schedule called again before Update")
	}
	s.stats.Steps++
	p := &s.plan
	p.Work, p.Preempted, p.Admitted = p.Work[:0], p.Preempted[:0], p.Admitted[:0]
	p.Tokens, p.CacheQueried, p.CacheHit = 0, 0, 0
	budget := s.cfg.MaxBatchTokens

	// Skip blocks others have finished computing since the last step.
	for _, q := range s.running {
		c := s.kv.Skip(q.id, q.computed, len(q.tokens)-1)
		q.skipped += c - q.computed // reported with q's next Work (a step may give it none)
		q.computed = c
	}

	// Decodes first: each may need a new block; preempt from the back to make room.
	for i := 0; i < len(s.running); i++ {
		q := s.running[i]
		n := len(q.tokens)
		if n-q.computed != 1 {
			continue
		}
		for s.kv.Grow(q.id, n) != nil {
			victim := s.running[len(s.running)-1]
			s.preempt(victim)
			if victim == q {
				break
			}
		}
		if !q.running {
			break // q was the last one; everything after it is gone too
		}
		if s.kv.Claim(q.id, q.computed, 1) == 1 {
			s.addWork(q, 1, q.skipped)
			budget--
		}
	}

	// Prompt chunks, in order.
	for _, q := range s.running {
		if budget == 0 {
			break
		}
		if rest := len(q.tokens) - q.computed; rest > 1 {
			if m := s.kv.Claim(q.id, q.computed, min(rest, budget)); m > 0 {
				s.addWork(q, m, q.skipped)
				budget -= m
			}
		}
	}

	// Admissions, unless this step had to preempt (as vLLM: memory is short; readmitting the
	// victims at once would only thrash).
	for len(p.Preempted) == 0 && len(s.waiting) > 0 && budget > 0 && len(s.running) < s.cfg.MaxSeqs {
		q := s.waiting[0]
		shared, err := s.kv.Admit(q.id, q.tokens)
		if err != nil {
			break // strict order: wait for blocks rather than let later requests pass
		}
		s.waiting = s.waiting[1:]
		q.running = true
		s.running = insertSorted(s.running, q)
		p.Admitted = append(p.Admitted, q.id)
		p.CacheQueried += len(q.tokens)
		p.CacheHit += shared
		q.computed = s.kv.Skip(q.id, 0, len(q.tokens)-1)
		q.skipped = q.computed // reported with q's first Work, even if that is not this step
		if m := s.kv.Claim(q.id, q.computed, min(len(q.tokens)-q.computed, budget)); m > 0 {
			s.addWork(q, m, q.skipped)
			budget -= m
		}
	}
	s.stats.CacheQueried += p.CacheQueried
	s.stats.CacheHit += p.CacheHit
	s.outstanding = true
	return p
}

func (s *Scheduler) addWork(q *seq, m, cached int) {
	end := q.computed + m
	s.plan.Work = append(s.plan.Work, Work{
		ID:     q.id,
		Pos:    q.computed,
		Tokens: q.tokens[q.computed:end:end],
		Logits: end == len(q.tokens),
		Cached: cached,
	})
	q.skipped = 0
	s.plan.Tokens += m
	if m == 1 && end == len(q.tokens) && q.generated() > 0 {
		s.stats.DecodeTokens++
	} else {
		s.stats.PromptTokens += m
	}
	q.planned = true
}

// Update applies the results of the outstanding plan's step: one Result per Work with Logits,
// in plan order (a result for an aborted request may be given or left out). It returns the
// requests that finished. Errors (results that do not match the plan) leave the state as
// Schedule left it, so the step can be retried.
func (s *Scheduler) Update(results []Result) ([]Finished, error) {
	if !s.outstanding {
		return nil, errors.New("sched: Update without an outstanding plan")
	}
	// Validate first, apply second.
	r := 0
	for _, w := range s.plan.Work {
		if !w.Logits {
			continue
		}
		if r < len(results) && results[r].ID == w.ID {
			r++
			continue
		}
		if s.seqs[w.ID].aborted {
			continue
		}
		if r < len(results) {
			return nil, fmt.Errorf("sched: update: result %d is for request %d, want request %d", r, results[r].ID, w.ID)
		}
		return nil, fmt.Errorf("sched: update: missing the result for request %d", w.ID)
	}
	if r != len(results) {
		return nil, fmt.Errorf("sched: update: %d results for %d sampling sequences", len(results), r)
	}

	s.outstanding = false
	var done []Finished
	r = 0
	for _, w := range s.plan.Work {
		q := s.seqs[w.ID]
		var res *Result
		if w.Logits && r < len(results) && results[r].ID == w.ID {
			res = &results[r]
			r++
		}
		q.planned = false
		if q.aborted {
			s.drop(q)
			continue
		}
		q.computed += len(w.Tokens)
		s.kv.Commit(q.id, q.tokens, q.computed)
		if !w.Logits {
			continue
		}
		q.tokens = append(q.tokens, res.Token)
		reason := Reason(0)
		switch {
		case res.Stop:
			reason = ReasonStop
			s.stats.FinishedStop++
		case q.generated() >= q.maxTokens:
			reason = ReasonLength
			s.stats.FinishedLength++
		}
		if reason != 0 {
			done = append(done, Finished{ID: q.id, Reason: reason, Output: slices.Clone(q.tokens[q.promptLen:])})
			s.drop(q)
		}
	}
	return done, nil
}

// State returns where request id is.
func (s *Scheduler) State(id int) State {
	q := s.seqs[id]
	switch {
	case q == nil:
		return StateUnknown
	case q.running:
		return StateRunning
	}
	return StateWaiting
}

// Computed returns how many leading positions of request id are in the cache (0 if unknown).
func (s *Scheduler) Computed(id int) int {
	if q := s.seqs[id]; q != nil {
		return q.computed
	}
	return 0
}

// Output returns the tokens request id has generated so far (a view, read-only), nil if unknown.
func (s *Scheduler) Output(id int) []int32 {
	if q := s.seqs[id]; q != nil {
		return q.tokens[q.promptLen:]
	}
	return nil
}

// NumWaiting is the number of queued requests (new or preempted).
func (s *Scheduler) NumWaiting() int { return len(s.waiting) }

// NumRunning is the number of admitted requests (holding blocks).
func (s *Scheduler) NumRunning() int { return len(s.running) }

// Idle reports whether there are no requests at all.
func (s *Scheduler) Idle() bool { return len(s.seqs) == 0 }

// Stats returns the cumulative counters.
func (s *Scheduler) Stats() Stats { return s.stats }

// Running returns the ids of running requests in scheduling order (appended to buf).
func (s *Scheduler) Running(buf []int) []int {
	for _, q := range s.running {
		buf = append(buf, q.id)
	}
	return buf
}

// Waiting returns the ids of waiting requests in admission order (appended to buf).
func (s *Scheduler) Waiting(buf []int) []int {
	for _, q := range s.waiting {
		buf = append(buf, q.id)
	}
	return buf
}
