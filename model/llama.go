package model

import "github.com/golem-llm/golem/kernel"

// llama: Llama 2/3/3.1/3.2, Mistral, TinyLlama, SmolLM. RoPE rotates adjacent pairs;
// Llama 3.1 frequency scaling comes from rope_freqs.weight or the rope.scaling keys;
// q/k/v biases are optional (some fine-tunes carry them).
func init() {
	register("llama", arch{ropeMode: kernel.RopeNorm, optQKVBias: true})
}
