package sched

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/golem-llm/golem/kvcache"
)

// fakeKV simulates the K/V a forward pass writes: the slot of position p holds a fingerprint of
// tokens[0..p] (K/V depends on the whole prefix). Before a sequence computes positions
// c … c+m-1 it "reads" 0 … c+m-1, so every slot below c must hold its own fingerprint: this
// catches reads of uncomputed in-flight blocks, of blocks overwritten by another sequence, and
// of wrong prefix-cache hits.
type fakeKV struct {
	bs     int
	slots  [][]uint64 // [block][slot]
	copies int        // partial-block copies the manager asked for
}

// newRig returns a manager of nblocks blocks of bs positions, a scheduler on it, and the fake
// storage that the manager's partial-block copies go to.
func newRig(t *testing.T, bs, nblocks, maxSeqs, budget int) (*kvcache.Manager, *Scheduler, *fakeKV) {
	t.Helper()
	kv, err := kvcache.NewManager(nblocks, bs)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{MaxBatchTokens: budget, MaxSeqs: maxSeqs}, kv)
	if err != nil {
		t.Fatal(err)
	}
	fk := &fakeKV{bs: bs, slots: make([][]uint64, nblocks)}
	for i := range fk.slots {
		fk.slots[i] = make([]uint64, bs)
	}
	kv.SetCopier(func(src, dst, n int) {
		if n < 1 || n > bs {
			t.Fatalf("copy of %d positions with blocks of %d", n, bs)
		}
		fk.copies++
		copy(fk.slots[dst][:n], fk.slots[src][:n])
	})
	return kv, s, fk
}

func prefixPrints(toks []int32, out []uint64) []uint64 {
	out = out[:0]
	h := uint64(14695981039346656037)
	for _, t := range toks {
		h = (h ^ uint64(uint32(t))) * 1099511628211
		out = append(out, h|1) // never 0 (0 = never written)
	}
	return out
}

func (f *fakeKV) run(kv *kvcache.Manager, w Work, all []int32, buf []uint64) error {
	tab := kv.Table(w.ID)
	prints := prefixPrints(all[:w.Pos+len(w.Tokens)], buf)
	for p := 0; p < w.Pos; p++ {
		if p/f.bs >= len(tab) {
			return fmt.Errorf("request %d: position %d beyond its table (%d blocks)", w.ID, p, len(tab))
		}
		if got := f.slots[tab[p/f.bs]][p%f.bs]; got != prints[p] {
			return fmt.Errorf("request %d reads position %d (block %d): holds %#x, want %#x", w.ID, p, tab[p/f.bs], got, prints[p])
		}
	}
	for p := w.Pos; p < w.Pos+len(w.Tokens); p++ {
		if p/f.bs >= len(tab) {
			return fmt.Errorf("request %d: writes position %d beyond its table (%d blocks)", w.ID, p, len(tab))
		}
		f.slots[tab[p/f.bs]][p%f.bs] = prints[p]
	}
	return nil
}

type randReq struct {
	prompt    []int32
	max       int
	addedStep int
	done      bool
}

func TestRandom(t *testing.T) {
	steps := 4000
	if testing.Short() {
		steps = 1000
	}
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { randomRun(t, seed, steps) })
	}
}

func randomRun(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	bs := 1 + rng.IntN(8)
	nblocks := 8 + rng.IntN(40)
	maxSeqs := 1 + rng.IntN(8)
	budget := maxSeqs + rng.IntN(48)
	kv, s, fk := newRig(t, bs, nblocks, maxSeqs, budget)
	t.Logf("block %d, blocks %d, MaxSeqs %d, budget %d", bs, nblocks, maxSeqs, budget)
	// A few shared system prompts so that prefixes collide, in flight and cached.
	var prefixes [][]int32
	for i := 0; i < 3; i++ {
		p := make([]int32, 1+rng.IntN(3*bs+2))
		for j := range p {
			p[j] = int32(1000*(i+1) + j)
		}
		prefixes = append(prefixes, p)
	}
	reqs := map[int]*randReq{}
	nextID, nextTok := 1, int32(1_000_000)
	live := func() []int {
		var ids []int
		for id, r := range reqs {
			if !r.done {
				ids = append(ids, id)
			}
		}
		return ids
	}
	var buf []uint64
	var added, finished, aborted, rejected int
	stepOnce := func(step int, allowAbort bool) {
		plan := s.Schedule()
		if plan.Tokens > budget {
			t.Fatalf("step %d: %d tokens over budget %d", step, plan.Tokens, budget)
		}
		if s.NumRunning() > 0 && len(plan.Work) == 0 {
			t.Fatalf("step %d: %d running requests and nothing scheduled", step, s.NumRunning())
		}
		seen := map[int]bool{}
		for _, w := range plan.Work {
			if seen[w.ID] {
				t.Fatalf("step %d: request %d scheduled twice", step, w.ID)
			}
			seen[w.ID] = true
			all := append(append([]int32(nil), reqs[w.ID].prompt...), s.Output(w.ID)...)
			if err := fk.run(kv, w, all, buf); err != nil {
				t.Fatalf("step %d: %v", step, err)
			}
		}
		// Sometimes abort a request that is in the plan, between Schedule and Update.
		if allowAbort && len(plan.Work) > 0 && rng.IntN(20) == 0 {
			id := plan.Work[rng.IntN(len(plan.Work))].ID
			if s.Abort(id) {
				reqs[id].done = true
				aborted++
			}
		}
		var res []Result
		for _, w := range plan.Work {
			if w.Logits && !reqs[w.ID].done {
				nextTok++
				res = append(res, Result{ID: w.ID, Token: nextTok, Stop: rng.IntN(40) == 0})
			}
		}
		fin, err := s.Update(res)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for _, f := range fin {
			r := reqs[f.ID]
			if r.done {
				t.Fatalf("step %d: request %d finished twice", step, f.ID)
			}
			if f.Reason == ReasonLength && len(f.Output) != r.max {
				t.Fatalf("step %d: request %d finished by length with %d tokens, max %d", step, f.ID, len(f.Output), r.max)
			}
			r.done = true
			finished++
		}
		if err := checkInvariants(s); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
	}
	for step := 0; step < steps; step++ {
		for n := rng.IntN(3); n > 0 && rng.IntN(3) == 0; n-- {
			var prompt []int32
			if rng.IntN(3) > 0 {
				prompt = append(prompt, prefixes[rng.IntN(len(prefixes))]...)
			}
			for k := rng.IntN(3 * bs); k >= 0; k-- {
				nextTok++
				prompt = append(prompt, nextTok)
			}
			r := &randReq{prompt: prompt, max: 1 + rng.IntN(4*bs), addedStep: step}
			err := s.Add(Request{ID: nextID, Prompt: prompt, MaxTokens: r.max, Priority: rng.IntN(3)})
			if err != nil {
				if kv.BlocksFor(len(prompt)+r.max-1) <= nblocks {
					t.Fatalf("step %d: request that fits rejected: %v", step, err)
				}
				rejected++
			} else {
				reqs[nextID] = r
				added++
			}
			nextID++
		}
		if ids := live(); len(ids) > 0 && rng.IntN(15) == 0 {
			id := ids[rng.IntN(len(ids))]
			if s.State(id) != StateRunning || rng.IntN(2) == 0 {
				if !s.Abort(id) {
					t.Fatalf("step %d: abort of live request %d refused", step, id)
				}
				reqs[id].done = true
				aborted++
			}
		}
		stepOnce(step, true)
	}
	// Drain: with no new arrivals everything must finish within a bounded number of steps.
	bound := 0
	for _, id := range live() {
		r := reqs[id]
		bound += len(r.prompt) + r.max + 2
	}
	drained := 0
	for ; !s.Idle(); drained++ {
		if drained > bound*4+100 {
			t.Fatalf("drain: %d requests still live after %d steps", len(live()), drained)
		}
		stepOnce(steps+drained, false)
	}
	if len(live()) != 0 {
		t.Fatalf("scheduler idle but %d requests never finished", len(live()))
	}
	if kv.NumUsed() != 0 || kv.NumFree()+kv.NumCached() != nblocks {
		t.Fatalf("after drain: used %d free %d cached %d of %d", kv.NumUsed(), kv.NumFree(), kv.NumCached(), nblocks)
	}
	st := s.Stats()
	t.Logf("added %d (rejected %d), finished %d, aborted %d, preemptions %d, cache hit %d/%d tokens, drain %d steps",
		added, rejected, finished, aborted, st.Preemptions, st.CacheHit, st.CacheQueried, drained)
	if added < 100 || finished < 50 || st.CacheHit == 0 {
		t.Fatalf("the run exercised too little: added %d finished %d cache hits %d", added, finished, st.CacheHit)
	}
}
