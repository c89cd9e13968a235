package model

import "github.com/golem-llm/golem/kernel"

// qwen3: Qwen3 dense models. No biases; a per-head RMSNorm of q and k (attn_q_norm,
// attn_k_norm, head_dim weights) before NeoX RoPE; head_dim may differ from n_embd/n_head.
func init() {
	register("qwen3", arch{ropeMode: kernel.RopeNeoX, qkNorm: true})
}
