package kernel

import (
	"encoding/binary"

	"github.com/golem-llm/golem/gguf"
)

func init() { refPackedRows[gguf.TypeQ4_K] = refPackedRowQ4_K }

// refPackedRowQ4_K is packed Q4_K's arithmetic (packed_q4k.go) from ggml's block_q4_K row w
// (k elements) and its Q8_K activations x (float32 d, int8 qs[256], int16 bsums[16]).
func refPackedRowQ4_K(k int, w, x []byte) float32 { return refPackedRowK45(k, w, x, false) }

// refPackedRowK45 is the packed Q4_K (five false) or Q5_K (five true) arithmetic from one
// unpacked ggml row w of k elements (block_q4_K: d, dmin, scales[12], qs[128]; block_q5_K adds
// qh[32], the fifth bits, before qs) and its Q8_K activations x (float32 d at 0, int8 qs[256]
// at 4, int16 bsums[16] at 260, the sums per 16): per super-block the integer sums of the eight
// sub-blocks times their scales, and of the bsums times their mins, each scaled once.
func refPackedRowK45(k int, w, x []byte, five bool) float32 {
	le := binary.LittleEndian
	bb, qsOff := q4_KBlockBytes, 16
	if five {
		bb, qsOff = q5_KBlockBytes, 48
	}
	var acc float32
	for b := 0; b < k/256; b++ {
		wb := w[b*bb : (b+1)*bb]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		var isum, imin int32
		for s := 0; s < 8; s++ {
			sc, m := scaleMinK4(s, wb[4:16])
			var si int32
			for l := 0; l < 32; l++ {
				q := wb[qsOff+32*(s/2)+l]
				if s%2 == 0 {
					q &= 15
				} else {
					q >>= 4
				}
				if five {
					q |= (wb[16+l] >> s & 1) << 4
				}
				si += int32(q) * int32(int8(xb[4+32*s+l]))
			}
			isum += sc * si
			bs := int32(int16(le.Uint16(xb[260+4*s:]))) + int32(int16(le.Uint16(xb[262+4*s:])))
			imin += m * bs
		}
		dx := f32At(xb)
		acc += float32(float32(isum) * float32(halfAt(wb)*dx))
		acc -= float32(float32(imin) * float32(halfAt(wb[2:])*dx))
	}
	return acc
}
