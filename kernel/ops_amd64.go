//go:build !purego

package kernel

import "unsafe"

// AVX2 kernels of ops.go (ops_amd64.s); n8 and n16 are multiples of 8 and 16, at least that.

// addAVX2 is Add over n8 elements.
//
//go:noescape
func addAVX2(out, a, b *float32, n8 int)

// sumSquaresAVX2 writes to p the sixteen float64 lanes of sumSquaresRef over n16 elements
// (p[l] = Σ float64(x[i]²) over i ≡ l mod 16, in increasing i).
//
//go:noescape
func sumSquaresAVX2(x *float32, n16 int, p *[16]float64)

// rmsScaleAVX2 is rmsScaleRef over n8 elements; w == nil skips the weight.
//
//go:noescape
func rmsScaleAVX2(out, x, w *float32, scale float32, n8 int)

// ropeNormAVX2 rotates the adjacent pairs in the first nd8 floats (a multiple of 8) of each of
// nHeads ≥ 1 heads headDim floats apart, with the cos/sin pairs at cache.
//
//go:noescape
func ropeNormAVX2(x *float32, nHeads, headDim int, cache *float32, nd8 int)

// ropeNeoXAVX2 rotates the pairs (v[i], v[i+half]) for i < h8 (a multiple of 8) of each of
// nHeads ≥ 1 heads headDim floats apart, with the cos/sin pairs at cache.
//
//go:noescape
func ropeNeoXAVX2(x *float32, nHeads, headDim, half int, cache *float32, h8 int)

func add(out, a, b []float32) {
	n := len(a)
	b = b[:n]
	out = out[:n]
	n8 := n &^ 7
	if !useAVX2 || n8 == 0 {
		addRef(out, a, b)
		return
	}
	addAVX2(unsafe.SliceData(out), unsafe.SliceData(a), unsafe.SliceData(b), n8)
	if n8 < n {
		addRef(out[n8:], a[n8:], b[n8:])
	}
}

func rmsNorm(out, x, w []float32, eps float32) {
	n := len(x)
	if !useAVX2 || n < 16 {
		rmsNormRef(out, x, w, eps)
		return
	}
	out = out[:n]
	var wp *float32
	if w != nil {
		w = w[:n]
		wp = unsafe.SliceData(w)
	}
	n16 := n &^ 15
	var p [16]float64
	sumSquaresAVX2(unsafe.SliceData(x), n16, &p)
	sumSquaresTail(&p, x, n16)
	scale := rmsScale(sumLanes16(&p), n, eps)
	n8 := n &^ 7
	rmsScaleAVX2(unsafe.SliceData(out), unsafe.SliceData(x), wp, scale, n8)
	if n8 < n {
		var wt []float32
		if w != nil {
			wt = w[n8:]
		}
		rmsScaleRef(out[n8:], x[n8:], wt, scale)
	}
}

func rope(mode, nDims int, x []float32, nHeads, headDim int, cache []float32) {
	half := nDims / 2
	if !useAVX2 || nHeads <= 0 || half <= 0 || 2*half > headDim || len(x) < nHeads*headDim || len(cache) < 2*half {
		ropeRef(mode, nDims, x, nHeads, headDim, cache) // also panics where it would
		return
	}
	xp, cp := unsafe.SliceData(x), unsafe.SliceData(cache)
	var done int // pairs rotated by the kernel
	if mode == RopeNeoX {
		done = half &^ 7
		if done > 0 {
			ropeNeoXAVX2(xp, nHeads, headDim, half, cp, done)
		}
	} else {
		done = half &^ 3
		if done > 0 {
			ropeNormAVX2(xp, nHeads, headDim, cp, 2*done)
		}
	}
	if done < half {
		for h := 0; h < nHeads; h++ {
			ropeHeadRef(mode, half, x[h*headDim:h*headDim+headDim], cache, done)
		}
	}
}
