// Package model binds the weights of a GGUF file to a transformer architecture and runs
// the forward pass over a ragged batch of sequences (see Batch and KV).
//
// Every architecture here is a pre-norm decoder-only transformer with RMSNorm, rotary
// position embeddings, grouped-query attention and a SwiGLU feed-forward network
// (llama.cpp's build_llama / build_qwen2 / build_qwen3 in src/llama-model.cpp); they
// differ in small options (RoPE pairing, q/k/v biases, per-head q/k norms) that each
// architecture's file states.
package model

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
	"github.com/golem-llm/golem/tensor"
)

// arch lists what distinguishes one architecture from the shared block.
type arch struct {
	ropeMode   int  // kernel.RopeNorm or kernel.RopeNeoX
	qkvBias    bool // attn_q/k/v.bias required
	qkNorm     bool // attn_q_norm/attn_k_norm (per-head RMSNorm of q and k before RoPE)
	optQKVBias bool // biases loaded when present
}

var archs = map[string]arch{}

func register(name string, a arch) { archs[name] = a }

// Architectures returns the names of the supported architectures, sorted.
func Architectures() []string {
	var s []string
	for k := range archs {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// Config holds a model's hyper-parameters as the GGUF metadata gives them
// ({arch}.embedding_length etc.).
type Config struct {
	Arch      string
	NEmbd     int // n_embd
	NLayer    int // n_layer (block_count)
	NHead     int // n_head
	NHeadKV   int // n_head_kv
	HeadDim   int // n_embd_head_k
	NFF       int // n_ff
	NVocab    int // n_vocab
	NCtxTrain int // context_length the model was trained with
	NormEps   float32
	Rope      kernel.Rope
}

// Layer holds one transformer block's weights. Norm weights and biases are float32.
type Layer struct {
	AttnNorm       []float32
	Wq, Wk, Wv, Wo kernel.Matrix
	Bq, Bk, Bv     []float32 // nil when absent
	QNorm, KNorm   []float32 // qwen3; nil when absent
	FFNNorm        []float32
	Gate, Up, Down kernel.Matrix
}

// Model is a loaded model. Forward must be called from one goroutine at a time.
type Model struct {
	Config
	TokEmbd kernel.Matrix
	OutNorm []float32
	Output  kernel.Matrix // token_embd when the embeddings are tied
	Layers  []Layer

	arch arch
	pool *kernel.Pool
	s    scratch
}

// Options tune loading.
type Options struct {
	Threads int // worker threads; ≤ 0 means all cores
	// CheckOnly binds and checks every tensor but makes no packed copies (kernel.NewMatrix),
	// for callers that only ask whether a file loads (golem inspect): the model must not be
	// used for Forward then, and loading costs no memory beyond the mapping.
	CheckOnly bool
}

// Load binds the tensors of f to the architecture named by general.architecture. The
// model keeps references into f's mapping: f must stay open while the model is used.
// Errors name the missing or malformed key or tensor, and list what is supported.
func Load(f *gguf.File, opt Options) (*Model, error) {
	name, ok := f.String("general.architecture")
	if !ok {
		return nil, fmt.Errorf("model: metadata key general.architecture missing")
	}
	a, ok := archs[name]
	if !ok {
		return nil, fmt.Errorf("model: architecture %q is not supported (supported: %s)", name, strings.Join(Architectures(), ", "))
	}
	l := loader{f: f, arch: name, checkOnly: opt.CheckOnly}
	c := Config{Arch: name}
	c.NEmbd = l.int("embedding_length", 0)
	c.NLayer = l.int("block_count", 0)
	c.NFF = l.int("feed_forward_length", 0)
	c.NHead = l.int("attention.head_count", 0)
	c.NHeadKV = l.int("attention.head_count_kv", c.NHead)
	c.NCtxTrain = l.int("context_length", 2048)
	if l.err == nil && c.NHead > 0 {
		c.HeadDim = l.int("attention.key_length", c.NEmbd/c.NHead)
		if v := l.int("attention.value_length", c.HeadDim); v != c.HeadDim && l.err == nil {
			l.fail("model: %s.attention.value_length %d differs from key_length %d (not supported)", name, v, c.HeadDim)
		}
	}
	if e, ok := f.Float(name + ".attention.layer_norm_rms_epsilon"); ok {
		c.NormEps = float32(e)
		if !(e >= 0 && e < 1) { // also false for NaN
			l.fail("model: %s.attention.layer_norm_rms_epsilon = %v, want a small non-negative number", name, e)
		}
	} else {
		l.fail("model: metadata key %s.attention.layer_norm_rms_epsilon missing", name)
	}
	if l.err != nil {
		return nil, l.err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	m := &Model{Config: c, arch: a}
	_, untied := f.Tensor("output.weight")
	m.TokEmbd = l.matrix("token_embd.weight", c.NEmbd, -1, !untied) // rows only, unless tied
	if l.err != nil {
		return nil, l.err
	}
	m.NVocab = m.TokEmbd.N
	if _, ok := f.Tensor("output.weight"); ok {
		m.Output = l.matrix("output.weight", c.NEmbd, m.NVocab, true)
	} else {
		m.Output = m.TokEmbd
	}
	m.OutNorm = l.vec("output_norm.weight", c.NEmbd)
	q, kv := c.NHead*c.HeadDim, c.NHeadKV*c.HeadDim
	m.Layers = make([]Layer, c.NLayer)
	for i := range m.Layers {
		p := fmt.Sprintf("blk.%d.", i)
		ly := &m.Layers[i]
		ly.AttnNorm = l.vec(p+"attn_norm.weight", c.NEmbd)
		ly.Wq = l.matrix(p+"attn_q.weight", c.NEmbd, q, true)
		ly.Wk = l.matrix(p+"attn_k.weight", c.NEmbd, kv, true)
		ly.Wv = l.matrix(p+"attn_v.weight", c.NEmbd, kv, true)
		ly.Wo = l.matrix(p+"attn_output.weight", q, c.NEmbd, true)
		if a.qkvBias || (a.optQKVBias && l.has(p+"attn_q.bias")) {
			ly.Bq = l.vec(p+"attn_q.bias", q)
			ly.Bk = l.vec(p+"attn_k.bias", kv)
			ly.Bv = l.vec(p+"attn_v.bias", kv)
		}
		if a.qkNorm {
			ly.QNorm = l.vec(p+"attn_q_norm.weight", c.HeadDim)
			ly.KNorm = l.vec(p+"attn_k_norm.weight", c.HeadDim)
		}
		ly.FFNNorm = l.vec(p+"ffn_norm.weight", c.NEmbd)
		ly.Gate = l.matrix(p+"ffn_gate.weight", c.NEmbd, c.NFF, true)
		ly.Up = l.matrix(p+"ffn_up.weight", c.NEmbd, c.NFF, true)
		ly.Down = l.matrix(p+"ffn_down.weight", c.NFF, c.NEmbd, true)
		if l.err != nil {
			return nil, l.err
		}
	}
	// A file with more blocks than block_count is inconsistent (llama.cpp rejects a wrong
	// tensor count); running only some of its layers would give wrong text silently.
	if l.has(fmt.Sprintf("blk.%d.attn_norm.weight", c.NLayer)) {
		return nil, fmt.Errorf("model: tensor blk.%d.attn_norm.weight present but %s.block_count is %d", c.NLayer, name, c.NLayer)
	}
	if err := m.loadRope(&l, a); err != nil {
		return nil, err
	}
	m.pool = kernel.NewPool(opt.Threads)
	return m, nil
}

func (c *Config) check() error {
	switch {
	case c.NEmbd <= 0 || c.NLayer <= 0 || c.NHead <= 0 || c.NHeadKV <= 0 || c.NFF <= 0 || c.HeadDim <= 0:
		return fmt.Errorf("model: %s hyper-parameters must be positive (n_embd %d, n_layer %d, n_head %d, n_head_kv %d, n_ff %d, head_dim %d)",
			c.Arch, c.NEmbd, c.NLayer, c.NHead, c.NHeadKV, c.NFF, c.HeadDim)
	case c.NHead%c.NHeadKV != 0:
		return fmt.Errorf("model: n_head %d is not a multiple of n_head_kv %d", c.NHead, c.NHeadKV)
	case c.NEmbd > 1<<16 || c.NLayer > 1<<10 || c.NFF > 1<<20 || c.NHead > 1<<10 || c.HeadDim > 1<<12:
		return fmt.Errorf("model: %s hyper-parameters out of range (n_embd %d, n_layer %d, n_ff %d, n_head %d, head_dim %d)",
			c.Arch, c.NEmbd, c.NLayer, c.NFF, c.NHead, c.HeadDim)
	}
	return nil
}

func (m *Model) loadRope(l *loader, a arch) error {
	name := m.Arch
	r := kernel.Rope{Mode: a.ropeMode, NDims: l.int("rope.dimension_count", m.HeadDim), Base: 10000, FreqScale: 1}
	if l.err != nil {
		return l.err
	}
	if r.NDims <= 0 || r.NDims > m.HeadDim || r.NDims%2 != 0 {
		return fmt.Errorf("model: %s.rope.dimension_count %d must be even and at most head_dim %d", name, r.NDims, m.HeadDim)
	}
	if b, ok := l.f.Float(name + ".rope.freq_base"); ok {
		if !(b > 1 && b < 1e12) { // also false for NaN
			return fmt.Errorf("model: %s.rope.freq_base = %v, want a number above 1", name, b)
		}
		r.Base = float32(b)
	}
	typ, _ := l.f.String(name + ".rope.scaling.type")
	factor, hasFactor := l.f.Float(name + ".rope.scaling.factor")
	if !hasFactor {
		factor, hasFactor = l.f.Float(name + ".rope.scale_linear")
		if hasFactor {
			typ = "linear"
		}
	}
	switch typ {
	case "none":
	case "", "linear": // absent means linear in llama.cpp (llama-model.cpp, load_hparams)
		if hasFactor && factor > 0 {
			r.FreqScale = float32(1 / factor)
		}
	case "llama3":
		if !l.has("rope_freqs.weight") {
			r.Factors = llama3Factors(l.f, name, r)
		}
	default:
		return fmt.Errorf("model: %s.rope.scaling.type %q is not supported (supported: none, linear, llama3)", name, typ)
	}
	if l.has("rope_freqs.weight") {
		r.Factors = l.vec("rope_freqs.weight", r.NDims/2)
		if l.err != nil {
			return l.err
		}
	}
	m.Rope = r
	return nil
}

// llama3Factors computes Llama 3.1's frequency divisors from the rope.scaling keys, the
// formula convert_hf_to_gguf.py uses to write rope_freqs.weight.
func llama3Factors(f *gguf.File, name string, r kernel.Rope) []float32 {
	get := func(k string, d float64) float64 {
		if v, ok := f.Float(name + ".rope.scaling." + k); ok {
			return v
		}
		return d
	}
	factor := get("factor", 8)
	lowFF := get("low_freq_factor", 1)
	highFF := get("high_freq_factor", 4)
	oldCtx := get("original_context_length", 8192)
	lowWL, highWL := oldCtx/lowFF, oldCtx/highFF
	out := make([]float32, r.NDims/2)
	for i := range out {
		freq := 1 / math.Pow(float64(r.Base), float64(2*i)/float64(r.NDims))
		wl := 2 * math.Pi / freq
		switch {
		case wl < highWL:
			out[i] = 1
		case wl > lowWL:
			out[i] = float32(factor)
		default:
			smooth := (oldCtx/wl - lowFF) / (highFF - lowFF)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}

// Close stops the model's worker threads.
func (m *Model) Close() { m.pool.Close() }

// Threads returns the number of compute threads.
func (m *Model) Threads() int { return m.pool.Threads() }

// Pool returns the model's worker pool, for kernels a KV cache runs (attention).
func (m *Model) Pool() *kernel.Pool { return m.pool }

// loader collects the first error while binding tensors.
type loader struct {
	f         *gguf.File
	arch      string
	checkOnly bool // Options.CheckOnly: no packed copies
	err       error
}

func (l *loader) fail(format string, a ...any) {
	if l.err == nil {
		l.err = fmt.Errorf(format, a...)
	}
}

func (l *loader) int(key string, def int) int {
	full := l.arch + "." + key
	v, ok := l.f.Int(full)
	if !ok {
		if _, present := l.f.Lookup(full); present {
			l.fail("model: metadata key %s is not an integer", full)
			return 0
		}
		if def == 0 {
			l.fail("model: metadata key %s missing", full)
		}
		return def
	}
	if v < 0 || v > 1<<40 {
		l.fail("model: metadata key %s = %d out of range", full, v)
		return 0
	}
	return int(v)
}

func (l *loader) has(name string) bool { _, ok := l.f.Tensor(name); return ok }

// matrix binds a 2-D tensor of k×n (ne0 = k, ne1 = n; n < 0 accepts any). A matrix used in
// products (product) gets kernel's packed copy where the CPU has one; then its mapped pages
// are dropped from the resident set, since only Row reads them.
func (l *loader) matrix(name string, k, n int, product bool) kernel.Matrix {
	if l.err != nil {
		return kernel.Matrix{}
	}
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("model: tensor %q missing", name)
		return kernel.Matrix{}
	}
	if len(t.Dims) != 2 || int(t.Dims[0]) != k || (n >= 0 && int(t.Dims[1]) != n) {
		l.fail("model: tensor %q has shape %v, want [%d %d]", name, t.Dims, k, n)
		return kernel.Matrix{}
	}
	if !kernel.Supported(t.Type) {
		l.fail("model: tensor %q has type %s, not supported (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K)", name, t.Type)
		return kernel.Matrix{}
	}
	newMatrix := kernel.NewRowMatrix
	if product && !l.checkOnly {
		newMatrix = kernel.NewMatrix
	}
	mx, err := newMatrix(t.Type, k, int(t.Dims[1]), l.f.TensorData(t))
	if err != nil {
		l.fail("model: tensor %q: %v", name, err)
	}
	if mx.Packed() {
		l.f.DropPages(mx.Data)
	}
	return mx
}

// vec loads a 1-D tensor of n elements as float32 (dequantized copy).
func (l *loader) vec(name string, n int) []float32 {
	if l.err != nil {
		return nil
	}
	t, ok := l.f.Tensor(name)
	if !ok {
		l.fail("model: tensor %q missing", name)
		return nil
	}
	if t.NumElements() != int64(n) {
		l.fail("model: tensor %q has shape %v, want [%d]", name, t.Dims, n)
		return nil
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(t.Type, l.f.TensorData(t), out); err != nil {
		l.fail("model: tensor %q: %v", name, err)
	}
	return out
}
