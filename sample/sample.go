// Package sample turns a model's logits into the next token the way
// llama.cpp's common sampler chain does (common/sampling.cpp with the
// samplers of src/llama-sampling.cpp), and decides when generation stops.
//
// The chain, in order: repetition/presence/frequency penalties → top-k →
// top-p → min-p → temperature → a draw from the softmax with a seeded
// Mersenne Twister. A temperature ≤ 0 picks the highest penalised logit
// instead (greedy; ties go to the lowest token id).
//
// Log-probabilities reported to clients (Logprobs) are computed from the raw
// logits, not from the transformed distribution, as OpenAI's API reports
// them.
package sample

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// Params configure a Sampler. The zero value is greedy decoding without
// penalties; DefaultParams gives llama.cpp's defaults.
type Params struct {
	// Temperature divides the logits after truncation; ≤ 0 means greedy.
	Temperature float32
	// TopK keeps the K highest logits; ≤ 0 disables it.
	TopK int
	// TopP keeps the smallest set of most likely tokens whose probabilities
	// (softmax at temperature 1) sum to at least TopP. Values ≤ 0 or ≥ 1
	// disable it (llama.cpp would keep a single token at exactly 0; the
	// zero value here means "not set").
	TopP float32
	// MinP drops tokens whose probability is below MinP times the most
	// likely token's (logit < max + ln MinP); ≤ 0 disables it.
	MinP float32
	// RepeatPenalty divides positive logits and multiplies negative ones of
	// every token seen in the last RepeatLastN accepted tokens; 1 (and, for
	// the zero value, ≤ 0) disables it.
	RepeatPenalty float32
	// PresencePenalty is subtracted once from a seen token's logit;
	// FrequencyPenalty is subtracted once per occurrence.
	PresencePenalty, FrequencyPenalty float32
	// RepeatLastN is the penalty window in tokens: 0 disables all three
	// penalties (as in llama.cpp), -1 means every accepted token.
	RepeatLastN int
	// Seed selects the random stream; see the mt19937 notes on Sampler.
	Seed uint64
}

// Validate reports the first parameter outside its range, naming it: temperature, top-p and
// min-p must be finite and non-negative, top-p and min-p at most 1, penalties finite, the
// repeat penalty non-negative, top-k and the penalty window ≥ -1 (negative top-k means off).
func (p Params) Validate() error {
	finite := func(x float32) bool { return !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0) }
	switch {
	case !finite(p.Temperature) || p.Temperature < 0:
		return fmt.Errorf("sample: temperature %v must be a finite number ≥ 0", p.Temperature)
	case !finite(p.TopP) || p.TopP < 0 || p.TopP > 1:
		return fmt.Errorf("sample: top-p %v must be in [0, 1]", p.TopP)
	case !finite(p.MinP) || p.MinP < 0 || p.MinP > 1:
		return fmt.Errorf("sample: min-p %v must be in [0, 1]", p.MinP)
	case p.TopK < -1:
		return fmt.Errorf("sample: top-k %d must be ≥ 0 (or -1 for off)", p.TopK)
	case !finite(p.RepeatPenalty) || p.RepeatPenalty < 0:
		return fmt.Errorf("sample: repeat penalty %v must be a finite number ≥ 0", p.RepeatPenalty)
	case !finite(p.PresencePenalty) || !finite(p.FrequencyPenalty):
		return fmt.Errorf("sample: presence/frequency penalties (%v, %v) must be finite", p.PresencePenalty, p.FrequencyPenalty)
	case p.RepeatLastN < -1:
		return fmt.Errorf("sample: repeat window %d must be ≥ -1 (-1 = all tokens)", p.RepeatLastN)
	}
	return nil
}

// DefaultParams returns llama.cpp's common_params_sampling defaults:
// temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, repeat penalty 1
// (off) over the last 64 tokens, seed 0 (llama.cpp would draw a random one).
func DefaultParams() Params {
	return Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1, RepeatLastN: 64}
}

// cand is a candidate token; the chain works on a reused slice of them.
type cand struct {
	logit float32
	id    int32
}

// before is the chain's total order: higher logit first, then lower id.
// A total order makes every selection and sort deterministic, and gives
// ties to the lowest id as llama.cpp's greedy sampler does.
func before(a, b cand) bool {
	return a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
}

func compareCand(a, b cand) int {
	if a.logit != b.logit {
		if a.logit > b.logit {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.id, b.id)
}

// Sampler is one sequence's sampler: the parameters, the accepted-token
// history the penalties read, and the random state. It is not safe for
// concurrent use; give each sequence its own.
//
// Random numbers: a 32-bit Mersenne Twister (std::mt19937) seeded with
// Params.Seed (seeds below 2^32 exactly as std::mt19937(seed), larger ones
// through init_by_array with {low, high}); each random draw consumes two
// outputs, combined into a double in [0, 1) as libstdc++'s
// uniform_real_distribution<double> does. The same seed, parameters and
// logits therefore always give the same tokens. Greedy decoding draws
// nothing.
type Sampler struct {
	p       Params
	rng     mt19937
	history []int32 // accepted tokens, oldest first (only the window is kept)
	sc      *Scratch
}

// Scratch is the working memory of Sample and Distribution: buffers grown
// to the vocabulary size once (about 28 bytes per entry, 3.6 MB for a
// 128K vocabulary) and reused across calls. Samplers that never run at the
// same time — the sequences of one engine, sampled one after another — can
// share one (NewShared), so that a new request's first token does not pay
// for allocating and faulting in fresh buffers. A Scratch holds no state
// between calls.
type Scratch struct {
	cands  []cand
	heap   []cand
	probs  []float64
	counts []int32 // all zero between calls
}

// New returns a sampler for p with its own Scratch. Out-of-range values
// are normalised as the Params fields document.
func New(p Params) *Sampler { return NewShared(p, nil) }

// NewShared returns a sampler for p that works in sc (its own Scratch if
// sc is nil). Samplers sharing sc must not be used concurrently.
func NewShared(p Params, sc *Scratch) *Sampler {
	if p.TopK < 0 {
		p.TopK = 0
	}
	if p.TopP <= 0 || p.TopP >= 1 {
		p.TopP = 1
	}
	if p.RepeatPenalty <= 0 {
		p.RepeatPenalty = 1
	}
	if p.RepeatLastN < -1 {
		p.RepeatLastN = 0
	}
	if sc == nil {
		sc = new(Scratch)
	}
	s := &Sampler{p: p, sc: sc}
	s.rng.seed(p.Seed)
	return s
}

// Params returns the normalised parameters.
func (s *Sampler) Params() Params { return s.p }

// Reset forgets the accepted tokens and restarts the random stream from
// the seed.
func (s *Sampler) Reset() {
	s.history = s.history[:0]
	s.rng.seed(s.p.Seed)
}

// Accept records a token of the sequence (prompt or generated) for the
// penalties. Only the last RepeatLastN are kept; with RepeatLastN = -1 the
// history grows with the sequence.
func (s *Sampler) Accept(tok int32) {
	n := s.p.RepeatLastN
	if n == 0 {
		return
	}
	if n > 0 && len(s.history) >= 2*n {
		// Slide the window down; amortised O(1) and no allocation once
		// the backing array holds 2n tokens.
		s.history = s.history[:copy(s.history, s.history[len(s.history)-n+1:])]
	}
	s.history = append(s.history, tok)
}

// window returns the tokens the penalties look at, oldest first.
func (s *Sampler) window() []int32 {
	h := s.history
	if n := s.p.RepeatLastN; n > 0 && len(h) > n {
		h = h[len(h)-n:]
	}
	return h
}

// Sample returns the next token for logits (one float32 per vocabulary
// entry, in token-id order). logits is only read. NaN logits count as -Inf
// and +Inf as the largest float32; if every logit is -Inf (or NaN) the result is token 0. Steady-state calls
// do not allocate: buffers are sized to the vocabulary on the first call.
// An empty logits slice returns -1.
//
// Sample does not record the token; call Accept with the token the sequence
// actually continues with.
func (s *Sampler) Sample(logits []float32) int32 {
	if len(logits) == 0 {
		return -1
	}
	c := s.load(logits)
	if s.p.Temperature <= 0 {
		// Every truncation step keeps the highest logit, so greedy is the
		// argmax of the penalised logits.
		best := c[0]
		for _, x := range c[1:] {
			if before(x, best) {
				best = x
			}
		}
		return best.id
	}
	c = s.truncate(c)
	return s.draw(c)
}

// TokenProb is one candidate of the final distribution.
type TokenProb struct {
	ID   int32
	Prob float32
}

// Distribution returns the distribution Sample draws from for logits: the
// candidates left after penalties, top-k, top-p and min-p, with their
// softmax probabilities after temperature, appended to dst[:0]. Order: as
// the chain leaves them (by descending logit once any truncation sorted
// them, else token-id order). With Temperature ≤ 0 it is the single greedy
// token with probability 1. It does not advance the random stream.
func (s *Sampler) Distribution(logits []float32, dst []TokenProb) []TokenProb {
	dst = dst[:0]
	if len(logits) == 0 {
		return dst
	}
	if s.p.Temperature <= 0 {
		return append(dst, TokenProb{ID: s.Sample(logits), Prob: 1})
	}
	c := s.truncate(s.load(logits))
	probs := s.softmax(c, s.p.Temperature)
	for i, x := range c {
		dst = append(dst, TokenProb{ID: x.id, Prob: float32(probs[i])})
	}
	return dst
}

// clean maps NaN to -Inf (NaN would break every ordering) and +Inf to the
// largest float32 (so that softmax stays finite: exp(+Inf − +Inf) is NaN).
func clean(l float32) float32 {
	switch {
	case l != l:
		return float32(math.Inf(-1))
	case l > math.MaxFloat32:
		return math.MaxFloat32
	}
	return l
}

// load copies logits into the candidate buffer and applies the penalties.
func (s *Sampler) load(logits []float32) []cand {
	n := len(logits)
	sc := s.sc
	if cap(sc.cands) < n {
		sc.cands = make([]cand, n)
		sc.probs = make([]float64, n)
		sc.heap = make([]cand, 0, n)
		sc.counts = make([]int32, n)
	}
	c := sc.cands[:n]
	for i, l := range logits {
		c[i] = cand{logit: clean(l), id: int32(i)}
	}
	s.penalize(c)
	return c
}

// penalize applies llama.cpp's llama_sampler_penalties_apply to c, which is
// in token-id order: for each token seen count > 0 times in the window,
// logit ≤ 0 ? logit·repeat : logit/repeat, then
// logit −= count·frequency + presence.
func (s *Sampler) penalize(c []cand) {
	p := s.p
	if p.RepeatLastN == 0 || (p.RepeatPenalty == 1 && p.FrequencyPenalty == 0 && p.PresencePenalty == 0) {
		return
	}
	w := s.window()
	counts := s.sc.counts[:len(c)]
	for _, t := range w {
		if t >= 0 && int(t) < len(counts) {
			counts[t]++
		}
	}
	// Visit each distinct token once, clearing its count as it is used so
	// that counts is all zero again for the next call.
	for _, t := range w {
		if t < 0 || int(t) >= len(counts) || counts[t] == 0 {
			continue
		}
		n := counts[t]
		counts[t] = 0
		l := c[t].logit
		if l <= 0 {
			l *= p.RepeatPenalty
		} else {
			l /= p.RepeatPenalty
		}
		l -= float32(n)*p.FrequencyPenalty + p.PresencePenalty
		c[t].logit = l
	}
}

// truncate applies top-k, top-p and min-p and returns the kept candidates.
func (s *Sampler) truncate(c []cand) []cand {
	sorted := false
	if k := s.p.TopK; k > 0 {
		if k > len(c) {
			k = len(c)
		}
		s.selectTop(c, k)
		c = c[:k]
		sorted = true
	}
	if s.p.TopP < 1 && len(c) > 1 {
		c = s.topP(c, sorted)
		sorted = true
	}
	if s.p.MinP > 0 && len(c) > 1 {
		c = minP(c, s.p.MinP, sorted)
	}
	return c
}

// topP keeps the shortest prefix (by descending probability) whose
// probabilities, the softmax of c at temperature 1, sum to at least TopP
// (llama_sampler_top_p_apply). Like llama.cpp it avoids sorting a large
// unsorted set: it orders the top 256 first and, while the running sum
// falls short, the next 8× as many, and so on.
func (s *Sampler) topP(c []cand, sorted bool) []cand {
	maxL, sum := normalizer(c)
	if sum == 0 {
		return c[:1]
	}
	target := float64(s.p.TopP) * sum // compare unnormalised sums
	k := len(c)
	if !sorted && k > 1024 {
		k = 256
	}
	var cum float64
	for start := 0; ; {
		if !sorted {
			s.selectTop(c[start:], k-start)
		}
		for i := start; i < k; i++ {
			cum += math.Exp(float64(c[i].logit) - maxL)
			if cum >= target {
				return c[:i+1]
			}
		}
		if k == len(c) {
			return c // rounding kept the sum just below target
		}
		start, k = k, min(8*k, len(c))
	}
}

// normalizer returns the largest logit and Σ exp(logit − max) over c.
// sum is 0 when every logit is -Inf.
func normalizer(c []cand) (maxL, sum float64) {
	maxL = math.Inf(-1)
	for _, x := range c {
		maxL = max(maxL, float64(x.logit))
	}
	if math.IsInf(maxL, -1) {
		return maxL, 0
	}
	for _, x := range c {
		sum += math.Exp(float64(x.logit) - maxL)
	}
	return maxL, sum
}

// minP keeps tokens with logit ≥ max + ln(p) (llama_sampler_min_p_apply):
// a stable compaction when c is unsorted, a cut when sorted.
func minP(c []cand, p float32, sorted bool) []cand {
	if sorted {
		thr := c[0].logit + float32(math.Log(float64(p)))
		i := 1 // the first token always stays
		for i < len(c) && c[i].logit >= thr {
			i++
		}
		return c[:i]
	}
	maxL := c[0].logit
	for _, x := range c[1:] {
		maxL = max(maxL, x.logit)
	}
	// min(…, maxL): the most likely token always stays, even for p > 1.
	thr := min(maxL+float32(math.Log(float64(p))), maxL)
	n := 0
	for _, x := range c {
		if x.logit >= thr {
			c[n] = x
			n++
		}
	}
	return c[:n]
}

// softmax writes softmax(logit/temp) of c into the scratch probabilities, position by
// position, in float64, and returns it. If every logit is -Inf the first
// candidate gets probability 1, so callers always see a distribution.
func (s *Sampler) softmax(c []cand, temp float32) []float64 {
	probs := s.sc.probs[:len(c)]
	t := float64(temp)
	maxL := math.Inf(-1)
	for _, x := range c {
		maxL = max(maxL, float64(x.logit)/t)
	}
	if math.IsInf(maxL, -1) {
		clear(probs)
		probs[0] = 1
		return probs
	}
	var sum float64
	for i, x := range c {
		e := math.Exp(float64(x.logit)/t - maxL)
		probs[i] = e
		sum += e
	}
	for i := range probs {
		probs[i] /= sum
	}
	return probs
}

// draw picks from c by its softmax at the sampler's temperature
// (llama_sampler_dist_apply): u uniform in [0, 1), the first candidate whose
// running probability sum reaches u.
func (s *Sampler) draw(c []cand) int32 {
	if len(c) == 1 {
		return c[0].id // llama.cpp draws nothing for a single candidate
	}
	probs := s.softmax(c, s.p.Temperature)
	u := s.rng.float64()
	var cum float64
	for i, p := range probs {
		cum += p
		if cum >= u && p > 0 {
			return c[i].id
		}
	}
	// Rounding left the running sum just below u: take the last
	// candidate with any weight.
	for i := len(c) - 1; i > 0; i-- {
		if probs[i] > 0 {
			return c[i].id
		}
	}
	return c[0].id
}

// selectTop moves the k first candidates in the chain's order (before) to
// c[:k], sorted, and the others to c[k:] (unsorted). It keeps a min-heap of the best k seen (O(n log k)), which
// for the usual k ≤ 256 rejects most candidates with one comparison.
func (s *Sampler) selectTop(c []cand, k int) {
	if k >= len(c) {
		slices.SortFunc(c, compareCand)
		return
	}
	h := s.sc.heap[:0]
	for _, x := range c {
		if len(h) < k {
			h = append(h, x)
			heapUp(h, len(h)-1)
			continue
		}
		if before(x, h[0]) {
			h[0] = x
			heapDown(h, 0)
		}
	}
	// h[0] is now the k-th best. Partition c (a permutation, so that the
	// rest stays available to top-p) and sort the head.
	kth := h[0]
	i := 0
	for j, x := range c {
		if x == kth || before(x, kth) {
			c[i], c[j] = c[j], c[i]
			i++
		}
	}
	slices.SortFunc(c[:k], compareCand)
	s.sc.heap = h[:0]
}

// The heap's root is the worst kept candidate (last in the chain's order).
func heapUp(h []cand, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !before(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func heapDown(h []cand, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		w := l
		if r := l + 1; r < len(h) && before(h[l], h[r]) {
			w = r
		}
		if !before(h[i], h[w]) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}
