package model

import "github.com/golem-llm/golem/kernel"

// KV is the key/value cache a forward pass writes and reads. kvcache.Contiguous (tests,
// `golem run`) and kvcache.Paged (serving) implement it; the model never sees how or in
// which type (F32, F16, Q8_0) the rows are stored.
//
// seq is a sequence id the caller has already given a place in the cache; positions are
// absolute token positions within that sequence.
type KV interface {
	// Store writes the K and V rows of n consecutive tokens of sequence seq, at positions
	// pos … pos+n-1, in layer il. k and v hold n rows of n_head_kv·head_dim float32 each
	// (row-major, token-major). K rows are already RoPE-rotated.
	Store(il, seq, pos, n int, k, v []float32)

	// Attend computes causal softmax attention for n query rows of sequence seq at
	// positions pos … pos+n-1 in layer il: row i attends to cached positions 0 … pos+i
	// (all of which have been stored). q and out hold n rows of n_head·head_dim float32.
	// out_h = Σ_j softmax_j(scale · q_h·k_j) · v_j, per query head h and its KV head.
	Attend(il, seq, pos, n int, q, out []float32, shape kernel.AttnShape)
}
