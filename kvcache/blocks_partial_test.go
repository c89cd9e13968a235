package kvcache

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// A partial-block hit can cover a whole block (j == BlockSize): the source is a released
// sequence's private full block (a duplicate of a registered block that has since been
// evicted). Admit copies all of it, so the copy is computed at once: a third sequence attaching
// to it skips it, and "blocks below Skip's position are computed" (sched's checkInvariants)
// holds between Schedule and Update.
func TestManagerWholeBlockCopyIsComputed(t *testing.T) {
	m, err := NewManager(4, 2)
	if err != nil {
		t.Fatal(err)
	}
	a := []int32{1, 2, 3}
	mustAdmit := func(seq int, toks []int32) int {
		t.Helper()
		n, err := m.Admit(seq, toks)
		if err != nil {
			t.Fatal(err)
		}
		mustCheck(t, m)
		return n
	}
	mustAdmit(1, a)
	m.Commit(1, a, 3) // block 0 = [1 2] computed and registered, block 1 = [3] partial
	b := []int32{1, 2}
	if n := mustAdmit(2, b); n != 1 { // [1] copied from A's block 0; B's block is a private duplicate
		t.Fatalf("admit b: %d", n)
	}
	if c := m.Skip(2, 0, 1); c != 1 {
		t.Fatalf("skip b: %d", c)
	}
	m.Commit(2, b, 2)
	m.Release(1)
	m.Release(2) // LRU: A's partial, A's block 0, then B's private [1 2]
	// Evict A's blocks, keep B's.
	mustAdmit(3, []int32{9, 9, 9, 9, 9})
	m.Release(3)
	mustCheck(t, m)

	d := []int32{1, 2, 5}
	if n := mustAdmit(4, d); n != 2 {
		t.Fatalf("admit d: shared %d, want 2 (a whole block copied)", n)
	}
	if c := m.Skip(4, 0, 2); c != 2 {
		t.Fatalf("skip d: %d", c)
	}
	d0 := m.Table(4)[0]
	if !m.Computed(d0) {
		t.Errorf("block %d holds all %d positions of d (copied) but is not computed", d0, m.BlockSize())
	}
	e := []int32{1, 2, 7}
	mustAdmit(5, e)
	if c := m.Skip(5, 0, 2); c != 2 {
		t.Errorf("e attached to d's fully copied block cannot skip it: Skip = %d, want 2", c)
	}
}

// CachedPrefix predicts Admit's count, and the copy source Admit uses holds the tokens it
// claims, over random traffic on tiny caches (a bookkeeping-level check independent of sched).
func TestManagerCachedPrefixMatchesAdmit(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		bs := 1 + rng.IntN(4)
		nb := 2 + rng.IntN(10)
		m, err := NewManager(nb, bs)
		if err != nil {
			t.Fatal(err)
		}
		// slots[block][slot] = the token prefix (as a string) whose K/V it holds
		slots := make([][]string, nb)
		for i := range slots {
			slots[i] = make([]string, bs)
		}
		m.SetCopier(func(src, dst, n int) { copy(slots[dst][:n], slots[src][:n]) })
		key := func(toks []int32, p int) string {
			s := ""
			for _, x := range toks[:p+1] {
				s += string(rune('a' + x))
			}
			return s
		}
		live := map[int][]int32{}
		for op := 0; op < 300; op++ {
			seq := op
			if rng.IntN(3) == 0 && len(live) > 0 {
				for id := range live {
					m.Release(id)
					delete(live, id)
					break
				}
				mustCheck(t, m)
				continue
			}
			toks := make([]int32, 1+rng.IntN(3*bs))
			for i := range toks {
				toks[i] = rng.Int32N(2)
			}
			want := m.CachedPrefix(toks)
			got, err := m.Admit(seq, toks)
			if err != nil {
				continue
			}
			mustCheck(t, m)
			if got != want {
				t.Fatalf("seed %d: CachedPrefix %d, Admit %d", seed, want, got)
			}
			// Compute everything the sequence may compute alone, in one go (computed shared
			// blocks and copied positions are read, must hold this sequence's prefixes).
			c := m.Skip(seq, 0, len(toks)-1)
			tab := m.Table(seq)
			for p := 0; p < c; p++ {
				if s := slots[tab[p/bs]][p%bs]; s != key(toks, p) {
					t.Fatalf("seed %d: seq %d position %d holds %q, want %q", seed, seq, p, s, key(toks, p))
				}
			}
			if k := m.Claim(seq, c, len(toks)-c); k == len(toks)-c {
				for p := c; p < len(toks); p++ {
					slots[tab[p/bs]][p%bs] = key(toks, p)
				}
				m.Commit(seq, toks, len(toks))
				mustCheck(t, m)
			}
			live[seq] = toks
		}
	}
}

// A block registered after a parent that has since forgotten its contents is never a hit, even
// when the parent's id holds the same tokens under the same hash again: lookup and partialHit
// check the parent's generation, so a K/V computed after other contents is never reused.
func TestManagerStaleParentIsNoHit(t *testing.T) {
	m, _ := NewManager(8, 2)
	a := seqTokens(0, 5) // [0 1] [2 3] [4]
	m.Admit(1, a)
	m.Commit(1, a, 5)
	p := m.Table(1)[0]
	m.Release(1)
	if got := m.CachedPrefix(a); got != 4 {
		t.Fatalf("cached prefix %d, want 4", got)
	}
	if got := m.CachedPrefix([]int32{0, 1, 2, 9}); got != 3 {
		t.Fatalf("cached prefix with a partial hit %d, want 3", got)
	}
	// White box: block p forgets its contents (as when evicted) and is filled with the same
	// tokens again under the same hash, as a new sequence holding that block would.
	h := m.blocks[p].hash
	m.lruRemove(p)
	m.reset(p)
	b := &m.blocks[p]
	b.hashed, b.hash, b.computed, b.filled = true, h, true, 2
	b.tokens = append(b.tokens[:0], 0, 1)
	m.index[h] = p
	m.lruPush(p)
	mustCheck(t, m)
	if got := m.CachedPrefix(a); got != 2 {
		t.Fatalf("cached prefix after the parent was reused: %d, want 2 (its old child is stale)", got)
	}
	if got := m.CachedPrefix([]int32{0, 1, 2, 9}); got != 2 {
		t.Fatalf("partial hit after the parent was reused: %d, want 2", got)
	}
}

// A repeated block-aligned prompt copies its last block into a private duplicate (its last
// token is recomputed); the answer's blocks are registered after the cached original, so the
// next turn (prompt + answer) finds all of it, every time.
func TestManagerContinuationAfterCopiedBlock(t *testing.T) {
	m, _ := NewManager(64, 4)
	p := []int32{1, 2, 3, 4, 5, 6, 7, 8} // 2 full blocks
	a := []int32{9, 10, 11, 12, 13, 14, 15, 16}
	m.Admit(1, p)
	m.Commit(1, p, len(p))
	m.Release(1)
	if sh, _ := m.Admit(2, p); sh != 7 {
		t.Fatalf("repeat: shared %d, want 7", sh)
	}
	full := append(slices.Clone(p), a...)
	m.Grow(2, len(full))
	m.Commit(2, full, len(full))
	m.Release(2)
	mustCheck(t, m)
	next := append(slices.Clone(full), 99)
	for seq := 3; seq < 6; seq++ {
		if got := m.CachedPrefix(next); got != len(full) {
			t.Fatalf("turn %d: cached prefix %d, want %d", seq, got, len(full))
		}
		if sh, _ := m.Admit(seq, next); sh != len(full) {
			t.Fatalf("turn %d: shared %d, want %d", seq, sh, len(full))
		}
		m.Grow(seq, len(next))
		m.Commit(seq, next, len(next))
		m.Release(seq)
		mustCheck(t, m)
	}
}

// A registered block whose parent has been reused gives its hash up to the block that is
// computed for that chain now, so the chain is cached again from then on.
func TestManagerStaleEntryGivesWay(t *testing.T) {
	m, _ := NewManager(8, 2)
	a := seqTokens(0, 5) // [0 1] [2 3] [4]
	m.Admit(1, a)
	m.Commit(1, a, 5)
	p, x := m.Table(1)[0], m.Table(1)[1]
	m.Release(1)
	// White box: p forgets its contents (as when evicted): x is stale.
	m.lruRemove(p)
	m.reset(p)
	m.blocks[p].list = inFree
	m.free = append(m.free, p)
	mustCheck(t, m)
	if _, err := m.Admit(2, a); err != nil {
		t.Fatal(err)
	}
	m.Commit(2, a, 5)
	x2 := m.Table(2)[1]
	m.Release(2)
	mustCheck(t, m)
	if x2 == x || !m.blocks[x2].hashed || m.blocks[x].hashed {
		t.Fatalf("the recomputed block %d should hold the hash, not the stale %d", x2, x)
	}
	if got := m.CachedPrefix(a); got != 4 {
		t.Fatalf("cached prefix %d, want 4", got)
	}
}
