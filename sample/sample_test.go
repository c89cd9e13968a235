package sample

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// checkDist compares a Distribution result with hand-computed ids and
// probabilities.
func checkDist(t *testing.T, name string, got []TokenProb, ids []int32, probs []float64) {
	t.Helper()
	if len(got) != len(ids) {
		t.Fatalf("%s: %d candidates %v, want ids %v", name, len(got), got, ids)
	}
	for i := range got {
		if got[i].ID != ids[i] || !near(float64(got[i].Prob), probs[i], 1e-6) {
			t.Fatalf("%s: candidate %d = %+v, want id %d prob %.7f (all: %v)", name, i, got[i], ids[i], probs[i], got)
		}
	}
}

func TestDistributionHandComputed(t *testing.T) {
	l := []float32{1, 2, 3}
	e := math.E
	// softmax([1,2,3]) = [1, e, e²] / (1 + e + e²)
	z := 1 + e + e*e
	p0, p1, p2 := 1/z, e/z, e*e/z // 0.0900306, 0.2447285, 0.6652410

	cases := []struct {
		name  string
		p     Params
		ids   []int32
		probs []float64
	}{
		// No truncation: vocabulary order, plain softmax.
		{"temp1", Params{Temperature: 1}, []int32{0, 1, 2}, []float64{p0, p1, p2}},
		// Top-k 2 keeps logits 3 and 2: e³/(e²+e³) = 1/(1+e⁻¹).
		{"topk2", Params{Temperature: 1, TopK: 2}, []int32{2, 1}, []float64{1 / (1 + 1/e), (1 / e) / (1 + 1/e)}},
		// Top-p 0.9: 0.665 < 0.9 ≤ 0.665+0.245 → the same two tokens.
		{"topp0.9", Params{Temperature: 1, TopP: 0.9}, []int32{2, 1}, []float64{1 / (1 + 1/e), (1 / e) / (1 + 1/e)}},
		{"topp0.6", Params{Temperature: 1, TopP: 0.6}, []int32{2}, []float64{1}},
		{"topp0.95", Params{Temperature: 1, TopP: 0.95}, []int32{2, 1, 0}, []float64{p2, p1, p0}},
		// Min-p 0.3: p1/p2 = e⁻¹ = 0.368 stays, p0/p2 = e⁻² = 0.135 goes;
		// the unsorted path keeps vocabulary order.
		{"minp0.3", Params{Temperature: 1, MinP: 0.3}, []int32{1, 2}, []float64{(1 / e) / (1 + 1/e), 1 / (1 + 1/e)}},
		// Temperature 0.5: softmax([2,4,6]) = [e⁻⁴, e⁻², 1] / (1+e⁻²+e⁻⁴).
		{"temp0.5", Params{Temperature: 0.5}, []int32{0, 1, 2}, []float64{
			math.Exp(-4) / (1 + math.Exp(-2) + math.Exp(-4)),
			math.Exp(-2) / (1 + math.Exp(-2) + math.Exp(-4)),
			1 / (1 + math.Exp(-2) + math.Exp(-4))}},
		// Order: top-p sees temperature-1 probabilities, so a huge
		// temperature still drops token 0; then the two left are nearly
		// uniform: 1/(1+e^(-1/100)).
		{"topp-before-temp", Params{Temperature: 100, TopP: 0.9}, []int32{2, 1}, []float64{
			1 / (1 + math.Exp(-0.01)), math.Exp(-0.01) / (1 + math.Exp(-0.01))}},
		// Greedy: the argmax with probability 1.
		{"greedy", Params{Temperature: 0}, []int32{2}, []float64{1}},
	}
	for _, c := range cases {
		s := New(c.p)
		checkDist(t, c.name, s.Distribution(l, nil), c.ids, c.probs)
	}

	// Penalties come before top-k: logit 3 of token 0 is halved by a
	// repeat penalty of 2, so top-k 1 keeps token 1.
	s := New(Params{Temperature: 1, TopK: 1, RepeatPenalty: 2, RepeatLastN: 8})
	s.Accept(0)
	checkDist(t, "penalty-then-topk", s.Distribution([]float32{3, 2.5, 1}, nil), []int32{1}, []float64{1})
	if got := s.Sample([]float32{3, 2.5, 1}); got != 1 {
		t.Fatalf("penalty-then-topk sample = %d, want 1", got)
	}
}

func TestGreedy(t *testing.T) {
	l := []float32{1, 3, -2, 3, 2}
	for _, seed := range []uint64{0, 1, 99} {
		for _, temp := range []float32{0, -1} {
			// Ties go to the lowest id, whatever the seed and truncation.
			s := New(Params{Temperature: temp, Seed: seed, TopK: 3, TopP: 0.5, MinP: 0.1})
			if got := s.Sample(l); got != 1 {
				t.Fatalf("greedy(seed %d, temp %v) = %d, want 1", seed, temp, got)
			}
		}
	}
	// A repeat penalty moves the argmax: 3/1.1 = 2.73 < 2.9.
	s := New(Params{RepeatPenalty: 1.1, RepeatLastN: 4})
	s.Accept(1)
	if got := s.Sample([]float32{1, 3, 2.9}); got != 2 {
		t.Fatalf("penalised greedy = %d, want 2", got)
	}
	all := []float32{float32(math.Inf(-1)), float32(math.NaN()), float32(math.Inf(-1))}
	if got := New(Params{}).Sample(all); got != 0 {
		t.Fatalf("greedy over -Inf/NaN = %d, want 0", got)
	}
	if got := New(Params{Temperature: 1}).Sample(all); got != 0 {
		t.Fatalf("sampling over -Inf/NaN = %d, want 0", got)
	}
	if got := New(Params{}).Sample(nil); got != -1 {
		t.Fatalf("empty logits = %d, want -1", got)
	}
}

func TestPenalties(t *testing.T) {
	logits := []float32{2, -2, 0.5, 1, 3}
	orig := slices.Clone(logits)
	s := New(Params{Temperature: 1, RepeatPenalty: 1.5, FrequencyPenalty: 0.25, PresencePenalty: 0.5, RepeatLastN: -1})
	for _, tok := range []int32{0, 1, 1, 3, 3, 3, 7, -1} { // 7 and -1 are outside the vocabulary: ignored
		s.Accept(tok)
	}
	// logit ≤ 0 ? logit·1.5 : logit/1.5, then − count·0.25 − 0.5.
	want := []float64{
		2/1.5 - 1*0.25 - 0.5,  // count 1
		-2*1.5 - 2*0.25 - 0.5, // count 2, negative: multiplied
		0.5,                   // unseen
		1/1.5 - 3*0.25 - 0.5,  // count 3
		3,                     // unseen
	}
	for round := 0; round < 2; round++ { // the count buffer must be clean again
		c := s.load(logits)
		for i, x := range c {
			if x.id != int32(i) || !near(float64(x.logit), want[i], 1e-6) {
				t.Fatalf("round %d token %d: logit %v, want %v", round, i, x.logit, want[i])
			}
		}
	}
	if !slices.Equal(logits, orig) {
		t.Fatalf("caller's logits modified: %v", logits)
	}

	// The window: only the last 2 tokens (3, 3) count.
	s = New(Params{Temperature: 1, RepeatPenalty: 2, FrequencyPenalty: 0.1, RepeatLastN: 2})
	for _, tok := range []int32{0, 1, 1, 3, 3, 3} {
		s.Accept(tok)
	}
	c := s.load(logits)
	for i, x := range c {
		w := float64(logits[i])
		if i == 3 {
			w = 1.0/2 - 2*0.1
		}
		if !near(float64(x.logit), w, 1e-6) {
			t.Fatalf("window 2, token %d: %v, want %v", i, x.logit, w)
		}
	}
	// A long run keeps exactly the last RepeatLastN tokens.
	s = New(Params{RepeatPenalty: 2, RepeatLastN: 3})
	for i := range int32(1000) {
		s.Accept(i)
	}
	if w := s.window(); !slices.Equal(w, []int32{997, 998, 999}) {
		t.Fatalf("window after 1000 accepts = %v", w)
	}
	// RepeatLastN 0 disables every penalty.
	s = New(Params{RepeatPenalty: 2, PresencePenalty: 1, FrequencyPenalty: 1})
	s.Accept(4)
	for i, x := range s.load(logits) {
		if x.logit != logits[i] {
			t.Fatalf("RepeatLastN 0 changed token %d: %v", i, x.logit)
		}
	}
}

// TestTopPLargeVocab covers both branches of the adaptive top-p sort (the
// top 256 suffice / a full sort is needed) against a direct computation.
func TestTopPLargeVocab(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, spread := range []float64{8, 0.01} { // peaked: 256 suffice; flat: they do not
		logits := make([]float32, 5000)
		for i := range logits {
			logits[i] = float32(r.NormFloat64() * spread)
		}
		s := New(Params{Temperature: 1, TopP: 0.9})
		got := s.Distribution(logits, nil)

		type kv struct {
			id int32
			l  float64
		}
		all := make([]kv, len(logits))
		maxL := math.Inf(-1)
		for i, l := range logits {
			all[i] = kv{int32(i), float64(l)}
			maxL = max(maxL, float64(l))
		}
		sort.Slice(all, func(i, j int) bool { return all[i].l > all[j].l })
		var z float64
		for _, x := range all {
			z += math.Exp(x.l - maxL)
		}
		n, cum := 0, 0.0
		for cum < 0.9 {
			cum += math.Exp(all[n].l-maxL) / z
			n++
		}
		if (spread == 8) != (n <= 256) {
			t.Fatalf("spread %v: reference keeps %d; test does not cover the intended branch", spread, n)
		}
		if len(got) != n {
			t.Fatalf("spread %v: kept %d, want %d", spread, len(got), n)
		}
		var zk float64
		for _, x := range all[:n] {
			zk += math.Exp(x.l - maxL)
		}
		for i := range got {
			if got[i].ID != all[i].id || !near(float64(got[i].Prob), math.Exp(all[i].l-maxL)/zk, 1e-6) {
				t.Fatalf("spread %v: candidate %d = %+v, want id %d", spread, i, got[i], all[i].id)
			}
		}
	}
}

func TestSeededDeterminism(t *testing.T) {
	flat := make([]float32, 1000)
	draw := func(seed uint64, n int) []int32 {
		s := New(Params{Temperature: 1, Seed: seed})
		out := make([]int32, n)
		for i := range out {
			out[i] = s.Sample(flat)
		}
		return out
	}
	a, b := draw(1234, 200), draw(1234, 200)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different tokens")
	}
	c := draw(1235, 200)
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	// Independent uniform draws over 1000 tokens agree ~0.2 times in 200.
	if same > 5 {
		t.Fatalf("seeds 1234 and 1235 agree on %d of 200 draws from a flat distribution", same)
	}
	// Reset replays the stream.
	s := New(Params{Temperature: 1, Seed: 1234})
	s.Sample(flat)
	s.Reset()
	for i := range 20 {
		if got := s.Sample(flat); got != a[i] {
			t.Fatalf("after Reset draw %d = %d, want %d", i, got, a[i])
		}
	}
	// Distribution does not consume randomness.
	s.Reset()
	s.Distribution(flat, nil)
	if got := s.Sample(flat); got != a[0] {
		t.Fatalf("Distribution advanced the stream: %d, want %d", got, a[0])
	}
}

// TestFrequencies draws many tokens with a fixed seed and bounds Pearson's
// chi-square statistic against the hand-computed distribution at the 0.1%
// critical value.
func TestFrequencies(t *testing.T) {
	cases := []struct {
		p      Params
		logits []float32
		want   map[int32]float64
		crit   float64 // chi-square 0.999 quantile, df = len(want)-1
	}{
		{Params{Temperature: 1, Seed: 7}, []float32{1, 2, 3, 0.5, -1}, map[int32]float64{
			0: math.Exp(1), 1: math.Exp(2), 2: math.Exp(3), 3: math.Exp(0.5), 4: math.Exp(-1)}, 18.467},
		// Top-k 3 then temperature 0.7 over logits 3, 2, 1.
		{Params{Temperature: 0.7, TopK: 3, Seed: 8}, []float32{1, 2, 3, 0.5, -1}, map[int32]float64{
			0: math.Exp(1 / 0.7), 1: math.Exp(2 / 0.7), 2: math.Exp(3 / 0.7)}, 13.816},
	}
	const n = 40000
	for ci, c := range cases {
		var z float64
		for _, w := range c.want {
			z += w
		}
		s := New(c.p)
		counts := map[int32]int{}
		for range n {
			counts[s.Sample(c.logits)]++
		}
		var chi2 float64
		for id, cnt := range counts {
			if _, ok := c.want[id]; !ok {
				t.Fatalf("case %d: drew token %d outside the kept set", ci, id)
			}
			_ = cnt
		}
		for id, w := range c.want {
			e := n * w / z
			d := float64(counts[id]) - e
			chi2 += d * d / e
		}
		if chi2 > c.crit {
			t.Fatalf("case %d: chi-square %.2f > %.3f (counts %v)", ci, chi2, c.crit, counts)
		}
	}
}

func TestSampleZeroAllocs(t *testing.T) {
	logits := randomLogits(128256)
	s := New(Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, FrequencyPenalty: 0.1, RepeatLastN: 64})
	for i := range 64 {
		s.Accept(int32(i * 17))
	}
	s.Sample(logits)
	if a := testing.AllocsPerRun(5, func() { s.Sample(logits) }); a != 0 {
		t.Fatalf("Sample allocates %v times per call", a)
	}
	dst := make([]TopLogprob, 0, 20)
	if a := testing.AllocsPerRun(5, func() { _, dst = Logprobs(logits, 3, 20, dst) }); a != 0 {
		t.Fatalf("Logprobs allocates %v times per call", a)
	}
}

func randomLogits(n int) []float32 {
	r := rand.New(rand.NewPCG(3, 4))
	l := make([]float32, n)
	for i := range l {
		l[i] = float32(r.NormFloat64() * 3)
	}
	return l
}

func BenchmarkSample(b *testing.B) {
	logits := randomLogits(128256)
	for _, bc := range []struct {
		name string
		p    Params
	}{
		{"default", Params{Temperature: 0.8, TopK: 40, TopP: 0.95, MinP: 0.05, RepeatPenalty: 1.1, RepeatLastN: 64}},
		{"greedy", Params{RepeatPenalty: 1.1, RepeatLastN: 64}},
		{"topp-only", Params{Temperature: 1, TopP: 0.95}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := New(bc.p)
			for i := range 64 {
				s.Accept(int32(i * 31))
			}
			b.ReportAllocs()
			for b.Loop() {
				s.Sample(logits)
			}
		})
	}
}

// TestInfiniteLogits: +Inf acts as the largest finite logit, so the
// distribution stays a distribution.
func TestInfiniteLogits(t *testing.T) {
	inf := float32(math.Inf(1))
	l := []float32{0, inf, 1, inf}
	got := New(Params{Temperature: 1}).Distribution(l, nil)
	checkDist(t, "+Inf", got, []int32{0, 1, 2, 3}, []float64{0, 0.5, 0, 0.5})
	if lp, top := Logprobs(l, 1, 1, nil); !near(float64(lp), -math.Ln2, 1e-6) || top[0].ID != 1 {
		t.Fatalf("Logprobs with +Inf: %v %v", lp, top)
	}
}

// min-p above 1 (possible through the library) still keeps the most likely token instead of
// leaving nothing to sample from; Validate names such parameters for callers that check.
func TestMinPAboveOneKeepsTheBest(t *testing.T) {
	s := New(Params{Temperature: 1, MinP: 2, Seed: 1})
	if got := s.Sample([]float32{0.5, 3, 1}); got != 1 {
		t.Errorf("sampled %d, want the most likely token 1", got)
	}
	for _, p := range []Params{{MinP: 2}, {TopP: -3}, {TopK: -5}, {Temperature: float32(math.NaN())}, {Temperature: -1}, {RepeatLastN: -2}} {
		if err := p.Validate(); err == nil {
			t.Errorf("%+v: no error", p)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// Samplers sharing one Scratch, used in turn, draw exactly what samplers with their own draw
// (the penalty counts are left zero between calls), and a new one's first call allocates
// nothing once the Scratch has grown to the vocabulary.
func TestSharedScratch(t *testing.T) {
	logits := randomLogits(5000)
	params := []Params{
		{Temperature: 0.9, TopK: 50, TopP: 0.9, RepeatPenalty: 1.3, FrequencyPenalty: 0.2, PresencePenalty: 0.1, RepeatLastN: 16, Seed: 1},
		{Temperature: 0.7, MinP: 0.02, RepeatPenalty: 1.1, RepeatLastN: 64, Seed: 2},
		{Temperature: 0, RepeatPenalty: 2, RepeatLastN: 8},
	}
	var sc Scratch
	own, shared := make([]*Sampler, len(params)), make([]*Sampler, len(params))
	for i, p := range params {
		own[i], shared[i] = New(p), NewShared(p, &sc)
	}
	for step := range 60 {
		for i := range params {
			a, b := own[i].Sample(logits), shared[i].Sample(logits)
			if a != b {
				t.Fatalf("step %d sampler %d: shared scratch drew %d, own %d", step, i, b, a)
			}
			own[i].Accept(a)
			shared[i].Accept(b)
		}
	}
	if a := testing.AllocsPerRun(5, func() { NewShared(params[0], &sc).Sample(logits) }); a > 1 {
		t.Fatalf("a new sampler on a grown Scratch allocates %v times (want only the Sampler)", a)
	}
}
