package kernel

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"

	"github.com/golem-llm/golem/gguf"
)

// Packed ("x8") weight layouts for the VNNI kernels: Q8_0 and Q4_0 matrices whose row count is
// a multiple of 8 are repacked at load so that one 256-bit register holds the same four
// elements of eight consecutive rows (the interleaving of ggml's block_q8_0x8 / block_q4_0x8
// in ggml-cpu/repack.cpp; the byte order within a block is ours). A VPDPBUSD of such a
// register with four activation bytes broadcast then adds four products to each row's lane,
// so a lane ends a block holding that row's whole integer dot product, and the block's scales
// d_w of the eight rows are one vector: per block and activation row the float work is one
// multiply of d_w by d_x, one of the integer sum by that, and one add, for eight outputs at once
// (instead of per output), with no horizontal sums.
//
// Group g (rows 8g … 8g+7), block b (elements 32b … 32b+31) is a fixed-size record at
// (g·nb + b)·recBytes:
//
//	Q8_0 (272 bytes): d of rows 0…7 (8 × F16), then chunk k = 0…7 (32 bytes each): for
//	  row r, the four quants 4k … 4k+3 XOR 0x80 (w + 128 as an unsigned byte, for VPDPBUSD).
//	Q4_0 (144 bytes): d of rows 0…7 (8 × F16), then chunk k = 0…3 (32 bytes each): for row
//	  r, the quant bytes 4k … 4k+3 as stored (low nibbles: elements 4k…4k+3, high nibbles:
//	  elements 16+4k … 16+4k+3, unsigned 0…15).
//
// Arithmetic (the reference packedDotRef and every kernel, bit for bit): per row and block,
// the exact integer s = Σ_i q_w,i · q_x,i with the weights' signed values (Q8_0 w, Q4_0
// q − 8), then acc += float32(s) · (d_w · d_x), each product rounded to float32 and added in
// block order to one float32 accumulator starting at 0. The kernels form s as
// Σ (w+128)·x − 128·Σx (Q8_0) or Σ q·x − 8·Σx (Q4_0), with Σx from the packed activations.
// This order differs from the unpacked kernels' (eight partial lanes per row, summed at the
// end), so packed and unpacked results agree within float32 rounding, not bit for bit; every
// path of a packed matrix (one activation row, batches, tails) uses this order, so results
// never depend on batching.

const (
	packRows     = 8   // rows interleaved in one group
	q8x8RecBytes = 272 // one block of eight Q8_0 rows
	q4x8RecBytes = 144 // one block of eight Q4_0 rows
)

// packedRecBytes returns the record size of type t's packed layout, 0 if t has none.
func packedRecBytes(t gguf.Type) int {
	switch t {
	case gguf.TypeQ8_0:
		return q8x8RecBytes
	case gguf.TypeQ4_0:
		return q4x8RecBytes
	}
	return 0
}

// packMatrix returns the packed copy of m's weights, nil when m's type has no packed layout or
// its row count is not a multiple of 8. Groups are packed on all cores (a 1B model's 1.3 GB
// take a fraction of a second).
func packMatrix(m *Matrix) []byte {
	rec := packedRecBytes(m.Type)
	if rec == 0 || m.N%packRows != 0 || m.K%32 != 0 || m.N == 0 {
		return nil
	}
	nb := m.K / 32
	groups := m.N / packRows
	dst := make([]byte, groups*nb*rec)
	workers := min(runtime.GOMAXPROCS(0), groups)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := groups * w / workers; g < groups*(w+1)/workers; g++ {
				packGroup(m, g, nb, rec, dst)
			}
		}()
	}
	wg.Wait()
	return dst
}

func packGroup(m *Matrix, g, nb, rec int, dst []byte) {
	le := binary.LittleEndian
	src := m.RowBytes / nb // source block bytes: 34 (Q8_0) or 18 (Q4_0)
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*rec : (g*nb+b+1)*rec]
		for r := 0; r < packRows; r++ {
			blk := m.Data[(8*g+r)*m.RowBytes+b*src:][:src]
			o[2*r], o[2*r+1] = blk[0], blk[1]
			qs := blk[2:]
			if m.Type == gguf.TypeQ8_0 {
				for k := 0; k < 8; k++ {
					le.PutUint32(o[16+32*k+4*r:], le.Uint32(qs[4*k:])^0x80808080)
				}
			} else {
				for k := 0; k < 4; k++ {
					copy(o[16+32*k+4*r:16+32*k+4*r+4], qs[4*k:4*k+4])
				}
			}
		}
	}
}

// Packed activations: the activation rows quantized to Q8_0 (as ggml's vec_dot_type) and
// grouped P rows at a time (P = 8 for the tile kernels, 1 for one row) with what the kernels
// need per block precomputed. Group c, block b is a record of P·44 bytes at (c·nb + b)·P·44:
// the 32 quants of each row (P × 32 bytes), d_x of each as float32 (P × 4), −128·Σx (P × 4
// int32) and −8·Σx (P × 4 int32). Rows past the last activation row are zero.
const actRecBytes = 44

// packAct writes activation row r (quantized, a Q8_0 row of nb blocks in q) into the packed
// activations pa of group size p.
func packAct(q []byte, nb, p, r int, pa []byte) {
	c, i := r/p, r%p
	for b := 0; b < nb; b++ {
		rec := pa[(c*nb+b)*p*actRecBytes:][:p*actRecBytes]
		blk := q[b*q8_0BlockBytes : (b+1)*q8_0BlockBytes]
		copy(rec[32*i:32*i+32], blk[2:])
		var s int32
		for _, v := range blk[2:] {
			s += int32(int8(v))
		}
		le := binary.LittleEndian
		le.PutUint32(rec[32*p+4*i:], math.Float32bits(halfAt(blk)))
		le.PutUint32(rec[36*p+4*i:], uint32(-128*s))
		le.PutUint32(rec[40*p+4*i:], uint32(-8*s))
	}
}

// packedDotRef is the reference for the packed kernels: it sets out[c·os + r] for the rows of
// groups [0, groups) of w (packed, type t, nb blocks per row) and the ncols activation rows
// of group size p starting at column group c0 of pa.
func packedDotRef(t gguf.Type, w []byte, nb, groups int, pa []byte, p, c0, ncols int, out []float32, os int) {
	rec := packedRecBytes(t)
	for g := 0; g < groups; g++ {
		for col := 0; col < ncols; col++ {
			c, i := c0+col/p, col%p
			var acc [packRows]float32
			for b := 0; b < nb; b++ {
				wr := w[(g*nb+b)*rec:][:rec]
				xr := pa[(c*nb+b)*p*actRecBytes:][:p*actRecBytes]
				xq := xr[32*i : 32*i+32]
				dx := math.Float32frombits(binary.LittleEndian.Uint32(xr[32*p+4*i:]))
				for r := 0; r < packRows; r++ {
					var s int32
					for e := 0; e < 32; e++ {
						s += int32(packedQuant(t, wr, r, e)) * int32(int8(xq[e]))
					}
					d := float32(halfAt(wr[2*r:]) * dx)
					acc[r] += float32(float32(s) * d)
				}
			}
			for r := range acc {
				out[col*os+8*g+r] = acc[r]
			}
		}
	}
}

// packedQuant returns the signed quant of element e of row r in a packed record.
func packedQuant(t gguf.Type, rec []byte, r, e int) int {
	if t == gguf.TypeQ8_0 {
		return int(rec[16+32*(e/4)+4*r+e%4]) - 128 // stored as w + 128
	}
	hi := e >= 16
	e %= 16
	v := rec[16+32*(e/4)+4*r+e%4]
	if hi {
		return int(v>>4) - 8
	}
	return int(v&15) - 8
}
