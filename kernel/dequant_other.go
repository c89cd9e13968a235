//go:build !amd64 || purego

package kernel

import "github.com/golem-llm/golem/gguf"

// dequantRow has no kernel in this build: DequantizeRow always runs tensor.Dequantize.
func dequantRow(gguf.Type, []byte, []float32) bool { return false }
