package kernel

import (
	"encoding/binary"

	"github.com/golem-llm/golem/gguf"
)

func init() { refPackedRows[gguf.TypeQ4_K] = refPackedRowQ4_K }

// refPackedRowQ4_K is packed Q4_K's arithmetic (packed_q4k.go) from ggml's block_q4_K row w
// (k elements) and its Q8_K activations x (float32 d, int8 qs[256], int16 bsums[16]).
func refPackedRowQ4_K(k int, w, x []byte) float32 {
	le := binary.LittleEndian
	var acc float32
	for b := 0; b < k/256; b++ {
		wb := w[b*q4_KBlockBytes : (b+1)*q4_KBlockBytes]
		xb := x[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		var isum, imin int32
		for s := 0; s < 8; s++ {
			sc, m := scaleMinK4(s, wb[4:16])
			var si int32
			for l := 0; l < 32; l++ {
				q := wb[16+32*(s/2)+l]
				if s%2 == 0 {
					q &= 15
				} else {
					q >>= 4
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
