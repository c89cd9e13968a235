//go:build !amd64 || purego

package kernel

func rmsNorm(out, x, w []float32, eps float32) { rmsNormRef(out, x, w, eps) }

func add(out, a, b []float32) { addRef(out, a, b) }

func rope(mode, nDims int, x []float32, nHeads, headDim int, cache []float32) {
	ropeRef(mode, nDims, x, nHeads, headDim, cache)
}
