package kernel

import (
	"encoding/binary"
	"math"
)

// Packed Q4_K (see packed.go for the scheme). ggml's block_q4_K (ggml-common.h) holds 256
// elements: F16 d and dmin, 12 bytes of 6-bit scales sc_s and mins m_s of the eight 32-element
// sub-blocks, and 128 bytes of nibbles (byte 32p+l: low nibble element 64p+l, high nibble
// element 64p+32+l); element e of sub-block s is d·sc_s·q_e − dmin·m_s.
//
// Record of group g (rows 8g … 8g+7) for one super-block, 1184 bytes:
//
//	[0, 16)      d of rows 0…7 (F16)
//	[16, 32)     dmin of rows 0…7 (F16)
//	[32, 96)     sub-block s at 32+8s: sc_s of rows 0…7 (one byte each, 0…63)
//	[96, 160)    pair p = 0…3 at 96+16p: row r's m_2p, m_2p+1 (bytes; VPMOVZXBW makes the
//	             int16 pairs VPDPWSSD multiplies with the activation sums Σx_2p, Σx_2p+1)
//	[160, 1184)  pair p, chunk k = 0…7 at 160+(8p+k)·32: row r's nibble bytes 32p+4k … +3
//	             (low nibbles: sub-block 2p elements 4k…4k+3; high: sub-block 2p+1)
//
// Arithmetic per row and super-block (refBlockQ4_K and the kernels, bit for bit): the exact
// int32 isum = Σ_s sc_s · Σ_{e∈s} q_e·x_e and imin = Σ_s m_s · Σ_{e∈s} x_e, then
// acc += float32(isum)·(d·d_x) and acc −= float32(imin)·(dmin·d_x), each product rounded to
// float32, in that order.

const q4KRecBytes = 1184

func packGroupQ4_K(m *Matrix, g, nb int, dst []byte) {
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*q4KRecBytes:][:q4KRecBytes]
		for r := 0; r < packRows; r++ {
			blk := srcBlock(m, 8*g+r, b, nb)
			copy(o[2*r:2*r+2], blk[0:2])
			copy(o[16+2*r:16+2*r+2], blk[2:4])
			for s := 0; s < 8; s++ {
				sc, mn := scaleMinK4(s, blk[4:16])
				o[32+8*s+r] = byte(sc)
				o[96+16*(s/2)+2*r+s%2] = byte(mn)
			}
			for p := 0; p < 4; p++ {
				for k := 0; k < 8; k++ {
					copy(o[160+(8*p+k)*32+4*r:][:4], blk[16+32*p+4*k:][:4])
				}
			}
		}
	}
}

func refBlockQ4_K(acc float32, w []byte, r int, x []byte, p, i int) float32 {
	le := binary.LittleEndian
	var isum, imin int32
	for s := 0; s < 8; s++ {
		var si int32
		for e := 0; e < 32; e++ {
			v := w[160+(8*(s/2)+e/4)*32+4*r+e%4]
			q := v & 15
			if s%2 == 1 {
				q = v >> 4
			}
			si += int32(q) * int32(int8(x[256*i+32*s+e]))
		}
		isum += int32(w[32+8*s+r]) * si
		bsum := int32(int16(le.Uint16(x[260*p+16*i+2*s:])))
		imin += int32(w[96+16*(s/2)+2*r+s%2]) * bsum
	}
	dx := actKDx(x, p, i)
	acc += float32(float32(isum) * float32(halfAt(w[2*r:])*dx))
	return acc - float32(float32(imin)*float32(halfAt(w[16+2*r:])*dx))
}

// actKDx returns d_x of row i of a K-quant activation record of group size p.
func actKDx(x []byte, p, i int) float32 {
	return f32At(x[256*p+4*i:])
}

func f32At(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
