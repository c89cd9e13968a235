package sample

import (
	"math"
	"slices"
)

// TopLogprob is one alternative token and its log-probability.
type TopLogprob struct {
	ID      int32
	Logprob float32
}

// Logprobs returns the log-probability of token chosen and the topN most
// likely tokens, under the log-softmax of the raw logits (one per
// vocabulary entry, in id order; before penalties, truncation or
// temperature), as OpenAI's logprobs/top_logprobs report them:
// logprob(i) = logit(i) − log Σ_j exp(logit(j)), computed in float64.
//
// The alternatives are appended to dst[:0], most likely first (ties: lower
// id first); reuse dst to avoid allocating. topN is capped at len(logits).
// NaN logits count as -Inf and +Inf as the largest float32; if every logit
// is -Inf all log-probabilities are NaN. If chosen is outside [0, len(logits)) its
// log-probability is NaN.
func Logprobs(logits []float32, chosen int32, topN int, dst []TopLogprob) (float32, []TopLogprob) {
	dst = dst[:0]
	if len(logits) == 0 {
		return float32(math.NaN()), dst
	}
	m, logS := logSumExp(logits)
	// (l − m) − log s rather than l − (m + log s): the latter loses
	// log s entirely when m is huge.
	lp := func(l float32) float32 { return float32((float64(clean(l)) - m) - logS) }
	chosenLP := float32(math.NaN())
	if chosen >= 0 && int(chosen) < len(logits) {
		chosenLP = lp(logits[chosen])
	}
	topN = min(topN, len(logits))
	if topN <= 0 {
		return chosenLP, dst
	}
	// A min-heap (worst at the root) of the best topN, then sorted.
	h := dst
	for i, l := range logits {
		x := cand{logit: clean(l), id: int32(i)}
		if len(h) < topN {
			h = append(h, TopLogprob{ID: x.id, Logprob: x.logit})
			logprobUp(h, len(h)-1)
			continue
		}
		if before(x, cand{logit: h[0].Logprob, id: h[0].ID}) {
			h[0] = TopLogprob{ID: x.id, Logprob: x.logit}
			logprobDown(h, 0)
		}
	}
	slices.SortFunc(h, func(a, b TopLogprob) int {
		return compareCand(cand{a.Logprob, a.ID}, cand{b.Logprob, b.ID})
	})
	for i := range h {
		h[i].Logprob = lp(h[i].Logprob) // the heap held raw logits
	}
	return chosenLP, h
}

// logSumExp returns m = max clean(logit) and log Σ exp(clean(logit) − m), in
// float64; log Σ exp(logit) is their sum.
func logSumExp(logits []float32) (m, logS float64) {
	m = math.Inf(-1)
	for _, l := range logits {
		m = max(m, float64(clean(l)))
	}
	if math.IsInf(m, -1) {
		return m, 0 // all -Inf: every log-probability is NaN
	}
	var s float64
	for _, l := range logits {
		s += math.Exp(float64(clean(l)) - m)
	}
	return m, math.Log(s)
}

func logprobBefore(a, b TopLogprob) bool {
	return before(cand{a.Logprob, a.ID}, cand{b.Logprob, b.ID})
}

func logprobUp(h []TopLogprob, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !logprobBefore(h[p], h[i]) {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func logprobDown(h []TopLogprob, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		w := l
		if r := l + 1; r < len(h) && logprobBefore(h[l], h[r]) {
			w = r
		}
		if !logprobBefore(h[i], h[w]) {
			return
		}
		h[i], h[w] = h[w], h[i]
		i = w
	}
}
