//go:build !amd64 || purego

package kernel

import "github.com/golem-llm/golem/gguf"

// This build has no packed kernels: matrices are not packed (tests pack them by hand and run
// the pure-Go reference).

func (f *packedFormat) kernels() *packedKernels { return nil }

func packable(gguf.Type) bool { return false }
