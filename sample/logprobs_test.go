package sample

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLogprobsHand(t *testing.T) {
	// log-softmax([1,2,3])[2] = 3 − log(e + e² + e³) = −0.40760596.
	lp, top := Logprobs([]float32{1, 2, 3}, 2, 2, nil)
	if !near(float64(lp), -0.40760596444, 1e-6) {
		t.Fatalf("chosen logprob %v, want -0.4076060", lp)
	}
	if len(top) != 2 || top[0].ID != 2 || top[1].ID != 1 ||
		!near(float64(top[0].Logprob), -0.40760596444, 1e-6) || !near(float64(top[1].Logprob), -1.40760596444, 1e-6) {
		t.Fatalf("top-2 %v, want [{2 -0.4076} {1 -1.4076}]", top)
	}
	// Ties: lower id first. NaN counts as -Inf. topN is capped.
	nan := float32(math.NaN())
	_, top = Logprobs([]float32{0, 5, nan, 5, 1}, 1, 9, make([]TopLogprob, 3))
	wantIDs := []int32{1, 3, 4, 0, 2}
	if len(top) != 5 {
		t.Fatalf("top %v: want 5 entries", top)
	}
	for i, id := range wantIDs {
		if top[i].ID != id {
			t.Fatalf("top %v: position %d has id %d, want %d", top, i, top[i].ID, id)
		}
	}
	if !math.IsInf(float64(top[4].Logprob), -1) {
		t.Fatalf("NaN logit's logprob %v, want -Inf", top[4].Logprob)
	}
	if lp, _ := Logprobs([]float32{1, 2}, 5, 0, nil); !math.IsNaN(float64(lp)) {
		t.Fatalf("out-of-range chosen: %v, want NaN", lp)
	}
	if lp, top := Logprobs([]float32{1, 2}, -1, 0, nil); !math.IsNaN(float64(lp)) || len(top) != 0 {
		t.Fatalf("chosen -1, topN 0: %v %v", lp, top)
	}
}

// TestLogprobsFloat64 compares with log-softmax computed directly in
// float64 over a realistic vocabulary.
func TestLogprobsFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(r.NormFloat64()*4 + 10) // large offset: needs the max shift
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l))
	}
	logZ := math.Log(z)
	best, bestID := math.Inf(-1), -1
	for i, l := range logits {
		if float64(l) > best {
			best, bestID = float64(l), i
		}
	}
	for _, chosen := range []int32{0, 777, 31999} {
		lp, top := Logprobs(logits, chosen, 5, nil)
		if want := float64(logits[chosen]) - logZ; !near(float64(lp), want, 1e-5) {
			t.Fatalf("token %d: %v, want %v", chosen, lp, want)
		}
		if top[0].ID != int32(bestID) || !near(float64(top[0].Logprob), best-logZ, 1e-5) {
			t.Fatalf("top-1 %+v, want id %d logprob %v", top[0], bestID, best-logZ)
		}
		var sum float64
		for i, x := range top {
			if want := float64(logits[x.ID]) - logZ; !near(float64(x.Logprob), want, 1e-5) {
				t.Fatalf("top %d %+v: want %v", i, x, want)
			}
			if i > 0 && top[i-1].Logprob < x.Logprob {
				t.Fatalf("top not descending: %v", top)
			}
			sum += math.Exp(float64(x.Logprob))
		}
		// No token outside the top 5 may beat the 5th.
		for i, l := range logits {
			in := false
			for _, x := range top {
				in = in || x.ID == int32(i)
			}
			if !in && float64(l)-logZ > float64(top[4].Logprob)+1e-6 {
				t.Fatalf("token %d (%v) missing from top %v", i, float64(l)-logZ, top)
			}
		}
	}
}
