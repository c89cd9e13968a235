package kvcache

import (
	"errors"
	"slices"
	"testing"
)

func seqTokens(base int32, n int) []int32 {
	t := make([]int32, n)
	for i := range t {
		t[i] = base + int32(i)
	}
	return t
}

func mustCheck(t *testing.T, m *Manager) {
	t.Helper()
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestManagerAdmitReleaseHit(t *testing.T) {
	m, err := NewManager(6, 4)
	if err != nil {
		t.Fatal(err)
	}
	a := seqTokens(100, 10) // 3 blocks, 2 full
	shared, err := m.Admit(1, a)
	if err != nil || shared != 0 {
		t.Fatalf("admit: shared %d, %v", shared, err)
	}
	if got := m.Table(1); !slices.Equal(got, []int{0, 1, 2}) {
		t.Fatalf("table %v", got)
	}
	// A second sequence with the same first 8 tokens attaches to the in-flight blocks.
	b := append(seqTokens(100, 8), 7, 7, 7)
	if shared, err = m.Admit(2, b); err != nil || shared != 8 {
		t.Fatalf("attach: shared %d, %v", shared, err)
	}
	if m.Ref(0) != 2 || m.Ref(1) != 2 || m.Ref(2) != 1 {
		t.Fatalf("refs %d %d %d", m.Ref(0), m.Ref(1), m.Ref(2))
	}
	// Not computed yet: seq 2 may not skip them nor compute them.
	if c := m.Skip(2, 0, len(b)-1); c != 0 {
		t.Fatalf("skip over in-flight blocks: %d", c)
	}
	if got := m.Claim(2, 0, 11); got != 0 {
		t.Fatalf("claim of blocks owned by seq 1: %d", got)
	}
	if got := m.Claim(1, 0, 10); got != 10 {
		t.Fatalf("owner claim: %d", got)
	}
	m.Commit(1, a, 6) // block 0 computed, block 1 half
	if c := m.Skip(2, 0, len(b)-1); c != 4 {
		t.Fatalf("skip after block 0 computed: %d", c)
	}
	m.Commit(1, a, 10)
	if c := m.Skip(2, 4, len(b)-1); c != 8 {
		t.Fatalf("skip after block 1 computed: %d", c)
	}
	mustCheck(t, m)
	// Release seq 1: blocks 0,1 stay with seq 2, its partial block 2 (2 positions) stays cached
	// as a copy source.
	m.Release(1)
	if m.NumUsed() != 3 || m.NumFree() != 2 || m.NumCached() != 1 {
		t.Fatalf("after release: used %d free %d cached %d", m.NumUsed(), m.NumFree(), m.NumCached())
	}
	m.Commit(2, b, 11)
	m.Release(2)
	// Blocks 0 and 1 are cached, and the partial last blocks of both sequences.
	if m.NumCached() != 4 || m.NumFree() != 2 {
		t.Fatalf("cached %d free %d", m.NumCached(), m.NumFree())
	}
	mustCheck(t, m)
	if got := m.CachedPrefix(append(seqTokens(100, 8), 1)); got != 8 {
		t.Fatalf("cached prefix %d", got)
	}
	// The last token is never a hit: a prompt of exactly 8 cached tokens shares one block and
	// copies 3 positions of the second.
	if got := m.CachedPrefix(seqTokens(100, 8)); got != 7 {
		t.Fatalf("cached prefix of a fully cached prompt: %d", got)
	}
	// A different first block breaks the chain even if the second block's tokens match.
	c := append(seqTokens(500, 4), seqTokens(104, 4)...)
	if got := m.CachedPrefix(append(c, 1)); got != 0 {
		t.Fatalf("chain: %d", got)
	}
}

func TestManagerNoSpaceAndEviction(t *testing.T) {
	m, _ := NewManager(3, 2)
	if _, err := m.Admit(1, seqTokens(0, 4)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Admit(2, seqTokens(50, 4)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("want ErrNoSpace, got %v", err)
	}
	if m.Has(2) || m.NumFree() != 1 {
		t.Fatal("failed admit changed state")
	}
	if err := m.Grow(1, 6); err != nil {
		t.Fatal(err)
	}
	if err := m.Grow(1, 7); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("grow: %v", err)
	}
	m.Commit(1, seqTokens(0, 6), 6)
	m.Release(1)
	// All three blocks are full and computed: cached, released tail first.
	if m.NumCached() != 3 || m.NumFree() != 0 {
		t.Fatalf("cached %d free %d", m.NumCached(), m.NumFree())
	}
	// A new sequence evicts least recently released first: the tail (block 2), then block 1.
	if _, err := m.Admit(3, seqTokens(900, 4)); err != nil {
		t.Fatal(err)
	}
	if got := m.Table(3); !slices.Equal(got, []int{2, 1}) {
		t.Fatalf("eviction order: %v", got)
	}
	if got := m.CachedPrefix(seqTokens(0, 5)); got != 2 {
		t.Fatalf("head block should survive: %d", got)
	}
	mustCheck(t, m)
	// Admit may count a cached hit as already available.
	m.Release(3)
	mustCheck(t, m)
}

func TestManagerOrphanClaim(t *testing.T) {
	m, _ := NewManager(8, 2)
	a := seqTokens(0, 5)
	m.Admit(1, a)
	m.Admit(2, a) // shares blocks 0,1 (within the first 4 tokens)
	m.Admit(3, a)
	m.Release(1) // aborted before computing anything
	mustCheck(t, m)
	// Seq 2 takes over both orphaned blocks and its own.
	if got := m.Claim(2, 0, 5); got != 5 {
		t.Fatalf("claim orphans: %d", got)
	}
	if got := m.Claim(3, 0, 5); got != 0 {
		t.Fatalf("seq 3 must wait for seq 2: %d", got)
	}
	m.Commit(2, a, 3) // block 0 computed
	if c := m.Skip(3, 0, 4); c != 2 {
		t.Fatalf("skip: %d", c)
	}
	if got := m.Claim(3, 2, 3); got != 0 {
		t.Fatalf("block 1 still owned by seq 2: %d", got)
	}
	m.Release(2) // preempted mid-block: block 1 orphaned again
	if got := m.Claim(3, 2, 3); got != 3 {
		t.Fatalf("seq 3 takes over: %d", got)
	}
	mustCheck(t, m)
	m.Commit(3, a, 5)
	m.Release(3)
	// Blocks 0 and 1, and the last block (1 position) as a copy source.
	if m.NumCached() != 3 || m.NumUsed() != 0 {
		t.Fatalf("cached %d used %d", m.NumCached(), m.NumUsed())
	}
	mustCheck(t, m)
}

func TestNewManagerErrors(t *testing.T) {
	if _, err := NewManager(0, 16); err == nil {
		t.Fatal("0 blocks accepted")
	}
	if _, err := NewManager(4, 0); err == nil {
		t.Fatal("block size 0 accepted")
	}
	m, _ := NewManager(2, 2)
	if _, err := m.Admit(1, nil); err == nil {
		t.Fatal("empty admit accepted")
	}
	m.Admit(1, []int32{1})
	if _, err := m.Admit(1, []int32{1}); err == nil {
		t.Fatal("second admit accepted")
	}
	if err := m.Grow(9, 1); err == nil {
		t.Fatal("grow of unknown sequence accepted")
	}
}

// copyLog records the copies a Manager asks its storage for.
type copyLog [][3]int

func (c *copyLog) copier() func(src, dst, n int) {
	return func(src, dst, n int) { *c = append(*c, [3]int{src, dst, n}) }
}

func TestManagerPartialBlockCopy(t *testing.T) {
	m, _ := NewManager(16, 4)
	var log copyLog
	m.SetCopier(log.copier())
	// admit admits seq and checks that it does not compute wantShared positions, of which n
	// are copied from block src into the block after the shared ones (src < 0: no copy).
	admit := func(seq int, toks []int32, wantShared, src, n int) {
		t.Helper()
		log = log[:0]
		shared, err := m.Admit(seq, toks)
		if err != nil || shared != wantShared {
			t.Fatalf("admit %d: shared %d, %v; want %d", seq, shared, err, wantShared)
		}
		var wantCopy copyLog
		if src >= 0 {
			wantCopy = copyLog{{src, m.Table(seq)[wantShared/4], n}}
		}
		if !slices.Equal(log, wantCopy) {
			t.Fatalf("admit %d: copies %v, want %v", seq, log, wantCopy)
		}
		if c := m.Skip(seq, 0, len(toks)-1); c != wantShared {
			t.Fatalf("admit %d: skip to %d, want %d", seq, c, wantShared)
		}
		mustCheck(t, m)
	}

	// A finished sequence's partial last block seeds a repeat of its prompt: only the last
	// token is left to compute.
	a := seqTokens(0, 10)
	admit(1, a, 0, -1, 0)
	m.Commit(1, a, 10)
	last := m.Table(1)[2]
	m.Release(1)
	admit(2, a, 9, last, 1)
	if got := m.Claim(2, 9, 1); got != 1 {
		t.Fatalf("claim of the last token: %d", got)
	}
	m.Commit(2, a, 10)

	// A prompt that stops inside a cached full block copies the positions it shares.
	b := append(seqTokens(0, 7), 99)
	admit(3, b, 7, m.Table(2)[1], 3)

	// A running sequence's committed positions are a source too; its uncommitted ones are not.
	c := seqTokens(200, 6)
	admit(4, c, 0, -1, 0)
	m.Commit(4, c, 6)
	admit(5, append(slices.Clone(c), 7), 6, m.Table(4)[1], 2)
	d := seqTokens(300, 10)
	admit(6, d, 0, -1, 0)
	// Seq 7 shares seq 6's two in-flight blocks (it may not skip them yet); nothing to copy.
	if shared, err := m.Admit(7, append(slices.Clone(d), 1)); err != nil || shared != 8 || m.Skip(7, 0, 10) != 0 {
		t.Fatalf("admit 7: shared %d, %v, skip %d", shared, err, m.Skip(7, 0, 10))
	}

	// Among the sources under one key the longest match wins, not the fullest block.
	m.Commit(6, d, 9) // seq 6's third block holds 1 position
	admit(8, append(seqTokens(300, 9), 5, 5), 9, m.Table(6)[2], 1)
	m.Commit(6, d, 10)                               // 2 positions: 308 309
	m.Commit(8, append(seqTokens(300, 9), 5, 5), 11) // 3 positions: 308 5 5
	admit(9, append(seqTokens(300, 10), 4), 10, m.Table(6)[2], 2)
	admit(10, append(seqTokens(300, 9), 5, 5, 1), 11, m.Table(8)[2], 3)

	for _, s := range []int{2, 3, 4, 5, 6, 7, 8, 9, 10} {
		m.Release(s)
		mustCheck(t, m)
	}
}

func TestManagerPartialCopyFromEvictedSource(t *testing.T) {
	// Two blocks: the repeat of a 6-token prompt evicts the partial source block to get its own
	// second block, and gets that very block: nothing to copy, its position is still there.
	m, _ := NewManager(2, 4)
	var log copyLog
	m.SetCopier(log.copier())
	a := seqTokens(0, 6)
	m.Admit(1, a)
	m.Commit(1, a, 6)
	m.Release(1)
	if m.NumCached() != 2 {
		t.Fatalf("cached %d", m.NumCached())
	}
	shared, err := m.Admit(2, a)
	if err != nil || shared != 5 || len(log) != 0 || !slices.Equal(m.Table(2), []int{0, 1}) {
		t.Fatalf("shared %d, %v, copies %v, table %v", shared, err, log, m.Table(2))
	}
	if c := m.Skip(2, 0, 5); c != 5 {
		t.Fatalf("skip %d", c)
	}
	mustCheck(t, m)
}
