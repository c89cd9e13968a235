//go:build !amd64 || purego

package kernel

func siLUMul(out, gate, up []float32) { siLUMulRef(out, gate, up) }
