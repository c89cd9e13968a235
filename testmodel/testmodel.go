// Package testmodel writes GGUF models with seeded random weights for any llama, qwen2 or
// qwen3 shape and weight type, with the tokenizer copied from an existing GGUF. The files
// have the tensor names, dimensions and metadata keys llama.cpp uses
// (src/llama-arch.cpp, convert_hf_to_gguf.py), so llama.cpp can load them as well as golem.
//
// Weights follow ../shared/bench/make-model.mjs, the reference writer: matrices N(0, s²)
// with s = 1/√fan_in (q and k at half that, token_embd 0.35 so tied logits are not flat),
// norms 1 + N(0, 0.01), qwen2 biases N(0, 0.04). Each tensor draws from its own stream
// seeded by (Seed, tensor name), so a tensor's values do not depend on the others.
package testmodel

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tensor"
)

// Config is the shape and weight type of a model.
type Config struct {
	Arch    string // "llama", "qwen2" or "qwen3"
	Name    string // general.name; "" gives "random {arch} {type}"
	NEmbd   int    // n_embd, the hidden size
	NLayer  int    // n_layer, the number of blocks
	NHead   int    // n_head, query heads
	NHeadKV int    // n_head_kv, key/value heads (GQA); 0 means NHead
	NFF     int    // n_ff, the feed-forward hidden size
	NCtx    int    // context length in tokens ({arch}.context_length)
	// HeadDim is the size of one attention head; 0 means NEmbd/NHead. When it differs (as
	// in Qwen3) the file carries {arch}.attention.key_length and value_length.
	HeadDim  int
	RopeBase float32 // rope.freq_base (θ)
	NormEps  float32 // attention.layer_norm_rms_epsilon
	Tied     bool    // no output.weight: the output projection reuses token_embd
	// Type is the weight type, as llama-quantize names it: F32, F16, BF16, Q8_0, Q4_0,
	// Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K (= Q4_K_S), Q5_K (= Q5_K_S), Q6_K, or the mixes
	// Q4_K_M and Q5_K_M. "" means F32. Norms, biases and rope_freqs are always F32.
	Type string
	Seed uint64
	// RopeFreqs, if set, is written as rope_freqs.weight [HeadDim/2] (Llama 3.1+ RoPE
	// scaling: per-frequency divisors, as llama.cpp's converter writes them).
	RopeFreqs []float32
}

// Shapes are ready-made shapes (Arch "llama", Type F32 unless changed): "tiny" and "small"
// as in make-model.mjs, and the shapes of real models.
var Shapes = map[string]Config{
	"tiny":  {Arch: "llama", NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 160, NCtx: 256, RopeBase: 10000, NormEps: 1e-5, Tied: true},
	"small": {Arch: "llama", NEmbd: 256, NLayer: 2, NHead: 4, NHeadKV: 1, NFF: 768, NCtx: 1024, RopeBase: 1e6, NormEps: 1e-6, Tied: true},
	"llama-3.2-1b": {Arch: "llama", NEmbd: 2048, NLayer: 16, NHead: 32, NHeadKV: 8, NFF: 8192, NCtx: 131072,
		RopeBase: 500000, NormEps: 1e-5, Tied: true},
	"qwen2.5-0.5b": {Arch: "qwen2", NEmbd: 896, NLayer: 24, NHead: 14, NHeadKV: 2, NFF: 4864, NCtx: 32768,
		RopeBase: 1e6, NormEps: 1e-6, Tied: true},
	"qwen3-0.6b": {Arch: "qwen3", NEmbd: 1024, NLayer: 28, NHead: 16, NHeadKV: 8, NFF: 3072, NCtx: 40960,
		HeadDim: 128, RopeBase: 1e6, NormEps: 1e-6, Tied: true},
}

// typeMix is how a Type name maps to ggml types: base for most matrices, more for the
// sensitive ones (attn_v, ffn_down, output, and token_embd when tied), and the llama_ftype
// id written as general.file_type (llama.h).
type typeMix struct {
	base, more gguf.Type
	ftype      uint32
}

var mixes = map[string]typeMix{
	"F32":    {gguf.TypeF32, gguf.TypeF32, 0},
	"F16":    {gguf.TypeF16, gguf.TypeF16, 1},
	"Q4_0":   {gguf.TypeQ4_0, gguf.TypeQ4_0, 2},
	"Q4_1":   {gguf.TypeQ4_1, gguf.TypeQ4_1, 3},
	"Q8_0":   {gguf.TypeQ8_0, gguf.TypeQ8_0, 7},
	"Q5_0":   {gguf.TypeQ5_0, gguf.TypeQ5_0, 8},
	"Q5_1":   {gguf.TypeQ5_1, gguf.TypeQ5_1, 9},
	"Q2_K":   {gguf.TypeQ2_K, gguf.TypeQ2_K, 10},
	"Q3_K":   {gguf.TypeQ3_K, gguf.TypeQ3_K, 11},
	"Q4_K":   {gguf.TypeQ4_K, gguf.TypeQ4_K, 14},
	"Q4_K_S": {gguf.TypeQ4_K, gguf.TypeQ4_K, 14},
	"Q4_K_M": {gguf.TypeQ4_K, gguf.TypeQ6_K, 15},
	"Q5_K":   {gguf.TypeQ5_K, gguf.TypeQ5_K, 16},
	"Q5_K_S": {gguf.TypeQ5_K, gguf.TypeQ5_K, 16},
	"Q5_K_M": {gguf.TypeQ5_K, gguf.TypeQ6_K, 17},
	"Q6_K":   {gguf.TypeQ6_K, gguf.TypeQ6_K, 18},
	"BF16":   {gguf.TypeBF16, gguf.TypeBF16, 32},
}

// fallback is the type llama.cpp uses when a row length is not a multiple of a k-quant's
// 256-element super-block (llama-quant.cpp, "fallback quantization").
var fallback = map[gguf.Type]gguf.Type{
	gguf.TypeQ2_K: gguf.TypeQ4_0, // llama.cpp picks IQ4_NL, which golem does not have
	gguf.TypeQ3_K: gguf.TypeQ4_0,
	gguf.TypeQ4_K: gguf.TypeQ5_0,
	gguf.TypeQ5_K: gguf.TypeQ5_1,
	gguf.TypeQ6_K: gguf.TypeQ8_0,
}

// weightType returns the ggml type of a matrix whose rows have ne0 elements.
func weightType(mix typeMix, name string, tied bool, ne0 int) gguf.Type {
	t := mix.base
	if strings.Contains(name, "attn_v.") || strings.Contains(name, "ffn_down.") ||
		name == "output.weight" || (tied && name == "token_embd.weight") {
		t = mix.more
	}
	if ne0%t.BlockSize() != 0 {
		if fb, ok := fallback[t]; ok {
			t = fb
		}
	}
	if ne0%t.BlockSize() != 0 {
		t = gguf.TypeF16
	}
	return t
}

// spec is one tensor to write: dims in ggml order (ne0 first) and how to draw its values.
type spec struct {
	name  string
	dims  []uint64
	typ   gguf.Type
	mean  float64 // values are mean + scale·N(0,1)
	scale float64
	fixed []float32 // exact values instead (rope_freqs)
}

func (c *Config) headDim() int {
	if c.HeadDim != 0 {
		return c.HeadDim
	}
	return c.NEmbd / c.NHead
}

func (c *Config) check() (typeMix, error) {
	if c.Arch != "llama" && c.Arch != "qwen2" && c.Arch != "qwen3" {
		return typeMix{}, fmt.Errorf("testmodel: architecture %q: want llama, qwen2 or qwen3", c.Arch)
	}
	typ := c.Type
	if typ == "" {
		typ = "F32"
	}
	mix, ok := mixes[strings.ToUpper(typ)]
	if !ok {
		return typeMix{}, fmt.Errorf("testmodel: unknown weight type %q", c.Type)
	}
	if c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0 || c.NFF <= 0 || c.NCtx <= 0 || c.NHeadKV < 0 || c.HeadDim < 0 {
		return typeMix{}, fmt.Errorf("testmodel: sizes must be positive: %+v", *c)
	}
	kv := c.NHeadKV
	if kv == 0 {
		kv = c.NHead
	}
	if c.NHead%kv != 0 {
		return typeMix{}, fmt.Errorf("testmodel: n_head %d is not a multiple of n_head_kv %d", c.NHead, kv)
	}
	if c.HeadDim == 0 && c.NEmbd%c.NHead != 0 {
		return typeMix{}, fmt.Errorf("testmodel: n_embd %d is not a multiple of n_head %d (set HeadDim)", c.NEmbd, c.NHead)
	}
	if c.headDim()%2 != 0 {
		return typeMix{}, fmt.Errorf("testmodel: head dimension %d is odd (RoPE rotates pairs)", c.headDim())
	}
	if c.RopeFreqs != nil && len(c.RopeFreqs) != c.headDim()/2 {
		return typeMix{}, fmt.Errorf("testmodel: %d rope_freqs, want head_dim/2 = %d", len(c.RopeFreqs), c.headDim()/2)
	}
	return mix, nil
}

// tensors lists the model's tensors in the order they are written.
func (c *Config) tensors(mix typeMix, nVocab int) []spec {
	hd, nKV := c.headDim(), c.NHeadKV
	if nKV == 0 {
		nKV = c.NHead
	}
	nq, nk := c.NHead*hd, nKV*hd
	s := 1 / math.Sqrt(float64(c.NEmbd))
	mat := func(name string, ne0, ne1 int, scale float64) spec {
		return spec{name: name, dims: []uint64{uint64(ne0), uint64(ne1)}, typ: weightType(mix, name, c.Tied, ne0), scale: scale}
	}
	vec := func(name string, n int) spec {
		return spec{name: name, dims: []uint64{uint64(n)}, typ: gguf.TypeF32, mean: 1, scale: 0.1}
	}
	bias := func(name string, n int) spec {
		return spec{name: name, dims: []uint64{uint64(n)}, typ: gguf.TypeF32, scale: 0.2}
	}
	var out []spec
	if c.RopeFreqs != nil {
		out = append(out, spec{name: "rope_freqs.weight", dims: []uint64{uint64(hd / 2)}, typ: gguf.TypeF32, fixed: c.RopeFreqs})
	}
	out = append(out, mat("token_embd.weight", c.NEmbd, nVocab, 0.35))
	for l := range c.NLayer {
		p := fmt.Sprintf("blk.%d.", l)
		out = append(out, vec(p+"attn_norm.weight", c.NEmbd),
			mat(p+"attn_q.weight", c.NEmbd, nq, 0.5*s),
			mat(p+"attn_k.weight", c.NEmbd, nk, 0.5*s),
			mat(p+"attn_v.weight", c.NEmbd, nk, s))
		if c.Arch == "qwen2" {
			out = append(out, bias(p+"attn_q.bias", nq), bias(p+"attn_k.bias", nk), bias(p+"attn_v.bias", nk))
		}
		if c.Arch == "qwen3" {
			out = append(out, vec(p+"attn_q_norm.weight", hd), vec(p+"attn_k_norm.weight", hd))
		}
		out = append(out,
			mat(p+"attn_output.weight", nq, c.NEmbd, 1/math.Sqrt(float64(nq))),
			vec(p+"ffn_norm.weight", c.NEmbd),
			mat(p+"ffn_gate.weight", c.NEmbd, c.NFF, s),
			mat(p+"ffn_up.weight", c.NEmbd, c.NFF, s),
			mat(p+"ffn_down.weight", c.NFF, c.NEmbd, 1/math.Sqrt(float64(c.NFF))))
	}
	out = append(out, vec("output_norm.weight", c.NEmbd))
	if !c.Tied {
		out = append(out, mat("output.weight", c.NEmbd, nVocab, s))
	}
	return out
}

// Write writes a model of shape cfg with vocab's tokenizer (every tokenizer.* key, in its
// file order) to w. Tensors are generated and quantized one chunk of rows at a time while
// being written, so memory stays near the largest tensor's encoded size. Errors name the
// config field or tensor at fault.
func Write(w io.Writer, cfg Config, vocab *gguf.File) error {
	mix, err := cfg.check()
	if err != nil {
		return err
	}
	if vocab == nil {
		return errors.New("testmodel: no vocabulary file")
	}
	toks, ok := vocab.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) == 0 {
		return errors.New("testmodel: vocabulary file has no tokenizer.ggml.tokens string array")
	}
	a := cfg.Arch
	typ := strings.ToUpper(cfg.Type)
	if typ == "" {
		typ = "F32"
	}
	name := cfg.Name
	if name == "" {
		name = fmt.Sprintf("random %s %s", a, typ)
	}
	nKV := cfg.NHeadKV
	if nKV == 0 {
		nKV = cfg.NHead
	}
	gw := gguf.NewWriter()
	gw.Set("general.architecture", gguf.StringValue(a))
	gw.Set("general.name", gguf.StringValue(name))
	gw.Set("general.file_type", gguf.Uint32Value(mix.ftype))
	gw.Set("general.alignment", gguf.Uint32Value(gguf.DefaultAlignment))
	gw.Set(a+".context_length", gguf.Uint32Value(uint32(cfg.NCtx)))
	gw.Set(a+".embedding_length", gguf.Uint32Value(uint32(cfg.NEmbd)))
	gw.Set(a+".block_count", gguf.Uint32Value(uint32(cfg.NLayer)))
	gw.Set(a+".feed_forward_length", gguf.Uint32Value(uint32(cfg.NFF)))
	gw.Set(a+".rope.dimension_count", gguf.Uint32Value(uint32(cfg.headDim())))
	gw.Set(a+".attention.head_count", gguf.Uint32Value(uint32(cfg.NHead)))
	gw.Set(a+".attention.head_count_kv", gguf.Uint32Value(uint32(nKV)))
	if cfg.HeadDim != 0 && (cfg.HeadDim*cfg.NHead != cfg.NEmbd || a == "qwen3") {
		gw.Set(a+".attention.key_length", gguf.Uint32Value(uint32(cfg.HeadDim)))
		gw.Set(a+".attention.value_length", gguf.Uint32Value(uint32(cfg.HeadDim)))
	}
	gw.Set(a+".attention.layer_norm_rms_epsilon", gguf.Float32Value(cfg.NormEps))
	gw.Set(a+".rope.freq_base", gguf.Float32Value(cfg.RopeBase))
	gw.Set(a+".vocab_size", gguf.Uint32Value(uint32(len(toks))))
	for _, kv := range vocab.KVs {
		if strings.HasPrefix(kv.Key, "tokenizer.") {
			gw.Set(kv.Key, kv.Value)
		}
	}
	for _, sp := range cfg.tensors(mix, len(toks)) {
		if err := gw.AddTensorFunc(sp.name, sp.typ, sp.dims, sp.fill(cfg.Seed)); err != nil {
			return fmt.Errorf("testmodel: %w", err)
		}
	}
	_, err = gw.WriteTo(w)
	if err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

// fill returns the function that draws the tensor's values and encodes them into dst.
// Rows are drawn and quantized in fixed chunks (rows quantize independently in ggml), each
// chunk from its own stream seeded by (seed, name, chunk index), so the bytes do not depend
// on how many goroutines share the work.
func (sp spec) fill(seed uint64) func(dst []byte) error {
	return func(dst []byte) error {
		if sp.fixed != nil {
			return tensor.Quantize(sp.typ, sp.fixed, dst)
		}
		h := fnv.New64a()
		h.Write([]byte(sp.name))
		stream := h.Sum64()
		ne0 := int(sp.dims[0])
		rows := 1
		for _, d := range sp.dims[1:] {
			rows *= int(d)
		}
		rowBytes, err := sp.typ.RowSize(int64(ne0))
		if err != nil {
			return err
		}
		chunk := max(1, (1<<16)/ne0) // rows per chunk: about 256 KiB of float32
		nChunks := (rows + chunk - 1) / chunk
		workers := min(runtime.GOMAXPROCS(0), nChunks)
		var next atomic.Int64
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for wk := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]float32, min(chunk, rows)*ne0)
				for {
					c := int(next.Add(1) - 1)
					if c >= nChunks {
						return
					}
					r := c * chunk
					n := min(chunk, rows-r)
					rng := rand.New(rand.NewPCG(seed^uint64(c)*0x9e3779b97f4a7c15, stream))
					src := buf[:n*ne0]
					for i := range src {
						src[i] = float32(sp.mean + sp.scale*rng.NormFloat64())
					}
					if err := tensor.Quantize(sp.typ, src, dst[int64(r)*rowBytes:int64(r+n)*rowBytes]); err != nil {
						errs[wk] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	}
}

// WriteFile writes the model to path (through a temporary file in the same directory,
// renamed into place, so a reader never sees half a model).
func WriteFile(path string, cfg Config, vocab *gguf.File) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := Write(tmp, cfg, vocab); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("testmodel: %w", err)
	}
	return nil
}

// Generate returns dir/name.gguf, writing it first if it does not exist. The cache is by
// name only: use a name that encodes the config (e.g. "qwen3-tiny-q8_0-seed1").
func Generate(dir, name string, cfg Config, vocab *gguf.File) (string, error) {
	path := filepath.Join(dir, name+".gguf")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("testmodel: %w", err)
	}
	if err := WriteFile(path, cfg, vocab); err != nil {
		return "", err
	}
	return path, nil
}

// WithKVs returns the GGUF image src with float32 metadata keys added (or replaced), the new
// ones in sorted key order after the existing ones, tensors unchanged: how the architecture
// goldens add hyper-parameters the writer's Config does not carry (e.g. rope.scaling.factor).
func WithKVs(src []byte, kvs map[string]float32) ([]byte, error) {
	f, err := gguf.Parse(src)
	if err != nil {
		return nil, err
	}
	w, err := gguf.NewWriterFrom(f)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(kvs))
	for k := range kvs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Set(k, gguf.Float32Value(kvs[k]))
	}
	var out bytes.Buffer
	if _, err := w.WriteTo(&out); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
