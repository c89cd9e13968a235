package engine

import (
	"errors"
	"time"

	"github.com/golem-llm/golem/sample"
)

// Request is one generation request.
type Request struct {
	Prompt      []int32       // token ids (BOS included when wanted); at least one
	MaxTokens   int           // new tokens at most; ≤ 0 means until the context is full
	Sampling    sample.Params // Temperature ≤ 0 = greedy
	Stop        []string      // stop strings (text before the first match is returned)
	IgnoreEOS   bool          // do not stop at end-of-generation tokens
	Logprobs    bool          // report the chosen token's log-probability
	TopLogprobs int           // and this many alternatives (0–20)
	Priority    int           // lower runs first (vLLM); FCFS among equal priorities
}

// Event is one step of a request's stream. A stream is zero or more token events and then
// exactly one final event with Done set; the channel is closed after it.
type Event struct {
	Token   int32               // the sampled token (token events)
	Text    string              // text this event completes; may be "" (pending UTF-8 or stop-string prefix); the final event may carry held-back text
	Logprob float32             // with Request.Logprobs
	Top     []sample.TopLogprob // with Request.TopLogprobs

	Done         bool
	FinishReason string // final event: "stop" (EOG token or stop string), "length" (MaxTokens or context), "abort" (cancelled), "error"
	Err          error  // final event with FinishReason "error"
	Usage        Usage  // final event
}

// Usage counts a request's tokens and times (final event).
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	CachedTokens     int           // prompt tokens served from the prefix cache (≤ PromptTokens; before any preemption)
	QueueTime        time.Duration // submit → first scheduled
	TTFT             time.Duration // submit → first token
	E2E              time.Duration // submit → final event
	Preemptions      int
}

// Errors Submit returns.
var (
	ErrQueueFull   = errors.New("engine: too many waiting requests")
	ErrDraining    = errors.New("engine: shutting down")
	ErrTooLong     = errors.New("engine: prompt + max_tokens exceed the context")
	ErrEmptyPrompt = errors.New("engine: empty prompt")
)

// Stats is a snapshot of the engine for metrics (vLLM names in comments).
type Stats struct {
	Running, Waiting          int   // num_requests_running / waiting
	KVBlocksUsed, KVBlocks    int   // kv cache usage
	KVBlocksCached            int   // unreferenced blocks kept for prefix hits
	PrefixQueries, PrefixHits int64 // prefix_cache_queries / hits, in tokens
	Preemptions               int64 // num_preemptions
	PromptTokens              int64 // prompt_tokens: of requests past their first token, cache hits included (vLLM's)
	PromptTokensComputed      int64 // prompt tokens actually run through the model (cache hits excluded)
	GenerationTokens          int64 // generation_tokens
	Steps                     int64
}
