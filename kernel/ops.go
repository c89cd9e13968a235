package kernel

import (
	"math"
)

// RMSNorm writes out[i] = x[i] / sqrt(mean(x²) + eps) · w[i] for one row (len(x) = len(w));
// w == nil skips the weight. out may alias x.
//
// The sum of squares is accumulated in float64 as ggml_compute_forward_rms_norm_f32 does
// (ggml-cpu/ops.cpp), but in sixteen lanes rather than one, so a SIMD kernel can compute it
// in the same order (sumSquares); the mean is rounded to float32, the scale is
// 1/float32(sqrt(mean+eps)), and out[i] = (x[i]·scale)·w[i] with both products rounded (no
// FMA). The AVX2 kernel and the pure-Go reference (rmsNormRef) agree bit for bit on all
// inputs, Inf and huge values included. Against ggml's one-lane sum the float32 scale is within
// one ulp (the float64 sums differ in their last bits only; TestRMSNormSumOrder).
func RMSNorm(out, x, w []float32, eps float32) {
	rmsNorm(out, x, w, eps)
}

// rmsNormRef is RMSNorm in pure Go, in the documented order.
func rmsNormRef(out, x, w []float32, eps float32) {
	scale := rmsScale(sumSquaresRef(x), len(x), eps)
	rmsScaleRef(out, x, w, scale)
}

// rmsScale is 1/sqrt(mean+eps) for a sum of squares over n elements, rounded as ggml does: the
// mean to float32, mean+eps in float32, the root in float64 then float32, the reciprocal in
// float32.
func rmsScale(sum float64, n int, eps float32) float32 {
	mean := float32(sum / float64(n))
	return 1 / float32(math.Sqrt(float64(mean+eps)))
}

// sumSquaresRef is Σ x[i]² in float64 in sixteen lanes: x[i]² is rounded to float32, widened,
// and added to lane i mod 16 in increasing i; then the lanes are combined by sumLanes16.
func sumSquaresRef(x []float32) float64 {
	var p [16]float64
	sumSquaresTail(&p, x, 0)
	return sumLanes16(&p)
}

// sumSquaresTail adds float64(x[i]·x[i]) (the product rounded to float32) to p[i%16] for
// i ≥ from, in increasing i.
func sumSquaresTail(p *[16]float64, x []float32, from int) {
	for i := from; i < len(x); i++ {
		v := x[i]
		p[i%16] += float64(float32(v * v))
	}
}

// sumLanes16 combines sumSquares' sixteen float64 lanes the way the AVX2 kernel holds and
// reduces them (four 4-lane accumulators a, b, c, d = p[0:4], p[4:8], p[8:12], p[12:16]):
// q = (a+b)+(c+d) lane-wise, then (q0+q2)+(q1+q3).
func sumLanes16(p *[16]float64) float64 {
	var q [4]float64
	for l := range q {
		q[l] = (p[l] + p[4+l]) + (p[8+l] + p[12+l])
	}
	return (q[0] + q[2]) + (q[1] + q[3])
}

// rmsScaleRef writes out[i] = (x[i]·scale)·w[i], or x[i]·scale when w == nil.
func rmsScaleRef(out, x, w []float32, scale float32) {
	out = out[:len(x)]
	if w == nil {
		for i, v := range x {
			out[i] = v * scale
		}
		return
	}
	w = w[:len(x)]
	for i, v := range x {
		out[i] = float32(v*scale) * w[i]
	}
}

// Add writes out[i] = a[i] + b[i] (len(b), len(out) ≥ len(a)). out may alias a or b. The AVX2
// kernel and the pure-Go reference (addRef) agree bit for bit.
func Add(out, a, b []float32) {
	add(out, a, b)
}

// addRef is Add in pure Go.
func addRef(out, a, b []float32) {
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
//
// Each rotated pair (x0, x1) with cache pair (c, s) becomes (x0·c − x1·s, x0·s + x1·c), every
// product and sum rounded to float32 (no FMA). The AVX2 kernel and the pure-Go reference
// (ropeRef) agree bit for bit on all finite inputs.
func (r *Rope) ApplyCached(x []float32, nHeads, headDim int, cache []float32) {
	rope(r.Mode, r.NDims, x, nHeads, headDim, cache)
}

// ropeRef is ApplyCached in pure Go for mode and nDims rotated dimensions per head.
func ropeRef(mode, nDims int, x []float32, nHeads, headDim int, cache []float32) {
	for h := 0; h < nHeads; h++ {
		ropeHeadRef(mode, nDims/2, x[h*headDim:h*headDim+headDim], cache, 0)
	}
}

// ropeHeadRef rotates the pairs from..half-1 of one head v (half = nDims/2).
func ropeHeadRef(mode, half int, v, cache []float32, from int) {
	if mode == RopeNeoX {
		for i := from; i < half; i++ {
			c, s := cache[2*i], cache[2*i+1]
			x0, x1 := v[i], v[i+half]
			v[i] = float32(x0*c) - float32(x1*s)
			v[i+half] = float32(x0*s) + float32(x1*c)
		}
		return
	}
	for i := from; i < half; i++ {
		c, s := cache[2*i], cache[2*i+1]
		x0, x1 := v[2*i], v[2*i+1]
		v[2*i] = float32(x0*c) - float32(x1*s)
		v[2*i+1] = float32(x0*s) + float32(x1*c)
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
