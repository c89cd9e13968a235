package testmodel

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// testVocab builds a small BPE-style vocabulary file with the keys a real one has, plus a
// non-tokenizer key that must not be copied.
func testVocab(t testing.TB, n int) *gguf.File {
	t.Helper()
	w := gguf.NewWriter()
	w.Set("general.architecture", gguf.StringValue("qwen2"))
	w.Set("general.name", gguf.StringValue("vocab only"))
	toks := make([]string, n)
	types := make([]int32, n)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i)
		types[i] = 1
	}
	toks[n-1], types[n-1] = "<|endoftext|>", 3
	w.Set("tokenizer.ggml.model", gguf.StringValue("gpt2"))
	w.Set("tokenizer.ggml.pre", gguf.StringValue("qwen2"))
	w.Set("tokenizer.ggml.tokens", gguf.StringsValue(toks))
	w.Set("tokenizer.ggml.token_type", gguf.Int32sValue(types))
	w.Set("tokenizer.ggml.merges", gguf.StringsValue([]string{"t o", "to k"}))
	w.Set("tokenizer.ggml.eos_token_id", gguf.Uint32Value(uint32(n-1)))
	w.Set("tokenizer.ggml.add_bos_token", gguf.BoolValue(false))
	w.Set("tokenizer.chat_template", gguf.StringValue("{% for m in messages %}{{ m.content }}{% endfor %}"))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func write(t testing.TB, cfg Config, vocab *gguf.File) *gguf.File {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, cfg, vocab); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var base = Config{NEmbd: 256, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 512, NCtx: 128, RopeBase: 10000, NormEps: 1e-6, Seed: 7}

type want struct {
	dims []uint64
	typ  gguf.Type
}

// expected lists every tensor llama.cpp's loader asks for (llama-model.cpp, LLM_ARCH_LLAMA,
// QWEN2, QWEN3), with dims written out by hand.
func expected(arch string, tied bool, nVocab uint64, hd uint64, mat, more, emb gguf.Type) map[string]want {
	const e, ff = 256, 512
	q, k := 4*hd, 2*hd
	m := map[string]want{
		"token_embd.weight":  {[]uint64{e, nVocab}, emb},
		"output_norm.weight": {[]uint64{e}, gguf.TypeF32},
	}
	if !tied {
		m["output.weight"] = want{[]uint64{e, nVocab}, more}
	}
	for l := range 2 {
		p := fmt.Sprintf("blk.%d.", l)
		m[p+"attn_norm.weight"] = want{[]uint64{e}, gguf.TypeF32}
		m[p+"attn_q.weight"] = want{[]uint64{e, q}, mat}
		m[p+"attn_k.weight"] = want{[]uint64{e, k}, mat}
		m[p+"attn_v.weight"] = want{[]uint64{e, k}, more}
		m[p+"attn_output.weight"] = want{[]uint64{q, e}, mat}
		m[p+"ffn_norm.weight"] = want{[]uint64{e}, gguf.TypeF32}
		m[p+"ffn_gate.weight"] = want{[]uint64{e, ff}, mat}
		m[p+"ffn_up.weight"] = want{[]uint64{e, ff}, mat}
		m[p+"ffn_down.weight"] = want{[]uint64{ff, e}, more}
		switch arch {
		case "qwen2":
			m[p+"attn_q.bias"] = want{[]uint64{q}, gguf.TypeF32}
			m[p+"attn_k.bias"] = want{[]uint64{k}, gguf.TypeF32}
			m[p+"attn_v.bias"] = want{[]uint64{k}, gguf.TypeF32}
		case "qwen3":
			m[p+"attn_q_norm.weight"] = want{[]uint64{hd}, gguf.TypeF32}
			m[p+"attn_k_norm.weight"] = want{[]uint64{hd}, gguf.TypeF32}
		}
	}
	return m
}

func TestArchitecturesAndTypes(t *testing.T) {
	vocab := testVocab(t, 300)
	cases := []struct {
		arch, typ       string
		tied            bool
		headDim         int
		mat, more, emb  gguf.Type
		ftype           uint64
		keyLen, wantKey bool
	}{
		{"llama", "F32", true, 0, gguf.TypeF32, gguf.TypeF32, gguf.TypeF32, 0, false, false},
		{"llama", "Q4_K_M", true, 0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeQ6_K, 15, false, false},
		{"llama", "q4_k_m", false, 0, gguf.TypeQ4_K, gguf.TypeQ6_K, gguf.TypeQ4_K, 15, false, false},
		{"qwen2", "Q8_0", false, 0, gguf.TypeQ8_0, gguf.TypeQ8_0, gguf.TypeQ8_0, 7, false, false},
		{"qwen2", "F16", true, 0, gguf.TypeF16, gguf.TypeF16, gguf.TypeF16, 1, false, false},
		{"qwen3", "BF16", true, 32, gguf.TypeBF16, gguf.TypeBF16, gguf.TypeBF16, 32, true, true},
		{"qwen3", "Q4_0", false, 0, gguf.TypeQ4_0, gguf.TypeQ4_0, gguf.TypeQ4_0, 2, false, false},
		{"llama", "Q6_K", true, 0, gguf.TypeQ6_K, gguf.TypeQ6_K, gguf.TypeQ6_K, 18, false, false},
	}
	for _, c := range cases {
		t.Run(c.arch+"-"+c.typ, func(t *testing.T) {
			cfg := base
			cfg.Arch, cfg.Type, cfg.Tied, cfg.HeadDim = c.arch, c.typ, c.tied, c.headDim
			f := write(t, cfg, vocab)
			hd := uint64(64)
			if c.headDim != 0 {
				hd = uint64(c.headDim)
			}
			exp := expected(c.arch, c.tied, 300, hd, c.mat, c.more, c.emb)
			if len(f.Tensors) != len(exp) {
				t.Errorf("%d tensors, want %d", len(f.Tensors), len(exp))
			}
			for _, ti := range f.Tensors {
				w, ok := exp[ti.Name]
				if !ok {
					t.Errorf("unexpected tensor %q", ti.Name)
					continue
				}
				if !reflect.DeepEqual(ti.Dims, w.dims) || ti.Type != w.typ {
					t.Errorf("%s: %v %v, want %v %v", ti.Name, ti.Dims, ti.Type, w.dims, w.typ)
				}
			}
			a := c.arch
			u := map[string]uint64{
				"general.file_type": c.ftype, a + ".context_length": 128, a + ".embedding_length": 256,
				a + ".block_count": 2, a + ".feed_forward_length": 512, a + ".attention.head_count": 4,
				a + ".attention.head_count_kv": 2, a + ".rope.dimension_count": hd, a + ".vocab_size": 300,
			}
			if c.wantKey {
				u[a+".attention.key_length"], u[a+".attention.value_length"] = hd, hd
			} else if _, ok := f.Lookup(a + ".attention.key_length"); ok {
				t.Error("key_length written for the default head size")
			}
			for k, v := range u {
				if got, ok := f.Uint(k); !ok || got != v {
					t.Errorf("%s = %d %v, want %d", k, got, ok, v)
				}
			}
			if s, _ := f.String("general.architecture"); s != a {
				t.Errorf("architecture %q", s)
			}
			if x, _ := f.Float(a + ".attention.layer_norm_rms_epsilon"); float32(x) != 1e-6 {
				t.Errorf("eps %v", x)
			}
			if x, _ := f.Float(a + ".rope.freq_base"); x != 10000 {
				t.Errorf("freq_base %v", x)
			}
			if n, _ := f.String("general.name"); n == "vocab only" {
				t.Error("general.name copied from the vocabulary")
			}
			checkTokenizer(t, f, vocab)
			checkStats(t, f, cfg)
		})
	}
}

// checkTokenizer asserts every tokenizer.* key of the source, and no other, equals the copy.
func checkTokenizer(t *testing.T, f, vocab *gguf.File) {
	t.Helper()
	var src, got []gguf.KV
	for _, kv := range vocab.KVs {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			src = append(src, kv)
		}
	}
	for _, kv := range f.KVs {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			got = append(got, kv)
		}
	}
	if len(src) != 8 || len(got) != len(src) {
		t.Fatalf("%d tokenizer keys copied of %d", len(got), len(src))
	}
	for i := range src {
		a, b := src[i], got[i]
		if a.Key != b.Key || a.Value.Type() != b.Value.Type() || a.Value.Len() != b.Value.Len() {
			t.Errorf("key %d: %s %v vs %s %v", i, a.Key, a.Value.Type(), b.Key, b.Value.Type())
			continue
		}
		for j := range a.Value.Len() {
			if a.Value.Index(j).String() != b.Value.Index(j).String() {
				t.Errorf("%s[%d] differs", a.Key, j)
			}
		}
		if a.Value.String() != b.Value.String() {
			t.Errorf("%s: %v vs %v", a.Key, a.Value, b.Value)
		}
	}
}

// checkStats dequantizes every tensor and checks the mean and spread of its values against
// the distribution Write documents (loose bounds: quantization and sampling noise).
func checkStats(t *testing.T, f *gguf.File, cfg Config) {
	t.Helper()
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		x := make([]float32, ti.NumElements())
		if err := tensor.Dequantize(ti.Type, f.TensorData(ti), x); err != nil {
			t.Fatalf("%s: %v", ti.Name, err)
		}
		var sum, sq float64
		for _, v := range x {
			sum += float64(v)
		}
		mean := sum / float64(len(x))
		for _, v := range x {
			sq += (float64(v) - mean) * (float64(v) - mean)
		}
		std := math.Sqrt(sq / float64(len(x)))
		wantMean, wantStd := 0.0, 0.0
		switch {
		case strings.HasSuffix(ti.Name, "norm.weight"):
			wantMean, wantStd = 1, 0.1
		case strings.HasSuffix(ti.Name, ".bias"):
			wantStd = 0.2
		case ti.Name == "token_embd.weight":
			wantStd = 0.35
		case strings.Contains(ti.Name, "attn_q.") || strings.Contains(ti.Name, "attn_k."):
			wantStd = 0.5 / math.Sqrt(float64(cfg.NEmbd))
		case strings.Contains(ti.Name, "attn_output."):
			wantStd = 1 / math.Sqrt(float64(ti.Dims[0]))
		case strings.Contains(ti.Name, "ffn_down."):
			wantStd = 1 / math.Sqrt(float64(cfg.NFF))
		default:
			wantStd = 1 / math.Sqrt(float64(cfg.NEmbd))
		}
		// Small tensors (q/k norms of 32 values) get wider bounds.
		tol := 0.1 + 3/math.Sqrt(float64(len(x)))
		if math.Abs(std-wantStd) > tol*wantStd || math.Abs(mean-wantMean) > 0.1*wantStd+tol*wantStd/2 {
			t.Errorf("%s (%v): mean %.4f std %.4f, want %.4f ± , %.4f", ti.Name, ti.Type, mean, std, wantMean, wantStd)
		}
	}
}

func TestFallbackForShortRows(t *testing.T) {
	vocab := testVocab(t, 100)
	cfg := Shapes["tiny"] // n_embd 64: no k-quant fits a 64-element row
	cfg.Type = "Q4_K_M"
	f := write(t, cfg, vocab)
	for name, typ := range map[string]gguf.Type{
		"token_embd.weight":        gguf.TypeQ8_0, // Q6_K → Q8_0
		"blk.0.attn_q.weight":      gguf.TypeQ5_0, // Q4_K → Q5_0
		"blk.0.attn_v.weight":      gguf.TypeQ8_0,
		"blk.1.ffn_down.weight":    gguf.TypeQ8_0, // ne0 = 160
		"blk.1.ffn_up.weight":      gguf.TypeQ5_0,
		"blk.1.attn_output.weight": gguf.TypeQ5_0,
	} {
		if ti, ok := f.Tensor(name); !ok || ti.Type != typ {
			t.Errorf("%s: %+v, want %v", name, ti, typ)
		}
	}
}

func TestDeterministicAndPerTensor(t *testing.T) {
	vocab := testVocab(t, 100)
	cfg := base
	cfg.Arch, cfg.Type = "llama", "F32"
	var a, b, c bytes.Buffer
	if err := Write(&a, cfg, vocab); err != nil {
		t.Fatal(err)
	}
	if err := Write(&b, cfg, vocab); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("same config and seed gave different files")
	}
	// The bytes must not depend on the number of goroutines that fill the tensors.
	prev := runtime.GOMAXPROCS(1)
	var one bytes.Buffer
	err := Write(&one, cfg, vocab)
	runtime.GOMAXPROCS(prev)
	if err != nil || !bytes.Equal(a.Bytes(), one.Bytes()) {
		t.Fatalf("GOMAXPROCS 1 gave a different file (%v)", err)
	}
	cfg2 := cfg
	cfg2.Seed++
	if err := Write(&c, cfg2, vocab); err != nil {
		t.Fatal(err)
	}
	fa, _ := gguf.Parse(a.Bytes())
	fc, _ := gguf.Parse(c.Bytes())
	ta, _ := fa.Tensor("blk.1.ffn_up.weight")
	tc, _ := fc.Tensor("blk.1.ffn_up.weight")
	if bytes.Equal(fa.TensorData(ta), fc.TensorData(tc)) {
		t.Error("another seed gave the same weights")
	}
	// A tensor's values depend on its name and the seed only: adding qwen2 biases and an
	// output matrix leaves the shared tensors as they were.
	cfg3 := cfg
	cfg3.Arch, cfg3.Tied = "qwen2", false
	fq := write(t, cfg3, vocab)
	for _, name := range []string{"token_embd.weight", "blk.1.attn_v.weight", "output_norm.weight"} {
		x, _ := fa.Tensor(name)
		y, _ := fq.Tensor(name)
		if !bytes.Equal(fa.TensorData(x), fq.TensorData(y)) {
			t.Errorf("%s differs between llama and qwen2 with the same seed", name)
		}
	}
}

func TestRopeFreqs(t *testing.T) {
	vocab := testVocab(t, 50)
	cfg := Shapes["tiny"]
	cfg.RopeFreqs = make([]float32, 8) // head_dim 16
	for i := range cfg.RopeFreqs {
		cfg.RopeFreqs[i] = float32(i + 1)
	}
	f := write(t, cfg, vocab)
	ti, ok := f.Tensor("rope_freqs.weight")
	if !ok || ti.Type != gguf.TypeF32 || !reflect.DeepEqual(ti.Dims, []uint64{8}) {
		t.Fatalf("rope_freqs %+v", ti)
	}
	got := make([]float32, 8)
	if err := tensor.Dequantize(gguf.TypeF32, f.TensorData(ti), got); err != nil || !reflect.DeepEqual(got, cfg.RopeFreqs) {
		t.Errorf("rope_freqs = %v (%v)", got, err)
	}
	cfg.RopeFreqs = cfg.RopeFreqs[:3]
	if err := Write(io.Discard, cfg, vocab); err == nil {
		t.Error("3 rope_freqs for head_dim 16 accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	vocab := testVocab(t, 50)
	for _, c := range []struct {
		mod  func(*Config)
		want string
	}{
		{func(c *Config) { c.Arch = "gpt2" }, "architecture"},
		{func(c *Config) { c.Type = "Q9_9" }, "Q9_9"},
		{func(c *Config) { c.NHeadKV = 3 }, "n_head_kv"},
		{func(c *Config) { c.NEmbd = 66 }, "n_head"},
		{func(c *Config) { c.NLayer = 0 }, "positive"},
		{func(c *Config) { c.HeadDim = 15 }, "odd"},
	} {
		cfg := Shapes["tiny"]
		c.mod(&cfg)
		if err := Write(io.Discard, cfg, vocab); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want mention of %q", err, c.want)
		}
	}
	if err := Write(io.Discard, Shapes["tiny"], nil); err == nil {
		t.Error("nil vocabulary accepted")
	}
}

func TestGenerateCaches(t *testing.T) {
	vocab := testVocab(t, 50)
	dir := t.TempDir()
	p, err := Generate(dir, "tiny-f32", Shapes["tiny"], vocab)
	if err != nil {
		t.Fatal(err)
	}
	if p != filepath.Join(dir, "tiny-f32.gguf") {
		t.Errorf("path %s", p)
	}
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A second call must not rewrite: mark the file and look for the mark.
	if err := os.WriteFile(p, []byte("cached"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p2, err := Generate(dir, "tiny-f32", Shapes["tiny"], vocab); err != nil || p2 != p {
		t.Fatal(p2, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "cached" {
		t.Error("Generate rewrote a cached file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries in the cache dir (temporary file left?)", len(ents))
	}
}

func TestShapes(t *testing.T) {
	vocab := testVocab(t, 50)
	for name, cfg := range Shapes {
		if _, err := cfg.check(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	b := Shapes["llama-3.2-1b"]
	if b.NEmbd != 2048 || b.NLayer != 16 || b.NHead != 32 || b.NHeadKV != 8 || b.NFF != 8192 || !b.Tied || b.RopeBase != 500000 {
		t.Errorf("llama-3.2-1b %+v", b)
	}
	// The 1B shape's tensor list: 2 + 9×16 tensors, 1.24e9 parameters with a 128256 vocabulary.
	mix, _ := b.check()
	specs := b.tensors(mix, 128256)
	var params uint64
	for _, s := range specs {
		n := uint64(1)
		for _, d := range s.dims {
			n *= d
		}
		params += n
	}
	if len(specs) != 2+9*16 || params != 1235814400 {
		t.Errorf("llama-3.2-1b: %d tensors, %d parameters", len(specs), params)
	}
	_ = vocab
}

// BenchmarkWrite1B writes the llama-3.2-1b shape in Q4_K_M to io.Discard, streaming.
func BenchmarkWrite1B(b *testing.B) {
	vocab := testVocab(b, 128256)
	cfg := Shapes["llama-3.2-1b"]
	cfg.Type = "Q4_K_M"
	for b.Loop() {
		cw := &countW{}
		if err := Write(cw, cfg, vocab); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(cw.n)/(1<<20), "MiB")
	}
}

type countW struct{ n int64 }

func (c *countW) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
