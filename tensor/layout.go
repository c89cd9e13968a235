// Package tensor holds ggml's tensor block layouts and pure-Go reference conversions:
// FP16/BF16 ↔ FP32, and quantize/dequantize for the ggml types golem reads and writes.
//
// Everything here is bit-exact with ggml (ggml/src/ggml-quants.c, ggml-impl.h): a
// dequantization produces the same float32 bits as ggml's to_float, and a quantization
// produces the same bytes as ggml_quantize_chunk without an importance matrix (the
// quantize_row_*_ref functions). The code is the slow, obvious reference that kernels are
// tested against, not the fast path. The goldens in testdata/quant (produced by ggml)
// pin every dequantizer and every quantizer except Q8_1 and Q8_K, which have no ggml file
// golden and are checked by hand-worked blocks and invariants instead.
//
// Bit-exactness rests on evaluating float32 operations in ggml's order, one rounding per
// operation (ggml-base is built without FMA contraction); the code writes float32(a*b)
// wherever Go could otherwise fuse a product into a following add.
//
// # Block layouts
//
// A row of n elements of a block type is n/BlockSize consecutive blocks, each TypeSize
// bytes (gguf.Type.BlockSize / TypeSize). All multi-byte fields are little-endian; "fp16"
// is IEEE binary16 (FP16ToFP32). Offsets below are bytes from the start of a block; y[i]
// is element i of the block. Each layout is ggml-common.h's block_* struct; the constants
// named <Type><Field>Off give the same offsets.
//
// Q4_0 (32 elements, 18 bytes): d fp16 @0; qs[16] @2. y[j] = d·((qs[j]&15)−8),
// y[j+16] = d·((qs[j]>>4)−8), j < 16.
//
// Q4_1 (32, 20): d fp16 @0; m fp16 @2; qs[16] @4. y[j] = d·(qs[j]&15) + m,
// y[j+16] = d·(qs[j]>>4) + m.
//
// Q5_0 (32, 22): d fp16 @0; qh uint32 @2; qs[16] @6. The fifth bit of y[j] is bit j of qh,
// of y[j+16] bit j+16. y[j] = d·(((qs[j]&15) | bit<<4) − 16), likewise y[j+16] with qs[j]>>4.
//
// Q5_1 (32, 24): d fp16 @0; m fp16 @2; qh uint32 @4; qs[16] @8. As Q5_0 without the −16,
// plus m.
//
// Q8_0 (32, 34): d fp16 @0; qs[32] int8 @2. y[j] = d·qs[j].
//
// Q8_1 (32, 36): d fp16 @0; s fp16 @2 (= d·Σqs); qs[32] int8 @4. Activations only.
//
// Q2_K (256, 84): scales[16] @0; qs[64] @16; d fp16 @80; dmin fp16 @82. Sixteen groups of
// 16; group g has scale d·(scales[g]&15) and min dmin·(scales[g]>>4). For the half h < 2
// (elements 128h…128h+127), shift s < 4 and l < 32, element 128h+32s+l has the 2-bit
// quant (qs[32h+l]>>2s)&3 and belongs to group 8h+2s+l/16. y = scale·q − min.
//
// Q3_K (256, 110): hmask[32] @0; qs[64] @32; scales[12] @96; d fp16 @108. Sixteen groups of
// 16 with 6-bit signed scales (Q3KScale): low 4 bits in the nibbles of scales[0:8] (group
// g<8: low nibble of scales[g]; g≥8: high nibble of scales[g−8]), high 2 bits in
// scales[8+g%4] at bit 2·(g/4); the stored value is scale+32. For half h < 2, shift s < 4
// and l < 32, element 128h+32s+l has low bits (qs[32h+l]>>2s)&3, high bit
// hmask[l]>>(4h+s)&1 and group 8h+2s+l/16; q = low − (high ? 0 : 4), y = d·scale·q.
//
// Q4_K (256, 144): d fp16 @0; dmin fp16 @2; scales[12] @4; qs[128] @16. Eight groups of 32
// with 6-bit scale and min packed in scales (GetScaleMinK4). For chunk c < 4, l < 32:
// element 64c+l = d·sc(2c)·(qs[32c+l]&15) − dmin·m(2c), element 64c+32+l =
// d·sc(2c+1)·(qs[32c+l]>>4) − dmin·m(2c+1).
//
// Q5_K (256, 176): d fp16 @0; dmin fp16 @2; scales[12] @4; qh[32] @16; qs[128] @48. As
// Q4_K, plus a fifth bit: element 64c+l adds 16 if bit 2c of qh[l] is set, element
// 64c+32+l if bit 2c+1 of qh[l] is set.
//
// Q6_K (256, 210): ql[128] @0; qh[64] @128; scales[16] int8 @192; d fp16 @208. For half
// h < 2 and l < 32, with L = ql[64h:], H = qh[32h:], S = scales[8h:], is = l/16:
// element 128h+l    = d·S[is+0]·((L[l]&15    | (H[l]>>0&3)<<4) − 32),
// element 128h+32+l = d·S[is+2]·((L[l+32]&15 | (H[l]>>2&3)<<4) − 32),
// element 128h+64+l = d·S[is+4]·((L[l]>>4    | (H[l]>>4&3)<<4) − 32),
// element 128h+96+l = d·S[is+6]·((L[l+32]>>4 | (H[l]>>6&3)<<4) − 32).
//
// Q8_K (256, 292): d float32 @0; qs[256] int8 @4; bsums[16] int16 @260 (sum of each run of
// 16 qs). y[j] = d·qs[j]. Activations for k-quant dot products.
package tensor

import "github.com/golem-llm/golem/gguf"

// Type is ggml's tensor type id (gguf.Type), re-exported so kernels need not import gguf.
type Type = gguf.Type

// Elements per block (ggml-common.h QK*).
const (
	QK4_0 = 32
	QK4_1 = 32
	QK5_0 = 32
	QK5_1 = 32
	QK8_0 = 32
	QK8_1 = 32
	QK_K  = gguf.QK_K // 256, the k-quant super-block
)

// Bytes per block (sizeof(block_*) in ggml-common.h).
const (
	BlockBytesQ4_0 = 18
	BlockBytesQ4_1 = 20
	BlockBytesQ5_0 = 22
	BlockBytesQ5_1 = 24
	BlockBytesQ8_0 = 34
	BlockBytesQ8_1 = 36
	BlockBytesQ2_K = 84
	BlockBytesQ3_K = 110
	BlockBytesQ4_K = 144
	BlockBytesQ5_K = 176
	BlockBytesQ6_K = 210
	BlockBytesQ8_K = 292
)

// Field offsets inside a block, in bytes (see the package documentation for meanings).
const (
	Q4_0DOff, Q4_0QsOff                      = 0, 2
	Q4_1DOff, Q4_1MOff, Q4_1QsOff            = 0, 2, 4
	Q5_0DOff, Q5_0QhOff, Q5_0QsOff           = 0, 2, 6
	Q5_1DOff, Q5_1MOff, Q5_1QhOff, Q5_1QsOff = 0, 2, 4, 8
	Q8_0DOff, Q8_0QsOff                      = 0, 2
	Q8_1DOff, Q8_1SOff, Q8_1QsOff            = 0, 2, 4
	Q2_KScalesOff, Q2_KQsOff, Q2_KDOff       = 0, 16, 80
	Q2_KDminOff                              = 82
	Q3_KHmaskOff, Q3_KQsOff, Q3_KScalesOff   = 0, 32, 96
	Q3_KDOff                                 = 108
	Q4_KDOff, Q4_KDminOff, Q4_KScalesOff     = 0, 2, 4
	Q4_KQsOff                                = 16
	Q5_KDOff, Q5_KDminOff, Q5_KScalesOff     = 0, 2, 4
	Q5_KQhOff, Q5_KQsOff                     = 16, 48
	Q6_KQlOff, Q6_KQhOff, Q6_KScalesOff      = 0, 128, 192
	Q6_KDOff                                 = 208
	Q8_KDOff, Q8_KQsOff, Q8_KBsumsOff        = 0, 4, 260
	KScaleBytes                              = 12 // packed 6-bit scales of Q3_K/Q4_K/Q5_K
)

// GetScaleMinK4 unpacks the 6-bit scale and min of group j (0 ≤ j < 8) from the 12-byte
// scales field q of a Q4_K or Q5_K block (ggml-quants.c get_scale_min_k4). Groups 0–3
// keep scale and min in the low 6 bits of q[j] and q[j+4]; groups 4–7 keep their low 4
// bits in the nibbles of q[j+4] and their high 2 bits in the top bits of q[j−4] (scale)
// and q[j] (min). It panics if j is out of range or len(q) < 12, like an index would.
func GetScaleMinK4(j int, q []byte) (sc, m uint8) {
	_ = q[11]
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return q[j+4]&0xf | (q[j-4]>>6)<<4, q[j+4]>>4 | (q[j]>>6)<<4
}

// Q3KScale returns the signed scale (−32…31) of group j (0 ≤ j < 16) from the 12-byte
// scales field q of a Q3_K block (the unpacking in ggml-quants.c dequantize_row_q3_K).
func Q3KScale(j int, q []byte) int8 {
	_ = q[11]
	var low uint8
	if j < 8 {
		low = q[j] & 0xf
	} else {
		low = q[j-8] >> 4
	}
	high := (q[8+j%4] >> (2 * (j / 4))) & 3
	return int8(low|high<<4) - 32
}
