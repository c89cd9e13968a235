package gguf

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// render puts f into the form of testdata/*.expected.json (see /work/shared/testdata/README.md).
func render(f *File) map[string]any {
	md := []any{}
	for _, kv := range f.KVs {
		e := map[string]any{"key": kv.Key, "type": uint32(kv.Value.Type()), "value": renderValue(kv.Value)}
		if et, ok := kv.Value.ElemType(); ok {
			e["elem_type"] = uint32(et)
		}
		md = append(md, e)
	}
	ts := []any{}
	for _, t := range f.Tensors {
		ts = append(ts, map[string]any{"name": t.Name, "dims": t.Dims, "type": uint32(t.Type), "offset": t.Offset})
	}
	return map[string]any{"version": f.Version, "alignment": f.Alignment, "metadata": md, "tensors": ts}
}

func renderValue(v Value) any {
	switch v.Type() {
	case Uint64:
		x, _ := v.AsUint()
		return strconv.FormatUint(x, 10)
	case Int64:
		x, _ := v.AsInt()
		return strconv.FormatInt(x, 10)
	case String:
		s, _ := v.AsString()
		return s
	case Bool:
		b, _ := v.AsBool()
		return b
	case Array:
		out := []any{}
		for i := range v.Len() {
			out = append(out, renderValue(v.Index(i)))
		}
		return out
	}
	x, _ := v.AsFloat()
	return x
}

// normJSON round-trips x through encoding/json so both sides compare as generic JSON.
func normJSON(t *testing.T, x any) any {
	t.Helper()
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGoldenFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.gguf.expected.json")
	if len(files) != 10 {
		t.Fatalf("found %d expected.json files, want 10", len(files))
	}
	for _, exp := range files {
		name := strings.TrimSuffix(exp, ".expected.json")
		t.Run(filepath.Base(name), func(t *testing.T) {
			raw, err := os.ReadFile(exp)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			fp, perr := Parse(data)
			fo, oerr := Open(name)
			if want["error"] == true {
				if perr == nil || oerr == nil {
					t.Fatalf("Parse err %v, Open err %v; want errors", perr, oerr)
				}
				if !strings.HasPrefix(perr.Error(), "gguf: ") || !strings.Contains(perr.Error(), "offset") {
					t.Errorf("error %q should start with gguf: and name an offset", perr)
				}
				t.Logf("error: %v", perr)
				return
			}
			if perr != nil || oerr != nil {
				t.Fatalf("Parse err %v, Open err %v", perr, oerr)
			}
			defer fo.Close()
			for _, f := range []*File{fp, fo} {
				got := normJSON(t, render(f))
				if w := normJSON(t, want); !reflect.DeepEqual(got, w) {
					gb, _ := json.MarshalIndent(got, "", " ")
					t.Fatalf("mismatch:\n got %s\nwant %s", gb, raw)
				}
			}
		})
	}
}

func TestAllTypesAccessorsAndData(t *testing.T) {
	f, err := Open("testdata/all-types-v3.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if s, ok := f.String("general.name"); !ok || s != "format probe ünïcödé" {
		t.Errorf("general.name = %q %v", s, ok)
	}
	if x, ok := f.Uint("test.u64"); !ok || x != math.MaxUint64 {
		t.Errorf("Uint(u64) = %d %v", x, ok)
	}
	if _, ok := f.Int("test.u64"); ok {
		t.Error("Int(u64 max) should not fit")
	}
	if x, ok := f.Int("test.i64"); !ok || x != math.MinInt64 {
		t.Errorf("Int(i64) = %d %v", x, ok)
	}
	if _, ok := f.Uint("test.i8"); ok {
		t.Error("Uint(-128) should fail")
	}
	if x, ok := f.Uint("test.u8"); !ok || x != 255 {
		t.Errorf("Uint(u8) = %d", x)
	}
	if x, ok := f.Float("test.f32"); !ok || x != 0.25 {
		t.Errorf("Float(f32) = %v", x)
	}
	if x, ok := f.Float("test.i16"); !ok || x != -32768 {
		t.Errorf("Float(i16) = %v", x)
	}
	if b, ok := f.Bool("test.bool"); !ok || !b {
		t.Errorf("Bool = %v %v", b, ok)
	}
	if _, ok := f.Bool("test.u8"); ok {
		t.Error("Bool(u8) should fail")
	}
	if s, ok := f.Strings("test.arr_str"); !ok || !reflect.DeepEqual(s, []string{"a", "", "ßç", "🦙"}) {
		t.Errorf("Strings = %q", s)
	}
	if x, ok := f.Int32s("test.arr_i32"); !ok || !reflect.DeepEqual(x, []int32{1, -2, 3}) {
		t.Errorf("Int32s = %v", x)
	}
	if x, ok := f.Float32s("test.arr_i32"); !ok || !reflect.DeepEqual(x, []float32{1, -2, 3}) {
		t.Errorf("Float32s(i32) = %v", x)
	}
	if x, ok := f.Float32s("test.arr_empty"); !ok || len(x) != 0 {
		t.Errorf("Float32s(empty) = %v %v", x, ok)
	}
	if _, ok := f.Strings("test.arr_i32"); ok {
		t.Error("Strings(i32 array) should fail")
	}
	if _, ok := f.Lookup("nope"); ok {
		t.Error("Lookup(nope)")
	}
	a, ok := f.Tensor("a.weight")
	if !ok || a.NumElements() != 6 || a.Size != 24 {
		t.Fatalf("a.weight = %+v", a)
	}
	d := f.TensorData(a)
	for i := range 6 {
		if g := math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:])); g != float32(i+1) {
			t.Errorf("a.weight[%d] = %v, want %d", i, g, i+1)
		}
	}
	b, _ := f.Tensor("b.weight")
	if b.Size != 34 || f.DataOffset != 832 || b.Offset != 64 {
		t.Errorf("b.weight size %d offset %d, data at %d", b.Size, b.Offset, f.DataOffset)
	}
	// Q8_0 block: f16 scale then 32 int8 quants (0x0830 is the scale's bits in the file).
	if bd := f.TensorData(b); len(bd) != 34 || binary.LittleEndian.Uint16(bd) != 0x3008 {
		t.Errorf("b.weight data % x", bd)
	}
}

// TestRewriteIdentical writes a parsed file back and expects the same bytes (the writer pads
// after the last tensor, as ggml does; the input file does not).
func TestRewriteIdentical(t *testing.T) {
	for _, name := range []string{"testdata/all-types-v3.gguf", "testdata/tiny-llama-q4_0.gguf", "testdata/stories260K.gguf"} {
		orig, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(orig)
		if err != nil {
			t.Fatal(err)
		}
		w := copyToWriter(t, f)
		var buf bytes.Buffer
		n, err := w.WriteTo(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(buf.Len()) {
			t.Errorf("WriteTo returned %d, wrote %d", n, buf.Len())
		}
		want := append([]byte(nil), orig...)
		for uint64(len(want))%f.Alignment != 0 {
			want = append(want, 0)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: rewrite differs (len %d vs %d)", name, buf.Len(), len(want))
		}
	}
}

func copyToWriter(t *testing.T, f *File) *Writer {
	w, err := NewWriterFrom(f)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRoundTrip(t *testing.T) {
	w := NewWriter()
	w.Set("general.architecture", StringValue("llama"))
	w.Set("u8", Uint8Value(7))
	w.Set("i8", Int8Value(-7))
	w.Set("u16", Uint16Value(65000))
	w.Set("i16", Int16Value(-32000))
	w.Set("u32", Uint32Value(4e9))
	w.Set("i32", Int32Value(-2e9))
	w.Set("u64", Uint64Value(1<<63+5))
	w.Set("i64", Int64Value(-1<<62))
	w.Set("f32", Float32Value(1.5))
	w.Set("f64", Float64Value(math.Pi))
	w.Set("bool", BoolValue(false))
	w.Set("strs", StringsValue([]string{"x", "", "yz"}))
	w.Set("f32s", Float32sValue([]float32{0.5, -2}))
	w.Set("i32s", Int32sValue([]int32{5, -6}))
	w.Set("nested", ArrayValue(Array, []Value{
		ArrayValue(String, []Value{StringValue("p"), StringValue("q")}),
		ArrayValue(Uint16, []Value{Uint16Value(9)}),
	}))
	w.Set("u32", Uint32Value(42)) // replaces, keeps position
	f32 := make([]byte, 4*5*3)
	for i := range 15 {
		binary.LittleEndian.PutUint32(f32[4*i:], math.Float32bits(float32(i)))
	}
	if err := w.AddTensor("t.f32", TypeF32, []uint64{5, 3}, f32); err != nil {
		t.Fatal(err)
	}
	q := bytes.Repeat([]byte{0xab}, 2*18)
	if err := w.AddTensor("t.q4", TypeQ4_0, []uint64{64}, q); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensorFunc("t.fill", TypeI8, []uint64{3, 1, 1, 2}, func(d []byte) error {
		for i := range d {
			d[i] = byte(i + 1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != 3 || f.Alignment != 32 || f.DataOffset%32 != 0 {
		t.Errorf("version %d alignment %d data %d", f.Version, f.Alignment, f.DataOffset)
	}
	keys := []string{}
	for _, kv := range f.KVs {
		keys = append(keys, kv.Key)
	}
	wantKeys := []string{"general.architecture", "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64", "bool", "strs", "f32s", "i32s", "nested"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("keys %v", keys)
	}
	got := map[string]string{}
	for _, kv := range f.KVs {
		got[kv.Key] = kv.Value.Type().String() + " " + kv.Value.String()
	}
	want := map[string]string{
		"general.architecture": `string "llama"`, "u8": "uint8 7", "i8": "int8 -7", "u16": "uint16 65000",
		"i16": "int16 -32000", "u32": "uint32 42", "i32": "int32 -2000000000", "u64": "uint64 9223372036854775813",
		"i64": "int64 -4611686018427387904", "f32": "float32 1.5", "f64": "float64 3.141592653589793",
		"bool": "bool false", "strs": `array ["x", "", "yz"]`, "f32s": "array [0.5, -2]", "i32s": "array [5, -6]",
		"nested": `array [["p", "q"], [9]]`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("values\n got %v\nwant %v", got, want)
	}
	for _, c := range []struct {
		name string
		dims []uint64
		typ  Type
		off  uint64
		data []byte
	}{
		{"t.f32", []uint64{5, 3}, TypeF32, 0, f32},
		{"t.q4", []uint64{64}, TypeQ4_0, 64, q},
		{"t.fill", []uint64{3, 1, 1, 2}, TypeI8, 64 + 64, []byte{1, 2, 3, 4, 5, 6}},
	} {
		ti, ok := f.Tensor(c.name)
		if !ok || !reflect.DeepEqual(ti.Dims, c.dims) || ti.Type != c.typ || ti.Offset != c.off {
			t.Errorf("%s: %+v", c.name, ti)
			continue
		}
		if !bytes.Equal(f.TensorData(ti), c.data) {
			t.Errorf("%s: data differs", c.name)
		}
	}
	if len(buf.Bytes())%32 != 0 {
		t.Errorf("file length %d not padded", buf.Len())
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter()
	if err := w.AddTensor("a", TypeF32, []uint64{4}, make([]byte, 15)); err == nil || !strings.Contains(err.Error(), `"a"`) {
		t.Errorf("short data: %v", err)
	}
	if err := w.AddTensor("q", TypeQ4_0, []uint64{31}, make([]byte, 18)); err == nil || !strings.Contains(err.Error(), `"q"`) {
		t.Errorf("partial block: %v", err)
	}
	if err := w.AddTensor("u", Type(99), []uint64{1}, nil); err == nil {
		t.Error("unknown type accepted")
	}
	if err := w.AddTensor("d", TypeF32, []uint64{1, 1, 1, 1, 1}, make([]byte, 4)); err == nil {
		t.Error("5 dims accepted")
	}
	if err := w.AddTensor("ok", TypeF32, []uint64{1}, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("ok", TypeF32, []uint64{1}, make([]byte, 4)); err == nil {
		t.Error("duplicate accepted")
	}
	w.Set("bad", ArrayValue(Uint8, []Value{Uint8Value(1), StringValue("x")}))
	if _, err := w.WriteTo(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("mistyped array: %v", err)
	}
	w.Set("bad", Uint8Value(0))
	w.Set("general.alignment", Uint32Value(24))
	if _, err := w.WriteTo(&bytes.Buffer{}); err == nil {
		t.Error("alignment 24 accepted")
	}
	w.Set("general.alignment", Uint32Value(128))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil || f.Alignment != 128 || f.DataOffset%128 != 0 {
		t.Fatalf("alignment 128: %v %+v", err, f)
	}
}

// builder makes small hand-crafted files for the corruption tests.
type builder struct{ b []byte }

func (b *builder) u32(x uint32) *builder { b.b = binary.LittleEndian.AppendUint32(b.b, x); return b }
func (b *builder) u64(x uint64) *builder { b.b = binary.LittleEndian.AppendUint64(b.b, x); return b }
func (b *builder) str(s string) *builder { b.u64(uint64(len(s))); b.b = append(b.b, s...); return b }
func (b *builder) raw(p ...byte) *builder {
	b.b = append(b.b, p...)
	return b
}
func hdr(nt, nkv uint64) *builder {
	b := &builder{b: []byte("GGUF")}
	return b.u32(3).u64(nt).u64(nkv)
}

// tensor appends a tensor info record.
func (b *builder) tensor(name string, typ Type, off uint64, dims ...uint64) *builder {
	b.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		b.u64(d)
	}
	return b.u32(uint32(typ)).u64(off)
}

func (b *builder) pad(n int) *builder {
	for len(b.b)%32 != 0 {
		b.b = append(b.b, 0)
	}
	b.b = append(b.b, make([]byte, n)...)
	return b
}

func TestCorruptions(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		want string // substrings the error must contain
	}{
		{"empty", nil, "magic"},
		{"v1", (&builder{b: []byte("GGUF")}).u32(1).u64(0).u64(0).b, "version 1"},
		{"big-endian", (&builder{b: []byte("GGUF")}).u32(3 << 24).u64(0).u64(0).b, "big-endian"},
		{"unknown value type", hdr(0, 1).str("k.x").u32(13).u32(0).b, `"k.x"`},
		{"unknown array elem", hdr(0, 1).str("k.a").u32(9).u32(77).u64(0).b, `"k.a"`},
		{"huge array", hdr(0, 1).str("k.a").u32(9).u32(4).u64(1 << 61).b, "array length"},
		{"huge string in array", hdr(0, 1).str("k.s").u32(9).u32(8).u64(1).u64(1 << 60).b, `"k.s"`},
		{"duplicate key", hdr(0, 2).str("k").u32(0).raw(1).str("k").u32(0).raw(2).b, `duplicate key "k"`},
		{"alignment type", hdr(0, 1).str("general.alignment").u32(10).u64(32).b, "general.alignment"},
		{"alignment 0", hdr(0, 1).str("general.alignment").u32(4).u32(0).b, "general.alignment"},
		{"alignment 48", hdr(0, 1).str("general.alignment").u32(4).u32(48).b, "general.alignment"},
		{"unknown tensor type", hdr(1, 0).tensor("w", Type(5), 0, 4).pad(16).b, `"w"`},
		{"too many dims", hdr(1, 0).tensor("w", TypeF32, 0, 1, 1, 1, 1, 1).pad(16).b, `n_dims 5`},
		{"negative dim", hdr(1, 0).tensor("w", TypeF32, 0, 1<<63).pad(16).b, `"w"`},
		{"dims overflow", hdr(1, 0).tensor("w", TypeF32, 0, 1<<32, 1<<32).pad(16).b, "overflow"},
		{"bytes overflow", hdr(1, 0).tensor("w", TypeF32, 0, 1<<61, 2).pad(16).b, "overflow"},
		{"zero-row overflow", hdr(1, 0).tensor("w", TypeF32, 0, 0, 1<<62, 1<<62).pad(16).b, "overflow"},
		{"partial block", hdr(1, 0).tensor("w", TypeQ8_0, 0, 33).pad(64).b, `"w"`},
		{"misaligned", hdr(1, 0).tensor("w", TypeF32, 4, 1).pad(64).b, "alignment"},
		{"past end", hdr(1, 0).tensor("w", TypeF32, 32, 8).pad(40).b, "past the end"},
		{"offset huge", hdr(1, 0).tensor("w", TypeF32, 1<<63, 1).pad(4).b, "past the end"},
		{"overlap", hdr(2, 0).tensor("a", TypeF32, 0, 16).tensor("b", TypeF32, 32, 16).pad(96).b, "overlaps"},
		{"duplicate tensor", hdr(2, 0).tensor("a", TypeF32, 0, 1).tensor("a", TypeF32, 32, 1).pad(64).b, `duplicate tensor name "a"`},
		{"huge name", hdr(1, 0).u64(1 << 62).raw(make([]byte, 40)...).b, "tensor 0: name length"},
	}
	deep := hdr(0, 1).str("deep").u32(9)
	for range 1000 {
		deep.u32(9).u64(1)
	}
	cases = append(cases, struct {
		name string
		data []byte
		want string
	}{"deep nesting", deep.u32(0).u64(0).b, "nested deeper"})
	for _, c := range cases {
		f, err := Parse(c.data)
		if err == nil {
			t.Errorf("%s: no error (%+v)", c.name, f)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "gguf: ") {
			t.Errorf("%s: error %q does not mention %q", c.name, err, c.want)
		}
	}
	// Sanity: the builder makes valid files when nothing is wrong.
	ok := hdr(2, 1).str("k").u32(7).raw(1).tensor("a", TypeF32, 0, 8).tensor("b", TypeQ8_0, 32, 32).pad(66).b
	if _, err := Parse(ok); err != nil {
		t.Fatalf("valid hand-made file: %v", err)
	}
}

// TestEveryTruncation cuts the all-types file at every length: each prefix must fail.
func TestEveryTruncation(t *testing.T) {
	data, err := os.ReadFile("testdata/all-types-v3.gguf")
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) {
		if _, err := Parse(data[:n:n]); err == nil {
			t.Fatalf("prefix of %d bytes parsed", n)
		}
	}
}

// TestLyingCountsAllocation checks that claimed counts do not drive allocation.
func TestLyingCountsAllocation(t *testing.T) {
	files := []*builder{
		hdr(1<<40, 0),
		hdr(0, 1<<40),
		hdr(0, 1).str("k").u32(9).u32(8).u64(1 << 40),
		hdr(0, 1).str("k").u32(9).u32(9).u64(1 << 40),
	}
	// Counts that pass the remaining-bytes bound in an 8 MB file: zero bytes read as empty
	// keys or strings, so the first entries parse and the count stays plausible.
	big := 8 << 20
	files = append(files,
		hdr(0, uint64(big/13)),
		hdr(uint64(big/24), 0),
		hdr(0, 1).str("k").u32(9).u32(9).u64(uint64(big/12)))
	for i, b := range files {
		if i < 4 {
			b.raw(make([]byte, 4096)...)
		} else {
			b.raw(make([]byte, big)...)
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		_, err := Parse(b.b)
		runtime.ReadMemStats(&m1)
		if err == nil && i != 6 { // file 6 is valid: 700k empty arrays
			t.Errorf("file %d parsed", i)
		}
		// The cap on preallocation (1024 entries and their index) is the only fixed cost;
		// the valid file 6 holds its arrays' bytes and one 4-byte offset per 12-byte array.
		limit := uint64(256 << 10)
		if i == 6 {
			limit += uint64(len(b.b)) * 4 / 3
		}
		if d := m1.TotalAlloc - m0.TotalAlloc; d > limit {
			t.Errorf("file %d: %d bytes allocated for a %d-byte input", i, d, len(b.b))
		}
	}
}

func TestRealModels(t *testing.T) {
	f, err := Open("testdata/stories260K.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if a, _ := f.String("general.architecture"); a != "llama" {
		t.Errorf("architecture %q", a)
	}
	if n, _ := f.Uint("llama.block_count"); n != 5 {
		t.Errorf("block_count %d", n)
	}
	if eps, _ := f.Float("llama.attention.layer_norm_rms_epsilon"); float32(eps) != 1e-5 {
		t.Errorf("eps %v", eps)
	}
	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 || toks[1] != "<s>" {
		t.Errorf("tokens: %d %v", len(toks), ok)
	}
	if sc, ok := f.Float32s("tokenizer.ggml.scores"); !ok || len(sc) != 512 {
		t.Errorf("scores %d", len(sc))
	}
	if tt, ok := f.Int32s("tokenizer.ggml.token_type"); !ok || len(tt) != 512 || tt[0] != 2 || tt[3] != 6 {
		t.Errorf("token_type %v", tt[:4])
	}
	// 1 token_embd + output_norm + 9 per layer × 5 (stories260K has no output.weight: tied).
	if len(f.Tensors) != 47 {
		t.Errorf("%d tensors", len(f.Tensors))
	}
	te, _ := f.Tensor("token_embd.weight")
	if !reflect.DeepEqual(te.Dims, []uint64{64, 512}) || te.Type != TypeF32 || te.Size != 64*512*4 {
		t.Errorf("token_embd %+v", te)
	}
	var sum float64
	for _, ti := range f.Tensors {
		sum += float64(ti.Size)
	}
	if int64(sum)+f.DataOffset != int64(len(f.Data())) {
		t.Errorf("tensors %v bytes + data offset %d != file size %d", sum, f.DataOffset, len(f.Data()))
	}

	g, err := Open("testdata/tiny-llama-q4_0.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, c := range []struct {
		name string
		typ  Type
		dims []uint64
	}{
		{"token_embd.weight", TypeQ4_0, []uint64{64, 32000}},
		{"blk.1.attn_k.weight", TypeQ4_0, []uint64{64, 32}},
		{"blk.1.ffn_down.weight", TypeQ4_0, []uint64{160, 64}},
		{"output_norm.weight", TypeF32, []uint64{64}},
	} {
		ti, ok := g.Tensor(c.name)
		if !ok || ti.Type != c.typ || !reflect.DeepEqual(ti.Dims, c.dims) {
			t.Errorf("%s: %+v", c.name, ti)
		}
	}
	if toks, _ := g.Strings("tokenizer.ggml.tokens"); len(toks) != 32000 {
		t.Errorf("%d tokens", len(toks))
	}
	if err := g.Close(); err != nil || g.Data() != nil {
		t.Errorf("Close: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.gguf")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 1<<16 {
			f.Add(data)
		}
	}
	f.Add(hdr(2, 1).str("k").u32(7).raw(1).tensor("a", TypeF32, 0, 8).tensor("b", TypeQ8_0, 32, 32).pad(66).b)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		// Whatever parses must be fully usable and must survive a rewrite.
		for i := range file.Tensors {
			ti := &file.Tensors[i]
			if int64(len(file.TensorData(ti))) != ti.Size {
				t.Fatalf("tensor %q: data length", ti.Name)
			}
		}
		for _, kv := range file.KVs {
			_ = kv.Value.String()
		}
		w := copyToWriter(t, file)
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		g, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("reparse: %v", err)
		}
		if len(g.KVs) != len(file.KVs) || len(g.Tensors) != len(file.Tensors) {
			t.Fatal("rewrite lost entries")
		}
	})
}

// TestDropPages: dropping a tensor's pages from the resident set never changes what is read
// (the pages come back from the page cache), for a mapping and for a File from Parse.
func TestDropPages(t *testing.T) {
	f, err := Open("testdata/stories260K.gguf")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := bytes.Clone(f.Data())
	for i := range f.Tensors {
		f.DropPages(f.TensorData(&f.Tensors[i]))
	}
	f.DropPages(nil)
	if !bytes.Equal(f.Data(), want) {
		t.Fatal("data changed after DropPages")
	}
	p, err := Parse(bytes.Clone(want))
	if err != nil {
		t.Fatal(err)
	}
	te, _ := p.Tensor("token_embd.weight")
	p.DropPages(p.TensorData(te)) // heap memory: must not be discarded
	if !bytes.Equal(p.Data(), want) {
		t.Fatal("parsed data changed after DropPages")
	}
}
