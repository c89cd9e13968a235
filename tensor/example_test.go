package tensor_test

import (
	"fmt"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// Quantize one Q8_0 block and read it back: d = fp16(16/127) = 0.12597656, q = roundf(x/d),
// so x[1] = −15 → q = round(−119.06) = −119 → −119·d = −14.991211.
func ExampleQuantize() {
	x := make([]float32, tensor.QK8_0)
	for i := range x {
		x[i] = float32(i) - 16 // -16 … 15
	}
	n, _ := tensor.QuantizedSize(gguf.TypeQ8_0, len(x))
	block := make([]byte, n)
	if err := tensor.Quantize(gguf.TypeQ8_0, x, block); err != nil {
		panic(err)
	}
	y := make([]float32, len(x))
	if err := tensor.Dequantize(gguf.TypeQ8_0, block, y); err != nil {
		panic(err)
	}
	d := tensor.FP16ToFP32(uint16(block[0]) | uint16(block[1])<<8)
	fmt.Println(n, "bytes; d =", d, "; q[0] =", int8(block[tensor.Q8_0QsOff]), "; y[0], y[1] =", y[0], y[1])
	// Output: 34 bytes; d = 0.12597656 ; q[0] = -127 ; y[0], y[1] = -15.999023 -14.991211
}
