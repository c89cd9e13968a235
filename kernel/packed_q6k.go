package kernel

import (
	"encoding/binary"
	"math"

	"github.com/golem-llm/golem/gguf"
)

// Packed Q6_K (the x8 layout of packed.go for ggml's Q6_K, whose super-block of 256 elements
// holds 6-bit quants q (0…63, value q − 32), sixteen int8 scales sc_j, one per 16 elements,
// and one F16 d). Group g (rows 8g … 8g+7), super-block b is a record of 1680 bytes
// (= 8 × 210, the rows' own bytes) at (g·nb + b)·1680:
//
//	[0, 16)      d of rows 0…7 (8 × F16)
//	[16, 144)    scales: sub-block j = 0…15 (elements 16j … 16j+15) at 16+8j, the int8
//	             sc_j of rows 0…7
//	[144, 1680)  quants: sub-block j at 144+96j, three 32-byte vectors A, B, C; in each,
//	             row r's bytes 4r … 4r+3 hold position t = 0…3 of the sub-block's four
//	             chunks c = 0…3 (chunk c: elements 16j+4c … 16j+4c+3), with q_c the 6-bit
//	             quant of element 16j+4c+t:
//	               A = q_0 | (q_3 & 3) << 6
//	               B = q_1 | (q_3 >> 2 & 3) << 6
//	               C = q_2 | (q_3 >> 4) << 6
//
// A sub-block's 96 bytes are its whole 16 × 8 quants, so the kernels unpack and consume one
// sub-block at a time in four registers (chunk c: the same four elements of eight rows, as
// VPDPBUSD wants them): chunks 0, 1, 2 are A, B, C & 0x3f, chunk 3 is gathered from their top
// two bits (three loads and nine vector instructions for the four chunks, against eleven for
// ggml's ql/qh nibble-and-crumb arrangement, which also spreads a 96-byte piece over four
// sub-blocks).
//
// Arithmetic (refBlockQ6_K and the kernels, bit for bit): per row and super-block, the exact
// int32
//
//	isum = Σ_j sc_j · (Σ_{e∈j} q_e·x_e − 32·Σ_{e∈j} x_e)    (= Σ_j sc_j · Σ_{e∈j} (q_e − 32)·x_e)
//
// with x the Q8_K activation quants, then acc += float32(float32(isum) · float32(d_w · d_x)),
// d_w and d_x converted to float32 first and each product rounded to float32 (no FMA), super-
// blocks in order into one float32 accumulator starting at 0. isum cannot overflow: per
// sub-block |Σ (q − 32)·x| ≤ 32·128·16 = 65536, times |sc| ≤ 128, times 16 sub-blocks is
// 2^27 (the kernels' partial sums Σ q·x − 32·Σx stay within ±(63·128·16 + 65536) too).
//
// The VNNI kernels (packed_q6k_amd64.s): per sub-block and activation row, an integer chain starts
// from the packed activations' −32·Σx_j, four VPDPBUSD add Σ q·x, VPMULLD multiplies by the
// eight rows' sc_j and VPADDD adds the result into the rows' isum lanes. The AVX2 kernels
// (packed_q6k_avx2_amd64.s) form Σ q·x with VPMADDUBSW, multiply by sc_j and widen with one
// VPMADDWD, and add the sc_j·(−32·Σx_j) terms once per super-block. The format registers
// itself in packedFormats here (its kernels in packed_q6k_amd64.go), not in packed.go's table.
var packedQ6_K = &packedFormat{rec: 1680, blockElems: 256, kquant: true, pack: packGroupQ6_K, refBlock: refBlockQ6_K}

func init() { packedFormats[gguf.TypeQ6_K] = packedQ6_K }

// q6KQuants decodes the 256 quants (0…63) of a ggml Q6_K block.
func q6KQuants(blk []byte, q *[256]byte) {
	ql, qh := blk[0:128], blk[128:192]
	for h := 0; h < 2; h++ {
		l0, h0, o := ql[64*h:], qh[32*h:], q[128*h:]
		for l := 0; l < 32; l++ {
			o[l] = l0[l]&0xf | (h0[l]&3)<<4
			o[l+32] = l0[l+32]&0xf | (h0[l]>>2&3)<<4
			o[l+64] = l0[l]>>4 | (h0[l]>>4&3)<<4
			o[l+96] = l0[l+32]>>4 | (h0[l]>>6&3)<<4
		}
	}
}

func packGroupQ6_K(m *Matrix, g, nb int, dst []byte) {
	var q [256]byte
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*1680:][:1680]
		for r := 0; r < packRows; r++ {
			blk := srcBlock(m, 8*g+r, b, nb)
			o[2*r], o[2*r+1] = blk[208], blk[209]
			q6KQuants(blk, &q)
			for j := 0; j < 16; j++ {
				o[16+8*j+r] = blk[192+j]
				v := o[144+96*j+4*r:]
				for t := 0; t < 4; t++ {
					q0, q1, q2, q3 := q[16*j+t], q[16*j+4+t], q[16*j+8+t], q[16*j+12+t]
					v[t] = q0 | (q3&3)<<6
					v[32+t] = q1 | (q3>>2&3)<<6
					v[64+t] = q2 | (q3>>4)<<6
				}
			}
		}
	}
}

// q6KPacked returns quant e (0…15) of sub-block j of row r of a packed Q6_K record w.
func q6KPacked(w []byte, r, j, e int) int32 {
	c, t := e/4, e%4
	v := w[144+96*j+4*r+t:]
	a, b, cc := v[0], v[32], v[64]
	switch c {
	case 0:
		return int32(a & 63)
	case 1:
		return int32(b & 63)
	case 2:
		return int32(cc & 63)
	}
	return int32(a>>6 | b>>6<<2 | cc>>6<<4)
}

func refBlockQ6_K(acc float32, w []byte, r int, x []byte, p, i int) float32 {
	var isum int32
	for j := 0; j < 16; j++ {
		var s int32
		for e := 0; e < 16; e++ {
			s += (q6KPacked(w, r, j, e) - 32) * int32(int8(x[256*i+16*j+e]))
		}
		isum += int32(int8(w[16+8*j+r])) * s
	}
	dx := math.Float32frombits(binary.LittleEndian.Uint32(x[256*p+4*i:]))
	return acc + float32(float32(isum)*float32(halfAt(w[2*r:])*dx))
}
