//go:build !amd64 || purego

package kernel

func gemvF16Packed(w []byte, x []uint16, nb, groups int, out []float32) {
	gemvF16PackedRef(w, x, nb, groups, out)
}

func gemmF16Packed(w []byte, x []uint16, nb int, out []float32, os int) {
	gemmF16PackedRef(w, x, nb, out, os)
}
