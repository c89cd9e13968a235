package kernel

import (
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// DequantizeRow converts one row of a weight matrix to float32: len(out) elements of type t,
// stored in row, which must hold exactly tensor.QuantizedSize(t, len(out)) bytes. It is the
// token-embedding lookup (ggml_get_rows: ggml-quants.c dequantize_row_*, ggml_fp16_to_fp32_row
// for F16) and its result is bit for bit tensor.Dequantize's: per element d·q (Q8_0, Q4_0,
// with q−8 for Q4_0), (d·sc)·q − dmin·m with each product rounded to float32 (Q4_K, Q5_K),
// (d·sc)·q (Q6_K), the exact half → float32 widening (F16, a signalling NaN kept signalling).
//
// F16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K run an AVX2 kernel (dequant_amd64.s) when the CPU has
// AVX2/FMA/F16C; every other type, a CPU without them and the purego build run
// tensor.Dequantize. Errors are tensor.Dequantize's: an unsupported type, or a len(row) that
// disagrees with len(out) (len(out) not a whole number of t's blocks included). It never
// panics and never allocates.
func DequantizeRow(t gguf.Type, row []byte, out []float32) error {
	if dequantRow(t, row, out) {
		return nil
	}
	return tensor.Dequantize(t, row, out)
}
