package kernel

import (
	"math"
)

// RMSNorm writes out[i] = x[i] / sqrt(mean(x²) + eps) · w[i] for one row (len(x) = len(w)).
// The mean is accumulated in float64 as ggml_compute_forward_rms_norm_f32 does
// (ggml-cpu/ops.cpp), then the scale is rounded to float32; w == nil skips the weight.
// out may alias x.
func RMSNorm(out, x, w []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	if w == nil {
		for i, v := range x {
			out[i] = v * scale
		}
		return
	}
	w = w[:len(x)]
	out = out[:len(x)]
	for i, v := range x {
		out[i] = (v * scale) * w[i]
	}
}

// Add writes out[i] = a[i] + b[i]. out may alias a or b.
func Add(out, a, b []float32) {
	b = b[:len(a)]
	out = out[:len(a)]
	for i := range a {
		out[i] = a[i] + b[i]
	}
}

// SiLUMul writes out[i] = silu(gate[i]) · up[i], silu(x) = x·σ(x) = x/(1+e^−x) (the SwiGLU
// of Llama's feed-forward, ggml_swiglu). out may alias gate or up.
//
// With g = gate[i], every step rounded to float32 (no FMA):
//
//	e = expf(−|g|)              (argument ≤ 0, so no overflow)
//	t = 1 + e
//	s = (g < 0 ? e : 1) / t     (σ(g): e/(1+e) below 0, 1/(1+e) from 0 up)
//	out[i] = (g·s) · up[i]
//
// expf is Cephes' expf, the one ExpShift uses (relative error below 3e-7; 0 for arguments
// below −87.34). Against x·σ(x)·u computed in float64 the result is within 1e-6 relative,
// plus 1e-35·|u| absolute: σ(g) is taken as 0 for g < −87.34, where |g·σ(g)| < 1e-36
// (TestSiLUMulAccuracy). The AVX2 kernel and the pure-Go reference agree bit for bit on every
// finite gate (any up).
//
// Specials: gate +Inf gives +Inf·up; gate −Inf gives NaN (−Inf·0, as x/(1+e^−x) did);
// a NaN gate gives NaN (payload unspecified). A non-finite up multiplies through.
func SiLUMul(out, gate, up []float32) {
	siLUMul(out, gate, up)
}

// siLUMulRef is SiLUMul in pure Go, in the documented order.
func siLUMulRef(out, gate, up []float32) {
	up = up[:len(gate)]
	out = out[:len(gate)]
	for i, g := range gate {
		e := expf(math.Float32frombits(math.Float32bits(g) | 1<<31)) // expf(−|g|)
		t := float32(1 + e)
		n := float32(1)
		if g < 0 {
			n = e
		}
		s := float32(n / t)
		out[i] = float32(float32(g*s) * up[i])
	}
}

// SoftmaxInPlace replaces x with softmax(x); the sum is accumulated in float64 as ggml's
// soft_max does.
func SoftmaxInPlace(x []float32) {
	if len(x) == 0 {
		return
	}
	mx := x[0]
	for _, v := range x[1:] {
		if v > mx {
			mx = v
		}
	}
	var sum float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - mx)))
		x[i] = e
		sum += float64(e)
	}
	inv := float32(1 / sum)
	for i := range x {
		x[i] *= inv
	}
}

// RoPE modes (llama_rope_type): Norm rotates adjacent pairs (x[2i], x[2i+1]) as Llama
// does; NeoX rotates (x[i], x[i+d/2]) as GPT-NeoX, Qwen2 and Qwen3 do.
const (
	RopeNorm = 0
	RopeNeoX = 2
)

// Rope holds the per-dimension rotation frequencies of rotary position embedding
// (Su et al. 2021, RoFormer) for one model, with ggml's frequency arithmetic
// (ggml_rope_cache_init in ggml-cpu/ops.cpp): θ_i = pos · base^(-2i/n_dims) / ff_i · freqScale.
type Rope struct {
	Mode      int       // RopeNorm or RopeNeoX
	NDims     int       // rotated dimensions per head (rope.dimension_count); the rest pass through
	Base      float32   // rope.freq_base
	FreqScale float32   // 1 / rope.scaling.factor for linear scaling, else 1
	Factors   []float32 // optional rope_freqs (Llama 3 scaling), NDims/2 divisors of θ
}

// Apply rotates nHeads heads of headDim floats each (head-major in x) for position pos.
// cache must hold NDims floats; it receives cos/sin pairs.
func (r *Rope) Apply(x []float32, nHeads, headDim, pos int, cache []float32) {
	r.Cache(pos, cache)
	r.ApplyCached(x, nHeads, headDim, cache)
}

// ApplyCached is Apply with the cos/sin pairs of the position already in cache (from Cache),
// so a forward pass computes them once per token rather than once per layer and tensor.
func (r *Rope) ApplyCached(x []float32, nHeads, headDim int, cache []float32) {
	half := r.NDims / 2
	for h := 0; h < nHeads; h++ {
		v := x[h*headDim : h*headDim+headDim]
		if r.Mode == RopeNeoX {
			for i := 0; i < half; i++ {
				c, s := cache[2*i], cache[2*i+1]
				x0, x1 := v[i], v[i+half]
				v[i] = x0*c - x1*s
				v[i+half] = x0*s + x1*c
			}
		} else {
			for i := 0; i < half; i++ {
				c, s := cache[2*i], cache[2*i+1]
				x0, x1 := v[2*i], v[2*i+1]
				v[2*i] = x0*c - x1*s
				v[2*i+1] = x0*s + x1*c
			}
		}
	}
}

// Cache writes the NDims cos/sin values of θ_i for position pos, computed as ggml does: θ
// starts at pos and is multiplied by theta_scale = base^(-2/n_dims) once per pair, in float32.
func (r *Rope) Cache(pos int, cache []float32) {
	thetaScale := float32(math.Pow(float64(r.Base), -2.0/float64(r.NDims)))
	theta := float32(pos)
	fs := r.FreqScale
	if fs == 0 {
		fs = 1
	}
	for i := 0; i < r.NDims/2; i++ {
		ff := float32(1)
		if r.Factors != nil {
			ff = r.Factors[i]
		}
		t := fs * (theta / ff)
		cache[2*i] = float32(math.Cos(float64(t)))
		cache[2*i+1] = float32(math.Sin(float64(t)))
		theta *= thetaScale
	}
}
