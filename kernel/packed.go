package kernel

import (
	"encoding/binary"
	"math"
	"runtime"
	"sync"

	"github.com/golem-llm/golem/gguf"
)

// Packed ("x8") weight layouts for the VNNI and AVX2 kernels: Q8_0, Q4_0 (here), Q4_K (packed_q4k.go),
// Q5_K (packed_q5k.go) and Q6_K (packed_q6k.go) matrices whose row count is a multiple of 8 are
// repacked at load so that one 256-bit register holds the same four elements of eight
// consecutive rows (the interleaving of ggml's block_q8_0x8 / block_q4_0x8
// in ggml-cpu/repack.cpp; the byte order within a block is ours). A VPDPBUSD of such a
// register with four activation bytes broadcast then adds four products to each row's lane,
// so a lane ends a block holding that row's whole integer dot product, and the block's scales
// d_w of the eight rows are one vector: per block and activation row the float work is one
// multiply of d_w by d_x, one of the integer sum by that, and one add, for eight outputs at once
// (instead of per output), with no horizontal sums.
// The AVX2 kernels (packed_avx2_amd64.s, packed_q*k_avx2_amd64.s) read the same records: with
// VPMADDUBSW and VPMADDWD in place of VPDPBUSD each chunk costs a few instructions more, but the
// float work is still shared by eight rows, and the rows of one block still form their exact
// integer sums, so both instruction sets give the same bits.
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

const packRows = 8 // rows interleaved in one group

// packedFormat describes one packed layout and its kernels.
type packedFormat struct {
	rec        int  // bytes of one group's record for one block
	blockElems int  // elements per block: 32 (Q8_0 activations) or 256 (Q8_K activations)
	kquant     bool // activations are Q8_K, packed by packActK; otherwise Q8_0, by packAct
	// pack writes group g (rows 8g … 8g+7, nb blocks) of m into dst (all groups' records).
	pack func(m *Matrix, g, nb int, dst []byte)
	// refBlock is the reference arithmetic of one block: it returns acc plus row r's product
	// of weight record w with row i of the activation record x (group size p).
	refBlock func(acc float32, w []byte, r int, x []byte, p, i int) float32
	// vnni and avx2 are the assembly kernels of each instruction set (zero without them);
	// kernels picks the set this CPU runs.
	vnni, avx2 packedKernels
}

// packedKernels are one instruction set's kernels of a packed format: gemm multiplies one weight
// group (nb blocks) by one activation group of 8 rows, out[c·os + r]; gemv multiplies groups
// weight groups by one activation row (P = 1), out[8g + r]; gemm4 (optional) is gemm for the
// first four activation rows of the group only. All are bit-identical to packedDotRef for
// activation quants in [−127, 127], which QuantizeQ8_0 and QuantizeQ8_K write for every finite
// input (the AVX2 Q8_0 kernels negate activation bytes by the weights' signs, and −128 does not
// negate; an Inf or NaN activation, which makes the row's result meaningless anyway, may then
// give a different meaningless result per instruction set).
type packedKernels struct {
	gemm  func(w, x *byte, nb int, out *float32, os int)
	gemv  func(w, x *byte, nb, groups int, out *float32)
	gemm4 func(w, x *byte, nb int, out *float32, os int)
}

// packedFormats holds the packed layouts by weight type.
var packedFormats = map[gguf.Type]*packedFormat{
	gguf.TypeQ8_0: {rec: 272, blockElems: 32, pack: packGroupQ8_0, refBlock: refBlockQ8_0},
	gguf.TypeQ4_0: {rec: 144, blockElems: 32, pack: packGroupQ4_0, refBlock: refBlockQ4_0},
	gguf.TypeQ4_K: {rec: q4KRecBytes, blockElems: 256, kquant: true, pack: packGroupQ4_K, refBlock: refBlockQ4_K},
}

// actRec returns the bytes of one activation record (one block of p rows) of format f.
func (f *packedFormat) actRec(p int) int {
	if f.kquant {
		return p * actKRecBytes
	}
	return p * actRecBytes
}

// packMatrix returns the packed copy of m's weights, nil when m's type has no packed layout or
// its row count is not a multiple of 8. Groups are packed on all cores (a 1B model's 1.3 GB
// take a fraction of a second).
func packMatrix(m *Matrix) []byte {
	f := packedFormats[m.Type]
	if m.Type == gguf.TypeF16 {
		f = &packedF16
	}
	if f == nil || m.N%packRows != 0 || m.K%f.blockElems != 0 || m.N == 0 {
		return nil
	}
	nb := m.K / f.blockElems
	groups := m.N / packRows
	dst := make([]byte, groups*nb*f.rec)
	adviseHuge(dst)
	workers := min(runtime.GOMAXPROCS(0), groups)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for g := groups * w / workers; g < groups*(w+1)/workers; g++ {
				f.pack(m, g, nb, dst)
			}
		}()
	}
	wg.Wait()
	return dst
}

// srcBlock returns block b of row i of m (its bytes in ggml's layout).
func srcBlock(m *Matrix, i, b, nb int) []byte {
	bb := m.RowBytes / nb
	return m.Data[i*m.RowBytes+b*bb:][:bb]
}

func packGroupQ8_0(m *Matrix, g, nb int, dst []byte) {
	le := binary.LittleEndian
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*272:][:272]
		for r := 0; r < packRows; r++ {
			blk := srcBlock(m, 8*g+r, b, nb)
			o[2*r], o[2*r+1] = blk[0], blk[1]
			for k := 0; k < 8; k++ {
				le.PutUint32(o[16+32*k+4*r:], le.Uint32(blk[2+4*k:])^0x80808080)
			}
		}
	}
}

func packGroupQ4_0(m *Matrix, g, nb int, dst []byte) {
	for b := 0; b < nb; b++ {
		o := dst[(g*nb+b)*144:][:144]
		for r := 0; r < packRows; r++ {
			blk := srcBlock(m, 8*g+r, b, nb)
			o[2*r], o[2*r+1] = blk[0], blk[1]
			for k := 0; k < 4; k++ {
				copy(o[16+32*k+4*r:16+32*k+4*r+4], blk[2+4*k:2+4*k+4])
			}
		}
	}
}

func refBlockQ8_0(acc float32, w []byte, r int, x []byte, p, i int) float32 {
	var s int32
	for e := 0; e < 32; e++ {
		q := int32(w[16+32*(e/4)+4*r+e%4]) - 128 // stored as w + 128
		s += q * int32(int8(x[32*i+e]))
	}
	return acc + float32(float32(s)*float32(halfAt(w[2*r:])*actDx(x, p, i)))
}

func refBlockQ4_0(acc float32, w []byte, r int, x []byte, p, i int) float32 {
	var s int32
	for e := 0; e < 16; e++ {
		v := w[16+32*(e/4)+4*r+e%4]
		s += (int32(v&15) - 8) * int32(int8(x[32*i+e]))
		s += (int32(v>>4) - 8) * int32(int8(x[32*i+16+e]))
	}
	return acc + float32(float32(s)*float32(halfAt(w[2*r:])*actDx(x, p, i)))
}

// actDx returns d_x of row i of a Q8_0 activation record of group size p.
func actDx(x []byte, p, i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(x[32*p+4*i:]))
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
	f := packedFormats[t]
	xr := f.actRec(p)
	for g := 0; g < groups; g++ {
		for col := 0; col < ncols; col++ {
			c, i := c0+col/p, col%p
			for r := 0; r < packRows; r++ {
				var acc float32
				for b := 0; b < nb; b++ {
					acc = f.refBlock(acc, w[(g*nb+b)*f.rec:][:f.rec], r, pa[(c*nb+b)*xr:][:xr], p, i)
				}
				out[col*os+8*g+r] = acc
			}
		}
	}
}

// K-quant packed activations: the activation rows quantized to Q8_K (ggml's vec_dot_type for
// Q4_K, Q5_K and Q6_K) and grouped P rows at a time (P = 8 for tile kernels, 1 for one row). Group c,
// super-block b (256 elements) is a record of P·340 bytes at (c·nbk + b)·P·340:
//
//	offset 256·i        the 256 quants of row i of the group (int8)
//	offset 256·P + 4·i  d_x of row i (float32)
//	offset 260·P + 16·i Σx over each 32-element sub-block s = 0…7 of row i (8 × int16)
//	offset 276·P + 64·i −32·Σx over each 16-element sub-block j = 0…15 of row i (16 × int32)
//
// Rows past the last activation row are zero.
const actKRecBytes = 340

// packActK writes activation row r (a Q8_K row of nbk super-blocks in q) into the packed
// K-quant activations pa of group size p.
func packActK(q []byte, nbk, p, r int, pa []byte) {
	c, i := r/p, r%p
	le := binary.LittleEndian
	for b := 0; b < nbk; b++ {
		rec := pa[(c*nbk+b)*p*actKRecBytes:][:p*actKRecBytes]
		blk := q[b*q8_KBlockBytes : (b+1)*q8_KBlockBytes]
		copy(rec[256*i:256*i+256], blk[4:260])
		copy(rec[256*p+4*i:256*p+4*i+4], blk[0:4])
		// The quantizer's bsums (Σx per 16, int16 at 260) give both sums.
		for s := 0; s < 8; s++ {
			lo := int32(int16(le.Uint16(blk[260+4*s:])))
			hi := int32(int16(le.Uint16(blk[262+4*s:])))
			le.PutUint32(rec[276*p+64*i+8*s:], uint32(-32*lo))
			le.PutUint32(rec[276*p+64*i+8*s+4:], uint32(-32*hi))
			le.PutUint16(rec[260*p+16*i+2*s:], uint16(int16(lo+hi)))
		}
	}
}

// gemmPacked sets out[c·os + r] for r, c < 8: one packed weight group of type t (nb blocks)
// times one activation group of 8 rows; the reference where this CPU has no kernel for t.
func gemmPacked(t gguf.Type, w, x []byte, nb int, out []float32, os int) {
	f := packedFormats[t]
	_ = w[nb*f.rec-1]
	_ = x[nb*f.actRec(8)-1]
	_ = out[7*os+7]
	k := f.kernels()
	if k == nil {
		packedDotRef(t, w, nb, 1, x, 8, 0, 8, out, os)
		return
	}
	k.gemm(&w[0], &x[0], nb, &out[0], os)
}

// gemm4Packed is gemmPacked for the first four activation rows (c < 4) of the group, false
// (nothing done) when this CPU has no such kernel for type t.
func gemm4Packed(t gguf.Type, w, x []byte, nb int, out []float32, os int) bool {
	f := packedFormats[t]
	k := f.kernels()
	if k == nil || k.gemm4 == nil {
		return false
	}
	_ = w[nb*f.rec-1]
	_ = x[nb*f.actRec(8)-1]
	_ = out[3*os+7]
	k.gemm4(&w[0], &x[0], nb, &out[0], os)
	return true
}

// gemvPacked sets out[8g + r] for groups packed weight groups of w times one activation row.
func gemvPacked(t gguf.Type, w, x []byte, nb, groups int, out []float32) {
	if groups == 0 {
		return
	}
	f := packedFormats[t]
	_ = w[groups*nb*f.rec-1]
	_ = x[nb*f.actRec(1)-1]
	_ = out[8*groups-1]
	k := f.kernels()
	if k == nil {
		packedDotRef(t, w, nb, groups, x, 1, 0, 1, out, 0)
		return
	}
	k.gemv(&w[0], &x[0], nb, groups, &out[0])
}
