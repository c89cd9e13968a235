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
	// Release seq 1: blocks 0,1 stay with seq 2, its partial block 2 is free.
	m.Release(1)
	if m.NumUsed() != 3 || m.NumFree() != 3 || m.NumCached() != 0 {
		t.Fatalf("after release: used %d free %d cached %d", m.NumUsed(), m.NumFree(), m.NumCached())
	}
	m.Commit(2, b, 11)
	m.Release(2)
	// Blocks 0 and 1 are cached; seq 2's third block was partial.
	if m.NumCached() != 2 || m.NumFree() != 4 {
		t.Fatalf("cached %d free %d", m.NumCached(), m.NumFree())
	}
	mustCheck(t, m)
	if got := m.CachedPrefix(append(seqTokens(100, 8), 1)); got != 8 {
		t.Fatalf("cached prefix %d", got)
	}
	// The last token is never a hit: a prompt of exactly 8 cached tokens shares one block.
	if got := m.CachedPrefix(seqTokens(100, 8)); got != 4 {
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
	if m.NumCached() != 2 || m.NumUsed() != 0 {
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
