package kernel

import (
	"encoding/binary"

	"github.com/golem-llm/golem/gguf"
)

// Packed Q5_K (the x8 layout of packed.go for ggml's Q5_K). ggml's block_q5_K (ggml-common.h)
// holds 256 elements in 176 bytes: F16 d and dmin, 12 bytes of 6-bit scales sc_s and mins m_s of
// the eight 32-element sub-blocks (as Q4_K), qh[32] (bit 2p / 2p+1 of byte l: fifth bit of
// element 64p+l / 64p+32+l) and qs[128] (byte 32p+l: low nibble element 64p+l, high nibble
// element 64p+32+l); element e of sub-block s is d·sc_s·q_e − dmin·m_s with q_e = 0…31.
//
// Group g (rows 8g … 8g+7), super-block b is a record of 1408 bytes (= 8 × 176, the rows' own
// bytes: decode streams no more than the unpacked matrix) at (g·nb + b)·1408:
//
//	[0, 16)      d of rows 0…7 (8 × F16)
//	[16, 32)     dmin of rows 0…7 (8 × F16)
//	[32, 96)     scales: pair p = 0…3 at 32+16p, row r's bytes 2r, 2r+1 for sub-blocks 2p, 2p+1:
//	             sc_s (bits 0…5) | (m_s >> 4) << 6
//	[96, 128)    mins' low nibbles: h = 0, 1 at 96+16h, row r's byte 2r+t (t = 0, 1): low
//	             nibble m_4h+t & 15, high nibble m_4h+2+t & 15
//	[128, 1408)  quants: sub-block s at 128+160s, five 32-byte vectors V0…V4; in each, row
//	             r's bytes 4r … 4r+3 hold position t = 0…3 of the sub-block's eight chunks
//	             c = 0…7 (chunk c: elements 32s+4c … +3), with q_c the 5-bit quant of element
//	             32s+4c+t:
//	               V0 = q_0 | (q_5 & 7) << 5
//	               V1 = q_1 | (q_6 & 7) << 5
//	               V2 = q_2 | (q_7 & 7) << 5
//	               V3 = q_3 | (q_5 >> 3) << 5 | (q_7 >> 3 & 1) << 7
//	               V4 = q_4 | (q_6 >> 3) << 5 | (q_7 >> 4) << 7
//
// The scales and mins are ggml's 96 bytes of 6-bit fields, rearranged: a scale byte of a pair
// word-extends (VPMOVZXWD) to the rows' sc_2p in bits 0…5 and sc_2p+1 in bits 8…13, and the
// pair's bytes zero-extended to words (VPMOVZXBW) and shifted right by 2 hold m >> 4 in bits 4…5,
// where a VPTERNLOGD under 0x0f merges the low nibbles: the rows' (m_2p, m_2p+1) as the int16
// pairs VPDPWSSD multiplies with the activation sums (Σx_2p, Σx_2p+1), as in packed Q4_K.
//
// A sub-block's 160 bytes are its whole 32 × 8 five-bit quants, unpacked into the eight chunk
// registers VPDPBUSD wants (the same four elements of eight rows, one byte each) in five loads
// and nineteen vector instructions: chunks 0…4 are V0…V4 & 0x1f (five ANDs); chunks 5 and 6 are
// V0 >> 5 (V1 >> 5) merged under 0x07 with V3 >> 2 (V4 >> 2), & 0x1f (four each); chunk 7 is
// V2 >> 5 merged under 0x07 with (V3 >> 4 merged under 0x0f with V4 >> 3), & 0x1f (six). Word
// shifts bring a neighbouring byte's bits into a byte's top bits, which the merges and the
// last AND drop. ggml's layout (four-bit nibbles as packed Q4_K, fifth bits in qh bytes shared
// by the eight sub-blocks) costs a shift and a merge per chunk on top of packed Q4_K's one and
// a half per chunk: twenty-eight per sub-block.
//
// Arithmetic (refBlockQ5_K and the kernels, bit for bit; packed Q4_K's with q = 0…31): per row
// and super-block the exact int32 isum = Σ_s sc_s · Σ_{e∈s} q_e·x_e and imin = Σ_s m_s · Σ_{e∈s} x_e
// (x the Q8_K activation quants), then acc += float32(float32(isum) · float32(d·d_x)) and
// acc −= float32(float32(imin) · float32(dmin·d_x)), d, dmin and d_x converted to float32 first,
// each product rounded to float32 (no FMA), super-blocks in order into one float32 accumulator
// starting at 0. isum cannot overflow: |Σ_{e∈s} q·x| ≤ 31·128·32 = 126976, times sc ≤ 63, times
// 8 sub-blocks is below 2^26.
//
// The format registers itself here; its kernels (packed_q5k_amd64.go) are set by that file's
// init, which only writes the fields of packedQ5_K, so the order of the two inits is free.
var packedQ5_K = &packedFormat{rec: q5KRecBytes, blockElems: 256, kquant: true, pack: packGroupQ5_K, refBlock: refBlockQ5_K}

func init() { packedFormats[gguf.TypeQ5_K] = packedQ5_K }

const q5KRecBytes = 1408

// q5KQuants decodes the 256 quants (0…31) of a ggml Q5_K block.
func q5KQuants(blk []byte, q *[256]byte) {
	qh, qs := blk[16:48], blk[48:176]
	for p := 0; p < 4; p++ {
		for l := 0; l < 32; l++ {
			q[64*p+l] = qs[32*p+l]&15 | (qh[l]>>(2*p)&1)<<4
			q[64*p+32+l] = qs[32*p+l]>>4 | (qh[l]>>(2*p+1)&1)<<4
		}
	}
}

func packGroupQ5_K(m *Matrix, g, nb int, dst []byte) {
	var q [256]byte
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*q5KRecBytes:][:q5KRecBytes]
		clear(o[96:128]) // the mins' nibbles are ORed in
		for r := 0; r < packRows; r++ {
			blk := srcBlock(m, 8*g+r, b, nb)
			copy(o[2*r:2*r+2], blk[0:2])
			copy(o[16+2*r:16+2*r+2], blk[2:4])
			for s := 0; s < 8; s++ {
				sc, mn := scaleMinK4(s, blk[4:16])
				o[32+16*(s/2)+2*r+s%2] = byte(sc) | byte(mn>>4)<<6
				o[96+16*(s/4)+2*r+s%2] |= byte(mn&15) << (4 * (s / 2 % 2))
			}
			q5KQuants(blk, &q)
			for s := 0; s < 8; s++ {
				v := o[128+160*s+4*r:]
				for t := 0; t < 4; t++ {
					c := q[32*s+t:] // c[4k]: chunk k's quant
					v[t] = c[0] | (c[20]&7)<<5
					v[32+t] = c[4] | (c[24]&7)<<5
					v[64+t] = c[8] | (c[28]&7)<<5
					v[96+t] = c[12] | (c[20]>>3)<<5 | (c[28]>>3&1)<<7
					v[128+t] = c[16] | (c[24]>>3)<<5 | (c[28]>>4)<<7
				}
			}
		}
	}
}

// q5KPacked returns quant e (0…31) of sub-block s of row r of a packed Q5_K record w.
func q5KPacked(w []byte, r, s, e int) int32 {
	c, t := e/4, e%4
	v := w[128+160*s+4*r+t:]
	v0, v1, v2, v3, v4 := v[0], v[32], v[64], v[96], v[128]
	switch c {
	case 5:
		return int32(v0>>5 | (v3>>5&3)<<3)
	case 6:
		return int32(v1>>5 | (v4>>5&3)<<3)
	case 7:
		return int32(v2>>5 | (v3>>7)<<3 | (v4>>7)<<4)
	}
	return int32(v[32*c] & 31)
}

// q5KScaleMin returns sc_s and m_s of row r of a packed Q5_K record w.
func q5KScaleMin(w []byte, r, s int) (sc, m int32) {
	b := w[32+16*(s/2)+2*r+s%2]
	lo := w[96+16*(s/4)+2*r+s%2] >> (4 * (s / 2 % 2)) & 15
	return int32(b & 63), int32(b>>6)<<4 | int32(lo)
}

func refBlockQ5_K(acc float32, w []byte, r int, x []byte, p, i int) float32 {
	le := binary.LittleEndian
	var isum, imin int32
	for s := 0; s < 8; s++ {
		var si int32
		for e := 0; e < 32; e++ {
			si += q5KPacked(w, r, s, e) * int32(int8(x[256*i+32*s+e]))
		}
		sc, m := q5KScaleMin(w, r, s)
		isum += sc * si
		imin += m * int32(int16(le.Uint16(x[260*p+16*i+2*s:])))
	}
	dx := actKDx(x, p, i)
	acc += float32(float32(isum) * float32(halfAt(w[2*r:])*dx))
	return acc - float32(float32(imin)*float32(halfAt(w[16+2*r:])*dx))
}
