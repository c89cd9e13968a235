package model

import "github.com/golem-llm/golem/kernel"

// qwen2: Qwen2 and Qwen2.5. Biases on q, k and v; NeoX RoPE (rotates x[i] with x[i+d/2]).
func init() {
	register("qwen2", arch{ropeMode: kernel.RopeNeoX, qkvBias: true})
}
