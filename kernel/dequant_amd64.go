//go:build !purego

package kernel

import (
	"encoding/binary"
	"unsafe"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// AVX2 kernels of DequantizeRow (dequant_amd64.s): n8 halves (a multiple of 8, at least 8),
// or nb ≥ 1 whole blocks of the type, written to out as float32.

//go:noescape
func dequantF16AVX2(out *float32, src *byte, n8 int)

//go:noescape
func dequantQ8_0AVX2(out *float32, src *byte, nb int)

//go:noescape
func dequantQ4_0AVX2(out *float32, src *byte, nb int)

//go:noescape
func dequantQ4_KAVX2(out *float32, src *byte, nb int)

//go:noescape
func dequantQ5_KAVX2(out *float32, src *byte, nb int)

//go:noescape
func dequantQ6_KAVX2(out *float32, src *byte, nb int)

// dequantRow runs the AVX2 kernel of t over the row and reports true, or reports false
// (writing nothing) when there is no kernel for t, no AVX2, or the sizes disagree.
func dequantRow(t gguf.Type, row []byte, out []float32) bool {
	if !useAVX2 {
		return false
	}
	switch t {
	case gguf.TypeF16:
		n := len(out)
		if len(row) != 2*n {
			return false
		}
		n8 := n &^ 7
		if n8 > 0 {
			dequantF16AVX2(unsafe.SliceData(out), unsafe.SliceData(row), n8)
		}
		for i := n8; i < n; i++ {
			out[i] = tensor.FP16ToFP32(binary.LittleEndian.Uint16(row[2*i:]))
		}
		return true
	case gguf.TypeQ8_0:
		return dequantBlocks(row, out, tensor.QK8_0, tensor.BlockBytesQ8_0, dequantQ8_0AVX2)
	case gguf.TypeQ4_0:
		return dequantBlocks(row, out, tensor.QK4_0, tensor.BlockBytesQ4_0, dequantQ4_0AVX2)
	case gguf.TypeQ4_K:
		return dequantBlocks(row, out, tensor.QK_K, tensor.BlockBytesQ4_K, dequantQ4_KAVX2)
	case gguf.TypeQ5_K:
		return dequantBlocks(row, out, tensor.QK_K, tensor.BlockBytesQ5_K, dequantQ5_KAVX2)
	case gguf.TypeQ6_K:
		return dequantBlocks(row, out, tensor.QK_K, tensor.BlockBytesQ6_K, dequantQ6_KAVX2)
	}
	return false
}

// dequantBlocks runs kern over the whole blocks of qk elements in bb bytes each that row holds,
// when len(out) is a whole number of them and len(row) their size.
func dequantBlocks(row []byte, out []float32, qk, bb int, kern func(out *float32, src *byte, nb int)) bool {
	nb := len(out) / qk
	if nb*qk != len(out) || nb*bb != len(row) {
		return false
	}
	if nb > 0 {
		kern(unsafe.SliceData(out), unsafe.SliceData(row), nb)
	}
	return true
}
