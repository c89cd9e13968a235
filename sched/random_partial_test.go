package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// An aggressive variant of TestRandom for token-granular prefix reuse: tiny caches, block sizes
// 1…5, a two- or three-letter token alphabet (so prompts share prefixes and diverge inside
// blocks everywhere, and decoded blocks collide with prompt blocks), repeated prompts, prompts
// that are prefixes of earlier ones, chat continuations (earlier prompt + its output + more),
// aborts between Schedule and Update, preemption. After every Update, every running request's
// positions below Computed must hold its own fingerprints, and no step may write into a block
// that is already computed. kv.Check runs after every operation.
func TestRandomPartialReuse(t *testing.T) {
	steps := 1500
	seeds := uint64(60)
	if testing.Short() {
		steps, seeds = 400, 12
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { partialRandomRun(t, seed, steps) })
	}
}

func partialRandomRun(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 99))
	bs := 1 + rng.IntN(5)
	nblocks := 1 + rng.IntN(14)
	maxSeqs := 1 + rng.IntN(5)
	budget := maxSeqs + rng.IntN(12)
	alpha := int32(1 + rng.IntN(3))
	kv, s, fk := newRig(t, bs, nblocks, maxSeqs, budget)
	tok := func() int32 { return 1 + rng.Int32N(alpha) }
	reqs := map[int]*randReq{}
	var history [][]int32 // prompts and prompt+output of earlier requests
	nextID := 1
	var buf []uint64
	all := func(id int) []int32 {
		return append(append([]int32(nil), reqs[id].prompt...), s.Output(id)...)
	}
	check := func(step int, what string) {
		t.Helper()
		if what != "update" {
			// Admit may copy a whole block (filled == BlockSize, not yet computed): the
			// "blocks below computed are computed" rule of checkInvariants holds after Update.
			if err := kv.Check(); err != nil {
				t.Fatalf("step %d (%s): %v", step, what, err)
			}
		} else if err := checkInvariants(s); err != nil {
			t.Fatalf("step %d (%s): %v", step, what, err)
		}
		for _, q := range s.running {
			tab := kv.Table(q.id)
			prints := prefixPrints(q.tokens, buf)
			for p := 0; p < q.computed; p++ {
				if got := fk.slots[tab[p/bs]][p%bs]; got != prints[p] {
					t.Fatalf("step %d (%s): request %d position %d (block %d) holds %#x, want %#x", step, what, q.id, p, tab[p/bs], got, prints[p])
				}
			}
		}
	}
	newPrompt := func() []int32 {
		var p []int32
		switch k := rng.IntN(10); {
		case k < 3 && len(history) > 0: // repeat an earlier prompt (or conversation) exactly
			p = append(p, history[rng.IntN(len(history))]...)
		case k < 5 && len(history) > 0: // a prefix of an earlier one
			h := history[rng.IntN(len(history))]
			p = append(p, h[:1+rng.IntN(len(h))]...)
		case k < 7 && len(history) > 0: // an earlier one continued
			p = append(p, history[rng.IntN(len(history))]...)
			for n := rng.IntN(2 * bs); n >= 0; n-- {
				p = append(p, tok())
			}
		default:
			for n := rng.IntN(4 * bs); n >= 0; n-- {
				p = append(p, tok())
			}
		}
		return p
	}
	stepOnce := func(step int, allowAbort bool) {
		plan := s.Schedule()
		check(step, "schedule")
		for _, w := range plan.Work {
			tab := kv.Table(w.ID)
			for p := w.Pos; p < w.Pos+len(w.Tokens); p++ {
				if kv.Computed(tab[p/bs]) {
					t.Fatalf("step %d: request %d writes position %d into computed block %d", step, w.ID, p, tab[p/bs])
				}
			}
			if err := fk.run(kv, w, all(w.ID), buf); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		if allowAbort && len(plan.Work) > 0 && rng.IntN(8) == 0 {
			id := plan.Work[rng.IntN(len(plan.Work))].ID
			if s.Abort(id) {
				reqs[id].done = true
			}
			check(step, "abort in plan")
		}
		var res []Result
		for _, w := range plan.Work {
			if w.Logits && !reqs[w.ID].done {
				res = append(res, Result{ID: w.ID, Token: tok(), Stop: rng.IntN(60) == 0})
			}
		}
		fin, err := s.Update(res)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for _, f := range fin {
			r := reqs[f.ID]
			r.done = true
			history = append(history, append(append([]int32(nil), r.prompt...), f.Output...))
		}
		check(step, "update")
	}
	for step := 0; step < steps; step++ {
		for n := rng.IntN(4); n > 0 && rng.IntN(2) == 0; n-- {
			prompt := newPrompt()
			max := 1 + rng.IntN(3*bs)
			if kv.BlocksFor(len(prompt)+max-1) > nblocks {
				continue
			}
			if err := s.Add(Request{ID: nextID, Prompt: prompt, MaxTokens: max, Priority: rng.IntN(2)}); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
			reqs[nextID] = &randReq{prompt: prompt, max: max, addedStep: step}
			history = append(history, prompt)
			nextID++
		}
		if rng.IntN(12) == 0 {
			for id, r := range reqs {
				if !r.done && !s.seqs[id].planned {
					s.Abort(id)
					r.done = true
					check(step, "abort")
					break
				}
			}
		}
		stepOnce(step, true)
	}
	for drained := 0; !s.Idle(); drained++ {
		if drained > 20000 {
			t.Fatal("drain does not end")
		}
		stepOnce(steps+drained, false)
	}
	st := s.Stats()
	t.Logf("bs %d blocks %d seqs %d budget %d alpha %d: copies %d, preemptions %d, hits %d/%d",
		bs, nblocks, maxSeqs, budget, alpha, fk.copies, st.Preemptions, st.CacheHit, st.CacheQueried)
}
