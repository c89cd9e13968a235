package tensor

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// Goldens in testdata/quant come from ggml itself (see testdata/quant/README in
// /work/shared/testdata): input.f32 is 8 rows × 512, <type>.bin is ggml_quantize_chunk
// of it, <type>.dequant.f32 is ggml's to_float of <type>.bin.

type goldenEntry struct {
	Type      string `json:"type"`
	GGMLType  uint32 `json:"ggml_type"`
	BlockSize int    `json:"block_size"`
	TypeSize  int    `json:"type_size"`
	Rows      int    `json:"rows"`
	NPerRow   int    `json:"n_per_row"`
	Bytes     int    `json:"bytes"`
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "quant", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func floats(t testing.TB, b []byte) []float32 {
	t.Helper()
	if len(b)%4 != 0 {
		t.Fatalf("float32 file of %d bytes", len(b))
	}
	f := make([]float32, len(b)/4)
	for i := range f {
		f[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return f
}

func goldenIndex(t testing.TB) []goldenEntry {
	t.Helper()
	var idx []goldenEntry
	if err := json.Unmarshal(readFile(t, "index.json"), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx) != 13 {
		t.Fatalf("index.json lists %d types, want 13", len(idx))
	}
	return idx
}

// sameBits reports whether a and b are the same float32, treating any two NaNs as equal.
func sameBits(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

func TestGoldenIndexMatchesLayouts(t *testing.T) {
	for _, e := range goldenIndex(t) {
		typ := gguf.Type(e.GGMLType)
		if typ.String() != upper(e.Type) || typ.BlockSize() != e.BlockSize || typ.TypeSize() != e.TypeSize {
			t.Errorf("%s: gguf says %v block %d size %d; index says block %d size %d",
				e.Type, typ, typ.BlockSize(), typ.TypeSize(), e.BlockSize, e.TypeSize)
		}
		n, err := QuantizedSize(typ, e.Rows*e.NPerRow)
		if err != nil || n != e.Bytes {
			t.Errorf("%s: QuantizedSize = %d, %v; want %d", e.Type, n, err, e.Bytes)
		}
	}
}

func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }

func TestDequantizeGolden(t *testing.T) {
	for _, e := range goldenIndex(t) {
		t.Run(e.Type, func(t *testing.T) {
			typ := gguf.Type(e.GGMLType)
			src := readFile(t, e.Type+".bin")
			want := floats(t, readFile(t, e.Type+".dequant.f32"))
			got := make([]float32, e.Rows*e.NPerRow)
			if err := Dequantize(typ, src, got); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i := range want {
				if !sameBits(got[i], want[i]) {
					if bad < 5 {
						t.Errorf("element %d (row %d): got %g (%#08x), want %g (%#08x)",
							i, i/e.NPerRow, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d elements differ", bad, len(want))
			}
		})
	}
}

func TestQuantizeGolden(t *testing.T) {
	input := floats(t, readFile(t, "input.f32"))
	for _, e := range goldenIndex(t) {
		t.Run(e.Type, func(t *testing.T) {
			typ := gguf.Type(e.GGMLType)
			want := readFile(t, e.Type+".bin")
			got := make([]byte, len(want))
			if err := Quantize(typ, input, got); err != nil {
				t.Fatal(err)
			}
			if bytes.Equal(got, want) {
				return
			}
			// Name the first differing blocks, with the row, to make a mismatch debuggable.
			bad := 0
			for blk := 0; blk < len(want)/e.TypeSize; blk++ {
				g := got[blk*e.TypeSize : (blk+1)*e.TypeSize]
				w := want[blk*e.TypeSize : (blk+1)*e.TypeSize]
				if !bytes.Equal(g, w) {
					if bad < 3 {
						t.Errorf("block %d (row %d) differs:\n got %x\nwant %x",
							blk, blk*e.BlockSize/e.NPerRow, g, w)
					}
					bad++
				}
			}
			t.Errorf("%d of %d blocks differ", bad, len(want)/e.TypeSize)
		})
	}
}
