//go:build !purego

package kernel

//go:noescape
func gemvF16x8(w *byte, x *uint16, nb, groups int, out *float32)

//go:noescape
func gemmF16x8x2(w *byte, x *uint16, nb int, out *float32, os int)

//go:noescape
func gemmF16x8x2AVX2(w *byte, x *uint16, nb int, out *float32, os int)

// gemvF16Packed sets out[8g + r] for groups packed F16 groups times one activation row.
func gemvF16Packed(w []byte, x []uint16, nb, groups int, out []float32) {
	if groups == 0 {
		return
	}
	_ = w[groups*nb*128-1]
	_ = x[8*nb-1]
	_ = out[8*groups-1]
	if !useAVX2 {
		gemvF16PackedRef(w, x, nb, groups, out)
		return
	}
	gemvF16x8(&w[0], &x[0], nb, groups, &out[0])
}

// gemmF16Packed sets out[c·os + r] for one packed F16 group times two activation rows.
func gemmF16Packed(w []byte, x []uint16, nb int, out []float32, os int) {
	_ = w[nb*128-1]
	_ = x[16*nb-1]
	_ = out[os+7]
	switch {
	case useVNNI: // the 8×2 tile needs AVX512VL's 32 registers
		gemmF16x8x2(&w[0], &x[0], nb, &out[0], os)
	case useAVX2:
		gemmF16x8x2AVX2(&w[0], &x[0], nb, &out[0], os)
	default:
		gemmF16PackedRef(w, x, nb, out, os)
	}
}
