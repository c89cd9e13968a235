//go:build !purego

package kernel

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAVX2 selects the assembly kernels (dot_amd64.s) when the CPU has AVX2, FMA and F16C.
var useAVX2 = hasAVX2

// Assembly kernels: nb blocks (or n32 elements, a multiple of 32) starting at w and x.
// Callers have checked the lengths.

//go:noescape
func dotQ8_0AVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ4_0AVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ4_KAVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ5_KAVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ6_KAVX2(w, x *byte, nb int) float32

//go:noescape
func dotF16AVX2(w *byte, x *uint16, n8 int) float32

//go:noescape
func dotBF16AVX2(w *byte, x *uint16, n32 int) float32

//go:noescape
func dotF32AVX2(w, x *float32, n32 int) float32

// bptr returns the first byte's address, or nil for an empty slice (never dereferenced then).
func bptr(b []byte) *byte { return unsafe.SliceData(b) }

func dotQ8_0(n int, w, x []byte) float32 {
	if useAVX2 {
		return dotQ8_0AVX2(bptr(w), bptr(x), n/32)
	}
	return dotQ8_0Ref(n, w, x)
}

func dotQ4_0(n int, w, x []byte) float32 {
	if useAVX2 {
		return dotQ4_0AVX2(bptr(w), bptr(x), n/32)
	}
	return dotQ4_0Ref(n, w, x)
}

func dotQ4_K(n int, w, x []byte) float32 {
	if useAVX2 {
		return dotQ4_KAVX2(bptr(w), bptr(x), n/256)
	}
	return dotQ4_KRef(n, w, x)
}

func dotQ5_K(n int, w, x []byte) float32 {
	if useAVX2 {
		return dotQ5_KAVX2(bptr(w), bptr(x), n/256)
	}
	return dotQ5_KRef(n, w, x)
}

func dotQ6_K(n int, w, x []byte) float32 {
	if useAVX2 {
		return dotQ6_KAVX2(bptr(w), bptr(x), n/256)
	}
	return dotQ6_KRef(n, w, x)
}

// floatTail adds elements [n&^31, n) in order, as dotFloatRef does.
func floatTail(n int, f func(i int) float32) float32 {
	var t float32
	for i := n &^ 31; i < n; i++ {
		t += f(i)
	}
	return t
}

func dotF16(n int, w []byte, x []uint16) float32 {
	if !useAVX2 {
		return dotF16Ref(n, w, x)
	}
	s := dotF16AVX2(bptr(w), unsafe.SliceData(x), n&^7)
	return s + f16Tail(n, w, x)
}

func dotBF16(n int, w []byte, x []uint16) float32 {
	if !useAVX2 {
		return dotBF16Ref(n, w, x)
	}
	s := dotBF16AVX2(bptr(w), unsafe.SliceData(x), n&^31)
	return s + floatTail(n, func(i int) float32 {
		return float32(bf16ToF32(uint16(w[2*i])|uint16(w[2*i+1])<<8) * bf16ToF32(x[i]))
	})
}

func dotF32(w, x []float32) float32 {
	if !useAVX2 {
		return dotF32Ref(w, x)
	}
	n := len(w)
	s := dotF32AVX2(unsafe.SliceData(w), unsafe.SliceData(x), n&^31)
	return s + floatTail(n, func(i int) float32 { return float32(w[i] * x[i]) })
}

//go:noescape
func quantizeQ8_0AVX2(x *float32, dst *byte, nb int)

func quantizeQ8_0(x []float32, dst []byte) {
	if useAVX2 && len(x) >= 32 {
		quantizeQ8_0AVX2(unsafe.SliceData(x), bptr(dst), len(x)/32)
		return
	}
	quantizeQ8_0Ref(x, dst)
}

//go:noescape
func quantizeQ8_KAVX2(x *float32, dst *byte, nb int)

func quantizeQ8_K(x []float32, dst []byte) {
	if useAVX2 && len(x) >= 256 {
		_ = dst[Q8_KRowBytes(len(x))-1]
		quantizeQ8_KAVX2(unsafe.SliceData(x), bptr(dst), len(x)/256)
		return
	}
	quantizeQ8_KRef(x, dst)
}

func f32ToF16Row(x []float32, dst []uint16) { f32ToF16RowRef(x, dst) }

//go:noescape
func dotQ8_0x4AVX2(w *byte, ws int, x *byte, nb int, out *float32)

//go:noescape
func dotQ4_0x4AVX2(w *byte, ws int, x *byte, nb int, out *float32)

// rows4 runs a four-row kernel over groups of four rows and the single-row f on the rest.
func rows4(k4 func(w *byte, ws int, x *byte, nb int, out *float32), f dotFunc, bs, n int, w []byte, wstride int, x []byte, out []float32) {
	r := 0
	if useAVX2 {
		for ; r+4 <= len(out); r += 4 {
			k4(&w[r*wstride], wstride, bptr(x), n/bs, &out[r])
		}
	}
	for ; r < len(out); r++ {
		out[r] = f(n, w[r*wstride:], x)
	}
}

func dotRowsQ8_0(n int, w []byte, wstride int, x []byte, out []float32) {
	rows4(dotQ8_0x4AVX2, dotQ8_0, 32, n, w, wstride, x, out)
}

func dotRowsQ4_0(n int, w []byte, wstride int, x []byte, out []float32) {
	rows4(dotQ4_0x4AVX2, dotQ4_0, 32, n, w, wstride, x, out)
}

//go:noescape
func dotQ8_0x4x2AVX2(w *byte, ws int, x *byte, xs int, nb int, out *float32, os int)

// useVNNI selects the AVX512-VNNI kernels: the packed ones (packed*.go) and the VNNI loop of
// the four-row Q4_0 kernel (same results as AVX2). EVEX encodings need AVX512F and VL, and
// VPBROADCASTW to the upper registers AVX512BW (so GODEBUG=cpu.avx512f=off alone turns them off).
var useVNNI = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VNNI && cpu.X86.HasAVX512VL && cpu.X86.HasAVX512BW

// dotTileQ4_0 is dotTile for Q4_0 on unpacked weights: the four-row kernel per column, single
// dots on the last rows. Lengths as dotTileQ8_0.
func dotTileQ4_0(n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int) {
	if !useAVX2 || n < 32 {
		dotTile(dotQ4_0, n, w, wstride, x, xstride, rows, cols, out, ostride)
		return
	}
	for c := 0; c < cols; c++ {
		rows4(dotQ4_0x4AVX2, dotQ4_0, 32, n, w, wstride, x[c*xstride:], out[c*ostride:c*ostride+rows])
	}
}

// dotTileQ8_0 is dotTile for Q8_0 on unpacked weights (see there): four weight rows × two
// activation rows at a time (dottile_amd64.s), the four-row kernel on a last odd column, single
// dots on the last rows.
// Callers have checked the lengths of w and x; out is checked here because the assembly writes
// it.
func dotTileQ8_0(n int, w []byte, wstride int, x []byte, xstride, rows, cols int, out []float32, ostride int) {
	if !useAVX2 || n < 32 {
		dotTile(dotQ8_0, n, w, wstride, x, xstride, rows, cols, out, ostride)
		return
	}
	c := 0
	for ; c+2 <= cols; c += 2 {
		xc := x[c*xstride:]
		o := out[c*ostride : (c+1)*ostride+rows]
		r := 0
		for ; r+4 <= rows; r += 4 {
			dotQ8_0x4x2AVX2(&w[r*wstride], wstride, &xc[0], xstride, n/32, &o[r], ostride)
		}
		for ; r < rows; r++ {
			o[r] = dotQ8_0(n, w[r*wstride:], xc)
			o[ostride+r] = dotQ8_0(n, w[r*wstride:], xc[xstride:])
		}
	}
	if c < cols {
		rows4(dotQ8_0x4AVX2, dotQ8_0, 32, n, w, wstride, x[c*xstride:], out[c*ostride:c*ostride+rows])
	}
}

func dotColsQ8_0(n int, w []byte, x []byte, xstride int, out []float32) {
	dotCols(dotQ8_0, n, w, x, xstride, out)
}
func dotColsQ4_0(n int, w []byte, x []byte, xstride int, out []float32) {
	dotCols(dotQ4_0, n, w, x, xstride, out)
}

//go:noescape
func streamReadAVX2(p *byte, n int) uint64

func streamRead(b []byte) uint64 {
	if useAVX2 {
		return streamReadAVX2(bptr(b), len(b))
	}
	return streamReadRef(b)
}
