package kernel

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// dequantLayout is what the tests need of a type tensor.Dequantize supports: elements and
// bytes per block, and the offsets in a block of its half-precision scales (f32: float32
// ones), which random rows get finite values in.
type dequantLayout struct {
	t      gguf.Type
	qk, bb int
	halves []int
	f32    []int
}

var dequantLayouts = []dequantLayout{
	{t: gguf.TypeF32, qk: 1, bb: 4},
	{t: gguf.TypeF16, qk: 1, bb: 2},
	{t: gguf.TypeBF16, qk: 1, bb: 2},
	{t: gguf.TypeQ4_0, qk: tensor.QK4_0, bb: tensor.BlockBytesQ4_0, halves: []int{tensor.Q4_0DOff}},
	{t: gguf.TypeQ4_1, qk: tensor.QK4_1, bb: tensor.BlockBytesQ4_1, halves: []int{tensor.Q4_1DOff, tensor.Q4_1MOff}},
	{t: gguf.TypeQ5_0, qk: tensor.QK5_0, bb: tensor.BlockBytesQ5_0, halves: []int{tensor.Q5_0DOff}},
	{t: gguf.TypeQ5_1, qk: tensor.QK5_1, bb: tensor.BlockBytesQ5_1, halves: []int{tensor.Q5_1DOff, tensor.Q5_1MOff}},
	{t: gguf.TypeQ8_0, qk: tensor.QK8_0, bb: tensor.BlockBytesQ8_0, halves: []int{tensor.Q8_0DOff}},
	{t: gguf.TypeQ2_K, qk: tensor.QK_K, bb: tensor.BlockBytesQ2_K, halves: []int{tensor.Q2_KDOff, tensor.Q2_KDminOff}},
	{t: gguf.TypeQ3_K, qk: tensor.QK_K, bb: tensor.BlockBytesQ3_K, halves: []int{tensor.Q3_KDOff}},
	{t: gguf.TypeQ4_K, qk: tensor.QK_K, bb: tensor.BlockBytesQ4_K, halves: []int{tensor.Q4_KDOff, tensor.Q4_KDminOff}},
	{t: gguf.TypeQ5_K, qk: tensor.QK_K, bb: tensor.BlockBytesQ5_K, halves: []int{tensor.Q5_KDOff, tensor.Q5_KDminOff}},
	{t: gguf.TypeQ6_K, qk: tensor.QK_K, bb: tensor.BlockBytesQ6_K, halves: []int{tensor.Q6_KDOff}},
	{t: gguf.TypeQ8_K, qk: tensor.QK_K, bb: tensor.BlockBytesQ8_K, f32: []int{tensor.Q8_KDOff}},
}

// dequantSIMDTypes are the types DequantizeRow has an AVX2 kernel for.
var dequantSIMDTypes = []gguf.Type{gguf.TypeF16, gguf.TypeQ8_0, gguf.TypeQ4_0, gguf.TypeQ4_K, gguf.TypeQ5_K, gguf.TypeQ6_K}

func layoutOf(t gguf.Type) dequantLayout {
	for _, l := range dequantLayouts {
		if l.t == t {
			return l
		}
	}
	panic("no layout for " + t.String())
}

// dequantSpecialHalves are finite scales at the edges of binary16: ±65504, signed zeros, the
// smallest subnormal and normal, ±1.
var dequantSpecialHalves = []uint16{0x7bff, 0xfbff, 0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0400, 0x3c00, 0xbc00}

// finiteHalf returns a random finite binary16, a special one time in four.
func finiteHalf(rng *rand.Rand) uint16 {
	if rng.IntN(4) == 0 {
		return dequantSpecialHalves[rng.IntN(len(dequantSpecialHalves))]
	}
	for {
		h := uint16(rng.Uint32())
		if h>>10&0x1f != 0x1f {
			return h
		}
	}
}

// randomRow returns nb random blocks of l with finite scales (every bit pattern for F16,
// BF16 and F32, NaN and Inf included).
func randomRow(rng *rand.Rand, l dequantLayout, nb int) []byte {
	row := make([]byte, nb*l.bb)
	for i := range row {
		row[i] = byte(rng.Uint32())
	}
	for b := 0; b < nb; b++ {
		blk := row[b*l.bb:]
		for _, o := range l.halves {
			binary.LittleEndian.PutUint16(blk[o:], finiteHalf(rng))
		}
		for _, o := range l.f32 {
			binary.LittleEndian.PutUint32(blk[o:], math.Float32bits(float32(rng.NormFloat64())))
		}
	}
	return row
}

func sameRowBits(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: [%d] = %g (%#x), tensor.Dequantize %g (%#x)", what, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestDequantizeRow(t *testing.T) {
	// DequantizeRow against tensor.Dequantize bit for bit for every type the latter supports
	// (through the AVX2 kernel where there is one and the CPU has it), into unaligned rows.
	rng := rand.New(rand.NewPCG(31, 32))
	for _, l := range dequantLayouts {
		counts := []int{1, 3, 16}
		if l.qk == 1 {
			counts = []int{1, 7, 8, 33, 4096 + 5}
		}
		for _, nb := range counts {
			row := randomRow(rng, l, nb)
			n := nb * l.qk
			want := make([]float32, n)
			if err := tensor.Dequantize(l.t, row, want); err != nil {
				t.Fatalf("%v: tensor.Dequantize: %v", l.t, err)
			}
			out := make([]float32, n+1)[1:]
			if err := DequantizeRow(l.t, row, out); err != nil {
				t.Fatalf("%v × %d: %v", l.t, n, err)
			}
			sameRowBits(t, l.t.String(), out, want)
		}
	}
}

func TestDequantizeRowErrors(t *testing.T) {
	// Wrong sizes and unsupported types: tensor.Dequantize's error, and out left untouched.
	rng := rand.New(rand.NewPCG(33, 34))
	check := func(typ gguf.Type, row []byte, n int) {
		t.Helper()
		out := make([]float32, n)
		for i := range out {
			out[i] = 42
		}
		err := DequantizeRow(typ, row, out)
		want := tensor.Dequantize(typ, row, make([]float32, n))
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Fatalf("%v: %d bytes for %d elements: error %v, want %v", typ, len(row), n, err, want)
		}
		for i := range out {
			if out[i] != 42 {
				t.Fatalf("%v: %d bytes for %d elements: out[%d] written on error", typ, len(row), n, i)
			}
		}
	}
	for _, l := range dequantLayouts {
		n := 2 * l.qk
		row := randomRow(rng, l, 2)
		check(l.t, row[:len(row)-1], n) // a byte short
		check(l.t, append(row, 0), n)   // a byte over
		check(l.t, row[:l.bb], n)       // a block short
		if l.qk > 1 {
			check(l.t, row, n+1) // not whole blocks
			check(l.t, row, n-1)
		}
	}
	check(gguf.TypeI8, make([]byte, 8), 8)
	check(gguf.TypeQ8_1, make([]byte, tensor.BlockBytesQ8_1), tensor.QK8_1)
}

func BenchmarkDequantizeRow(b *testing.B) {
	// One 4096-element row (a token-embedding lookup of a 4096-wide model) per op.
	const n = 4096
	rng := rand.New(rand.NewPCG(35, 36))
	for _, typ := range dequantSIMDTypes {
		l := layoutOf(typ)
		row := randomRow(rng, l, n/l.qk)
		if typ == gguf.TypeF16 { // finite, as in a real table (NaNs take the kernel's slow path)
			for i := 0; i < n; i++ {
				binary.LittleEndian.PutUint16(row[2*i:], finiteHalf(rng))
			}
		}
		out := make([]float32, n)
		for _, impl := range []string{"ref", "avx2"} {
			b.Run(typ.String()+"/impl="+impl, func(b *testing.B) {
				if impl == "avx2" && !useAVX2 {
					b.Skip("no AVX2")
				}
				b.SetBytes(int64(len(row)))
				for b.Loop() {
					var err error
					if impl == "ref" {
						err = tensor.Dequantize(typ, row, out)
					} else {
						err = DequantizeRow(typ, row, out)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
