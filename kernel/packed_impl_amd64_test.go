//go:build !purego

package kernel

import "testing"

// eachImpl runs fn as a subtest under every instruction set this CPU has: with the VNNI
// kernels (where it has AVX512-VNNI) and with the AVX2 ones, so both sets of packed kernels
// are checked on a VNNI machine.
func eachImpl(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	sets := []bool{useVNNI}
	if useVNNI {
		sets = append(sets, false)
	}
	defer func(v bool) { useVNNI = v }(useVNNI)
	for _, v := range sets {
		useVNNI = v
		t.Run(Impl(), fn)
	}
}
