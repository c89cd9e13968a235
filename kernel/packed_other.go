//go:build !amd64 || purego

package kernel

import "github.com/golem-llm/golem/gguf"

// packedOK is false: this build has no packed kernels, so matrices are not packed.
func packedOK() bool { return false }

func gemmPacked(t gguf.Type, w, x []byte, nb int, out []float32, os int) {
	packedDotRef(t, w, nb, 1, x, 8, 0, 8, out, os)
}

func gemvPacked(t gguf.Type, w, x []byte, nb, groups int, out []float32) {
	packedDotRef(t, w, nb, groups, x, 1, 0, 1, out, 0)
}
