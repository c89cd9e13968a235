package kvcache

import (
	"errors"
	"fmt"
)

// DefaultBlockSize is the number of token positions in one KV block (vLLM's default).
const DefaultBlockSize = 16

// ErrNoSpace is returned (wrapped) by Manager.Admit and Manager.Grow when the free blocks plus
// the evictable cached blocks cannot cover the request. Nothing is changed in that case.
var ErrNoSpace = errors.New("kvcache: not enough free KV blocks")

// maxCandidates bounds the copy sources partialHit compares per admission.
const maxCandidates = 64

const (
	noOwner = -1 // an in-flight block whose computing sequence released it (orphaned)
	noBlock = -1
)

type listKind uint8

const (
	inNone   listKind = iota // referenced by at least one table
	inFree                   // ref 0, holds nothing reusable
	inCached                 // ref 0, computed and hashed: a prefix-cache entry, evictable (LRU)
)

// block is the bookkeeping of one physical KV block. The K/V data itself lives in Paged.
type block struct {
	ref      int     // number of block tables holding the block
	hash     uint64  // chain hash, valid when hashed
	hashed   bool    // registered in Manager.index (full blocks only)
	computed bool    // all its positions' K/V have been written (by owner)
	filled   int     // leading positions whose K/V is written and committed (BlockSize once computed)
	owner    int     // sequence that computes it while !computed, or noOwner
	gen      uint32  // bumped whenever the block forgets its contents (reset)
	parent   int     // previous block of the hash chain (noBlock for the first), checked on lookup
	parentGn uint32  // parent's gen when this block was registered: a reused parent is detected
	tokens   []int32 // the block's token ids when hashed or a child entry, checked on lookup
	child    bool    // in the list of Manager.children[childKey]
	childKey uint64  // chainHash(parent's chain hash, first token)
	sibPrev  int     // links of the children list (newest first)
	sibNext  int
	list     listKind
	prev     int // cached-LRU links
	next     int
}

// seqTable is a sequence's block table plus the chain hashes of its full blocks.
type seqTable struct {
	blocks []int
	hashes []uint64 // hashes[i] = chain hash of block i (len = number of full blocks hashed so far)
	// canon[i] is the block the prefix cache knows for full block i: blocks[i] itself when it
	// is registered, or the registered block with the same tokens after the same parent when
	// blocks[i] is a private duplicate (a copy-on-write block, or one computed twice) — the same
	// K/V, so later blocks are registered as its children and lookups can reach them;
	// canonGn[i] is that block's gen then.
	canon   []int
	canonGn []uint32
}

// parentOf returns the block to register as the chain parent of block i of t (noBlock for the
// first): canon[i-1] while it still holds what it held, else t's own block.
func (m *Manager) parentOf(t *seqTable, i int) int {
	if i == 0 {
		return noBlock
	}
	if c := t.canon[i-1]; m.blocks[c].gen == t.canonGn[i-1] {
		return c
	}
	return t.blocks[i-1]
}

// setCanon records c as the registered equivalent of full block i of t.
func (m *Manager) setCanon(t *seqTable, i, c int) {
	t.canon = append(t.canon[:i], c)
	t.canonGn = append(t.canonGn[:i], m.blocks[c].gen)
}

// Manager is the block manager of a paged KV cache: pure bookkeeping, no tensors (vLLM's
// BlockSpaceManager / KVCacheManager). It owns numBlocks fixed-size blocks of blockSize token
// positions, a free list, reference counts, the per-sequence block tables, and the prefix cache:
// a map from the chain hash of a full block (FNV-1a over the parent block's hash and the block's
// token ids, as vLLM's hash_block_tokens) to the block holding those tokens' K/V.
//
// Blocks are in exactly one of three states: used (referenced by ≥1 block table), free, or
// cached (unreferenced but holding the K/V of a known full block of tokens; reused on a prefix hit,
// evicted least-recently-released first when the free list is empty). NumFree()+NumCached()+
// NumUsed() == NumBlocks() always, and nothing is ever allocated beyond NumBlocks().
//
// In-flight sharing: the full blocks of a sequence's known tokens are registered in the prefix
// cache when they are allocated, before their K/V is computed. A second sequence with the same
// prefix attaches to them (Admit) but must not read them before they are computed: Skip only
// advances over computed blocks, and Claim lets a sequence compute only blocks it owns. When the
// owner releases an uncomputed block that others still hold (abort, preemption), the block is
// orphaned and the first holder that reaches it claims it and computes it; no one waits forever.
//
// Partial blocks: the committed leading positions of a block are also indexed under its
// parent's chain hash and its first token, so a prompt that shares only part of a block (a
// repeated prompt whose last block is partial, a prompt that stops inside a cached block) gets
// those positions copied into a block of its own at Admit (copy-on-write; the copy is done by
// the storage through the function Paged installs). The last, partly filled block of a
// released sequence stays cached for that purpose, evictable like any cached block.
//
// Lookups verify each block's token ids and its parent block — the same block, not reused since
// the child was registered (a generation count) — so a hash collision never yields a wrong hit.
// Not safe for concurrent use: the engine goroutine owns it.
type Manager struct {
	blockSize int
	blocks    []block
	free      []int // stack of free block ids
	lruHead   int   // least recently released cached block (evicted first)
	lruTail   int
	nCached   int
	index     map[uint64]int
	children  map[uint64]int // childKey → newest of the blocks whose leading positions can be copied
	tables    map[int]*seqTable
	copyFn    func(src, dst, n int)
}

// NewManager returns a manager of numBlocks blocks of blockSize token positions each, all free.
func NewManager(numBlocks, blockSize int) (*Manager, error) {
	if numBlocks < 1 {
		return nil, fmt.Errorf("kvcache: %d blocks: need at least 1", numBlocks)
	}
	if blockSize < 1 {
		return nil, fmt.Errorf("kvcache: block size %d: need at least 1 token", blockSize)
	}
	m := &Manager{
		blockSize: blockSize,
		blocks:    make([]block, numBlocks),
		free:      make([]int, numBlocks),
		lruHead:   noBlock,
		lruTail:   noBlock,
		index:     make(map[uint64]int),
		children:  make(map[uint64]int),
		tables:    make(map[int]*seqTable),
	}
	for i := range m.blocks {
		m.blocks[i] = block{owner: noOwner, parent: noBlock, list: inFree, prev: noBlock, next: noBlock, sibPrev: noBlock, sibNext: noBlock}
		// Stack order: block 0 is handed out first.
		m.free[numBlocks-1-i] = i
	}
	return m, nil
}

// SetCopier installs the function that copies the K/V of positions 0 … n-1 of block src into
// block dst, called by Admit for a partial-block hit (Paged installs its own; without one the
// manager keeps the bookkeeping only, as for a scheduler test with no storage).
func (m *Manager) SetCopier(copyRows func(src, dst, n int)) { m.copyFn = copyRows }

// BlockSize is the number of token positions per block.
func (m *Manager) BlockSize() int { return m.blockSize }

// NumBlocks is the total number of blocks (the memory budget in blocks).
func (m *Manager) NumBlocks() int { return len(m.blocks) }

// NumFree is the number of free blocks holding nothing.
func (m *Manager) NumFree() int { return len(m.free) }

// NumCached is the number of unreferenced blocks kept as prefix-cache entries (evictable).
func (m *Manager) NumCached() int { return m.nCached }

// NumUsed is the number of blocks referenced by at least one block table.
func (m *Manager) NumUsed() int { return len(m.blocks) - len(m.free) - m.nCached }

// Available is the number of blocks an allocation may take: free plus evictable cached.
func (m *Manager) Available() int { return len(m.free) + m.nCached }

// BlocksFor returns the number of blocks that hold n token positions.
func (m *Manager) BlocksFor(n int) int { return (n + m.blockSize - 1) / m.blockSize }

// Has reports whether seq has a block table.
func (m *Manager) Has(seq int) bool { _, ok := m.tables[seq]; return ok }

// Table returns seq's block table: entry i is the block holding positions
// i·BlockSize … (i+1)·BlockSize-1. It is nil for an unknown sequence. The slice is the manager's
// own and is valid until the next call that changes seq's table; do not modify it.
func (m *Manager) Table(seq int) []int {
	if t := m.tables[seq]; t != nil {
		return t.blocks
	}
	return nil
}

// Ref returns the reference count of block id (the number of tables holding it).
func (m *Manager) Ref(id int) int { return m.blocks[id].ref }

// Computed reports whether block id's K/V has been fully written.
func (m *Manager) Computed(id int) bool { return m.blocks[id].computed }

// chainHash is FNV-1a (64-bit) over the parent's hash and the block's token ids, little-endian.
func chainHash(parent uint64, toks []int32) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	for i := 0; i < 8; i++ {
		h ^= parent >> (8 * i) & 0xff
		h *= prime
	}
	for _, t := range toks {
		u := uint32(t)
		for i := 0; i < 4; i++ {
			h ^= uint64(u>>(8*i)) & 0xff
			h *= prime
		}
	}
	return h
}

func equalTokens(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// lookup returns the blocks (in order) that hold the longest prefix of tokens made of full
// blocks lying entirely within tokens[:limit], computed or in flight.
func (m *Manager) lookup(tokens []int32, limit int, hits []int) []int {
	bs := m.blockSize
	var h uint64
	parent := noBlock
	for i := 0; (i+1)*bs <= limit; i++ {
		toks := tokens[i*bs : (i+1)*bs]
		h = chainHash(h, toks)
		id, ok := m.index[h]
		if !ok {
			break
		}
		b := &m.blocks[id]
		if !m.parentIs(b, parent) || !equalTokens(b.tokens, toks) {
			break // a collision or a stale chain: treat as a miss
		}
		hits = append(hits, id)
		parent = id
	}
	return hits
}

// parentIs reports whether b was registered after block parent (noBlock: as a first block)
// and parent has not been reused since, so b's K/V were computed after parent's tokens.
func (m *Manager) parentIs(b *block, parent int) bool {
	return b.parent == parent && (parent == noBlock || b.parentGn == m.blocks[parent].gen)
}

// setParent records parent (noBlock for a first block) as b's chain parent.
func (m *Manager) setParent(b *block, parent int) {
	b.parent, b.parentGn = parent, 0
	if parent != noBlock {
		b.parentGn = m.blocks[parent].gen
	}
}

// CachedPrefix returns how many leading tokens of tokens a new sequence would not compute
// (Admit's shared count): whole blocks found in the prefix cache, computed or in flight, plus
// the leading positions of one more block that can be copied; never the last token.
func (m *Manager) CachedPrefix(tokens []int32) int {
	if len(tokens) == 0 {
		return 0
	}
	var buf [64]int
	hits := m.lookup(tokens, len(tokens)-1, buf[:0])
	_, j := m.partialHit(tokens, hits, len(tokens)-1)
	return len(hits)*m.blockSize + j
}

// partialHit finds a block that can seed the block after the chain of hits: a child of the
// last hit (or a first block) whose committed leading positions hold the K/V of
// tokens[h·bs : h·bs+j], h = len(hits), with h·bs+j ≤ limit and j ≥ 1 as large as any
// candidate offers (the newest on a tie). It returns noBlock, 0 when there is none. The
// candidates are the newest maxCandidates blocks registered under the parent's chain hash and
// the first token (a popular prefix — every prompt's BOS — has one per sequence).
func (m *Manager) partialHit(tokens []int32, hits []int, limit int) (src, j int) {
	bs := m.blockSize
	start := len(hits) * bs
	if limit-start <= 0 {
		return noBlock, 0
	}
	rest := tokens[start:min(limit, start+bs)]
	var ph uint64
	parent := noBlock
	if len(hits) > 0 {
		parent = hits[len(hits)-1]
		ph = m.blocks[parent].hash
	}
	src = noBlock
	id, ok := m.children[chainHash(ph, rest[:1])]
	for seen := 0; ok && id != noBlock && seen < maxCandidates; id, seen = m.blocks[id].sibNext, seen+1 {
		b := &m.blocks[id]
		if !m.parentIs(b, parent) {
			continue // a stale entry (its parent block was reused) or a collision
		}
		have := b.tokens[:min(len(b.tokens), b.filled)]
		n := 0
		for n < len(rest) && n < len(have) && have[n] == rest[n] {
			n++
		}
		if n > j {
			src, j = id, n
		}
	}
	return src, j
}

// Admit gives seq a block table covering all of tokens (the sequence's known tokens: prompt,
// plus the generated ones when resuming a preempted sequence). The longest prefix of whole
// blocks lying within tokens[:len(tokens)-1] that the prefix cache holds — computed or still
// in flight — is shared (its blocks' reference counts go up); the rest are allocated, owned by
// seq, and their full blocks are registered in the prefix cache at once (in flight) so that
// later sequences can attach to them. Beyond the shared blocks, the leading positions of the
// next block are copied (copy-on-write: the source is never written by seq) from a block that
// holds them — a partly filled last block of an earlier or running sequence, or a full block
// whose tokens this prompt shares only in part — so a repeated prompt computes its last token
// alone (token-granular reuse, as SGLang's radix cache). The last token is never a hit, so that
// its logits are always computed. It returns the number of token positions seq does not
// compute (shared plus copied).
//
// Errors: seq already has a table; tokens is empty; ErrNoSpace (wrapped) when the blocks are not
// available. On error nothing changes.
func (m *Manager) Admit(seq int, tokens []int32) (shared int, err error) {
	if _, ok := m.tables[seq]; ok {
		return 0, fmt.Errorf("kvcache: admit sequence %d: it already has a block table", seq)
	}
	n := len(tokens)
	if n == 0 {
		return 0, fmt.Errorf("kvcache: admit sequence %d: no tokens", seq)
	}
	need := m.BlocksFor(n)
	hits := m.lookup(tokens, n-1, make([]int, 0, need))
	evictable := 0
	for _, id := range hits {
		if m.blocks[id].list == inCached {
			evictable++
		}
	}
	if newBlocks := need - len(hits); newBlocks > m.Available()-evictable {
		return 0, fmt.Errorf("%w: sequence %d needs %d new blocks, %d available", ErrNoSpace, seq, newBlocks, m.Available()-evictable)
	}
	src, j := m.partialHit(tokens, hits, n-1)
	t := &seqTable{blocks: make([]int, 0, need+1), hashes: make([]uint64, 0, need),
		canon: make([]int, 0, need), canonGn: make([]uint32, 0, need)}
	for i, id := range hits {
		m.ref(id)
		t.blocks = append(t.blocks, id)
		t.hashes = append(t.hashes, m.blocks[id].hash)
		m.setCanon(t, i, id)
	}
	m.tables[seq] = t
	for len(t.blocks) < need {
		t.blocks = append(t.blocks, m.alloc(seq))
	}
	m.hashFull(t, tokens, n)
	if j > 0 {
		// No K/V is written between here and the copy, so src still holds its positions even
		// if an allocation above evicted it (or handed it to seq as dst itself).
		dst := t.blocks[len(hits)]
		if m.copyFn != nil && dst != src {
			m.copyFn(src, dst, j)
		}
		m.fill(t, len(hits), j, tokens)
	}
	return len(hits)*m.blockSize + j, nil
}

// hashFull computes the chain hashes of t's full blocks within tokens[:n] not yet hashed and
// registers each block not already registered. When another block holds the same hash with the
// same tokens after the same parent, that block becomes this one's canonical equivalent and
// this one stays private; a stale or colliding holder gives the hash up to this block.
func (m *Manager) hashFull(t *seqTable, tokens []int32, n int) {
	bs := m.blockSize
	for i := len(t.hashes); (i+1)*bs <= n && i < len(t.blocks); i++ {
		var ph uint64
		if i > 0 {
			ph = t.hashes[i-1]
		}
		toks := tokens[i*bs : (i+1)*bs]
		h := chainHash(ph, toks)
		t.hashes = append(t.hashes, h)
		id := t.blocks[i]
		b := &m.blocks[id]
		if b.hashed {
			m.setCanon(t, i, id)
			continue
		}
		parent := m.parentOf(t, i)
		if old, dup := m.index[h]; dup {
			if ob := &m.blocks[old]; m.parentIs(ob, parent) && equalTokens(ob.tokens, toks) {
				m.setCanon(t, i, old)
				continue
			}
			// A stale entry (registered after a parent that has since been reused) or a
			// collision: no lookup along this chain can hit it, and left in place it would
			// shadow this block's hash for good. This block takes the hash; the old one stays
			// with whoever holds it, or is freed.
			m.unhash(old)
			if ob := &m.blocks[old]; ob.list == inCached {
				m.lruRemove(old)
				m.reset(old)
				ob.list = inFree
				m.free = append(m.free, old)
			}
		}
		b.hashed, b.hash = true, h
		m.setParent(b, parent)
		b.tokens = append(b.tokens[:0], toks...)
		m.index[h] = id
		m.setCanon(t, i, id)
	}
}

// Grow extends seq's block table to cover n token positions, allocating blocks owned by seq.
// Errors: unknown seq; ErrNoSpace (wrapped), in which case nothing changes.
func (m *Manager) Grow(seq, n int) error {
	t := m.tables[seq]
	if t == nil {
		return fmt.Errorf("kvcache: grow sequence %d: no block table", seq)
	}
	need := m.BlocksFor(n) - len(t.blocks)
	if need <= 0 {
		return nil
	}
	if need > m.Available() {
		return fmt.Errorf("%w: sequence %d needs %d new blocks, %d available", ErrNoSpace, seq, need, m.Available())
	}
	for ; need > 0; need-- {
		t.blocks = append(t.blocks, m.alloc(seq))
	}
	return nil
}

// Skip returns the position from which seq must compute, given that it has computed (or
// skipped) positions 0 … c-1: it advances c over whole blocks of seq's table that are already
// computed (by the sequence that shared them), then over the positions Admit copied into the
// next block, never beyond limit.
func (m *Manager) Skip(seq, c, limit int) int {
	t := m.tables[seq]
	if t == nil {
		return c
	}
	bs := m.blockSize
	for c%bs == 0 && c/bs < len(t.blocks) && c+bs <= limit && m.blocks[t.blocks[c/bs]].computed {
		c += bs
	}
	// A block of seq's own whose leading positions Admit copied in.
	if c%bs == 0 && c/bs < len(t.blocks) {
		if b := &m.blocks[t.blocks[c/bs]]; b.owner == seq && !b.computed && b.filled > 0 {
			c += max(0, min(b.filled, limit-c))
		}
	}
	return c
}

// Claim returns how many of the want positions c … c+want-1 seq may compute now. A sequence
// may write only blocks it owns; an orphaned in-flight block (its owner released it before
// computing it) is claimed by seq on the way. The count stops at the first block computed or
// owned by another sequence: 0 means seq must wait for that sequence to compute it.
// c must be the position Skip returned.
func (m *Manager) Claim(seq, c, want int) int {
	t := m.tables[seq]
	if t == nil || want <= 0 {
		return 0
	}
	bs := m.blockSize
	end := c + want
	for i := c / bs; i*bs < end; i++ {
		if i >= len(t.blocks) {
			return min(want, i*bs-c)
		}
		b := &m.blocks[t.blocks[i]]
		switch {
		case b.owner == seq && !b.computed:
		case b.owner == noOwner && !b.computed:
			b.owner = seq
		default:
			return max(0, i*bs-c)
		}
	}
	return want
}

// Commit records that seq has computed positions 0 … c-1 whose tokens are tokens[:c]: blocks
// seq owns that lie wholly below c become computed (readable by the sequences sharing them),
// full blocks not yet in the prefix cache (those filled by decoding) are registered, and the
// committed positions of seq's blocks are offered as copy sources for later prompts that share
// only part of a block.
func (m *Manager) Commit(seq int, tokens []int32, c int) {
	t := m.tables[seq]
	if t == nil {
		return
	}
	c = min(c, len(tokens))
	m.hashFull(t, tokens, c)
	bs := m.blockSize
	for i := 0; i < len(t.blocks) && i*bs < c; i++ {
		b := &m.blocks[t.blocks[i]]
		if b.computed || b.owner != seq {
			continue
		}
		m.fill(t, i, min(bs, c-i*bs), tokens)
	}
}

// fill records that the first f positions of block i of seq's table t hold the K/V of
// tokens[i·bs : i·bs+f] (all of them: the block is computed), and registers the block as a copy source under its parent's chain hash
// and its first token.
func (m *Manager) fill(t *seqTable, i, f int, tokens []int32) {
	bs := m.blockSize
	id := t.blocks[i]
	b := &m.blocks[id]
	b.filled = f
	if f == bs {
		b.computed = true // also a whole block copied at Admit: readable by those attached
	}
	var ph uint64
	parent := m.parentOf(t, i)
	if i > 0 {
		ph = t.hashes[i-1]
	}
	if !b.hashed {
		b.tokens = append(b.tokens[:0], tokens[i*bs:i*bs+f]...)
		m.setParent(b, parent)
	}
	key := chainHash(ph, tokens[i*bs:i*bs+1])
	if b.child && b.childKey == key {
		return
	}
	m.unchild(id)
	b.child, b.childKey = true, key
	b.sibPrev, b.sibNext = noBlock, noBlock
	if head, ok := m.children[key]; ok {
		b.sibNext = head
		m.blocks[head].sibPrev = id
	}
	m.children[key] = id
}

// Release drops seq's block table. Blocks no other table holds become cached (if computed and
// registered in the prefix cache) or free; the table's tail blocks are queued for eviction
// before its head, since a later request is likelier to share the head. Uncomputed blocks
// another sequence still holds are orphaned, to be claimed by the next holder that needs them.
// Releasing an unknown seq does nothing.
func (m *Manager) Release(seq int) {
	t := m.tables[seq]
	if t == nil {
		return
	}
	delete(m.tables, seq)
	for i := len(t.blocks) - 1; i >= 0; i-- {
		id := t.blocks[i]
		b := &m.blocks[id]
		b.ref--
		if b.ref > 0 {
			if b.owner == seq && !b.computed {
				b.owner = noOwner
			}
			continue
		}
		b.owner = noOwner
		if b.hashed && b.computed {
			m.lruPush(id)
			continue
		}
		m.unhash(id)
		if b.child && b.filled > 0 {
			m.lruPush(id) // a partial entry: kept only as a copy source
			continue
		}
		m.reset(id)
		b.list = inFree
		m.free = append(m.free, id)
	}
}

// unhash takes block id out of the prefix cache's full-block index.
func (m *Manager) unhash(id int) {
	b := &m.blocks[id]
	if !b.hashed {
		return
	}
	if m.index[b.hash] == id {
		delete(m.index, b.hash)
	}
	b.hashed = false
}

// unchild takes block id out of the copy-source index.
func (m *Manager) unchild(id int) {
	b := &m.blocks[id]
	if !b.child {
		return
	}
	if b.sibPrev != noBlock {
		m.blocks[b.sibPrev].sibNext = b.sibNext
	} else if b.sibNext != noBlock {
		m.children[b.childKey] = b.sibNext
	} else {
		delete(m.children, b.childKey)
	}
	if b.sibNext != noBlock {
		m.blocks[b.sibNext].sibPrev = b.sibPrev
	}
	b.sibPrev, b.sibNext = noBlock, noBlock
	b.child = false
}

// reset clears everything block id knows about its contents.
func (m *Manager) reset(id int) {
	m.unhash(id)
	m.unchild(id)
	b := &m.blocks[id]
	b.computed, b.filled = false, 0
	b.parent, b.parentGn = noBlock, 0
	b.tokens = b.tokens[:0]
	b.gen++
}

// ref adds a reference to block id, taking it out of the cached list if it was there.
func (m *Manager) ref(id int) {
	b := &m.blocks[id]
	if b.list == inCached {
		m.lruRemove(id)
	}
	b.list = inNone
	b.ref++
}

// alloc takes a free block, or else evicts the least recently released cached block, and gives
// it to seq to compute. The caller has checked Available.
func (m *Manager) alloc(seq int) int {
	var id int
	if n := len(m.free); n > 0 {
		id = m.free[n-1]
		m.free = m.free[:n-1]
	} else {
		id = m.lruHead
		m.lruRemove(id)
		m.reset(id)
	}
	b := &m.blocks[id]
	b.list = inNone
	b.ref = 1
	b.computed, b.filled = false, 0
	b.owner = seq
	return id
}

func (m *Manager) lruPush(id int) {
	b := &m.blocks[id]
	b.list = inCached
	b.prev, b.next = m.lruTail, noBlock
	if m.lruTail != noBlock {
		m.blocks[m.lruTail].next = id
	} else {
		m.lruHead = id
	}
	m.lruTail = id
	m.nCached++
}

func (m *Manager) lruRemove(id int) {
	b := &m.blocks[id]
	if b.prev != noBlock {
		m.blocks[b.prev].next = b.next
	} else {
		m.lruHead = b.next
	}
	if b.next != noBlock {
		m.blocks[b.next].prev = b.prev
	} else {
		m.lruTail = b.prev
	}
	b.prev, b.next = noBlock, noBlock
	b.list = inNone
	m.nCached--
}

// Check verifies the manager's invariants and returns the first violation found: every block is
// in exactly one state; free + cached + used = total; each reference count equals the number of
// tables holding the block; no table holds a block twice; cached blocks are computed and in the
// prefix cache, or partial copy sources; both indexes point at blocks that carry their keys;
// a computed block is filled; an uncomputed shared block's
// owner holds it (or it is orphaned). It is for tests and costs O(blocks + table entries).
func (m *Manager) Check() error {
	refs := make([]int, len(m.blocks))
	for seq, t := range m.tables {
		seen := make(map[int]bool, len(t.blocks))
		for _, id := range t.blocks {
			if id < 0 || id >= len(m.blocks) {
				return fmt.Errorf("kvcache: sequence %d holds block %d out of range", seq, id)
			}
			if seen[id] {
				return fmt.Errorf("kvcache: sequence %d holds block %d twice", seq, id)
			}
			seen[id] = true
			refs[id]++
		}
	}
	inFreeList := make([]bool, len(m.blocks))
	for _, id := range m.free {
		if inFreeList[id] {
			return fmt.Errorf("kvcache: block %d is on the free list twice", id)
		}
		inFreeList[id] = true
	}
	nc := 0
	for id, prev := m.lruHead, noBlock; id != noBlock; prev, id = id, m.blocks[id].next {
		if m.blocks[id].prev != prev {
			return fmt.Errorf("kvcache: cached list broken at block %d", id)
		}
		if m.blocks[id].list != inCached {
			return fmt.Errorf("kvcache: block %d on the cached list is marked %d", id, m.blocks[id].list)
		}
		if nc++; nc > len(m.blocks) {
			return errors.New("kvcache: cached list has a cycle")
		}
	}
	if nc != m.nCached {
		return fmt.Errorf("kvcache: cached list holds %d blocks, count says %d", nc, m.nCached)
	}
	used, nChild := 0, 0
	for id := range m.blocks {
		b := &m.blocks[id]
		if b.ref != refs[id] {
			return fmt.Errorf("kvcache: block %d has ref %d but %d tables hold it", id, b.ref, refs[id])
		}
		switch {
		case b.ref > 0:
			used++
			if b.list != inNone || inFreeList[id] {
				return fmt.Errorf("kvcache: block %d is referenced and also free or cached", id)
			}
			if !b.computed && b.owner != noOwner {
				t := m.tables[b.owner]
				if t == nil || !containsInt(t.blocks, id) {
					return fmt.Errorf("kvcache: in-flight block %d is owned by sequence %d which does not hold it", id, b.owner)
				}
			}
		case b.list == inCached:
			if !(b.computed && b.hashed) && !(b.child && b.filled > 0) {
				return fmt.Errorf("kvcache: cached block %d is neither a computed registered block nor a partial copy source", id)
			}
		case b.list == inFree:
			if !inFreeList[id] || b.hashed || b.child || b.filled != 0 {
				return fmt.Errorf("kvcache: free block %d is missing from the free list or still registered", id)
			}
		default:
			return fmt.Errorf("kvcache: block %d has ref 0 but is neither free nor cached", id)
		}
		if b.hashed && m.index[b.hash] != id {
			return fmt.Errorf("kvcache: block %d is marked registered but the prefix cache does not point at it", id)
		}
		if b.child {
			nChild++
		}
		if b.filled < 0 || b.filled > m.blockSize || b.computed && b.filled != m.blockSize {
			return fmt.Errorf("kvcache: block %d has %d filled positions (computed %v, block size %d)", id, b.filled, b.computed, m.blockSize)
		}
	}
	listed := 0
	for k, id := range m.children {
		for prev := noBlock; id != noBlock; prev, id = id, m.blocks[id].sibNext {
			if b := &m.blocks[id]; !b.child || b.childKey != k || b.sibPrev != prev {
				return fmt.Errorf("kvcache: copy-source list %#x is broken at block %d", k, id)
			}
			if listed++; listed > len(m.blocks) {
				return errors.New("kvcache: copy-source lists have a cycle")
			}
		}
	}
	if listed != nChild {
		return fmt.Errorf("kvcache: %d blocks are marked copy sources, the lists hold %d", nChild, listed)
	}
	for h, id := range m.index {
		if b := &m.blocks[id]; !b.hashed || b.hash != h {
			return fmt.Errorf("kvcache: prefix cache entry %#x points at block %d which does not carry it", h, id)
		}
	}
	if len(m.free)+nc+used != len(m.blocks) {
		return fmt.Errorf("kvcache: free %d + cached %d + used %d != total %d", len(m.free), nc, used, len(m.blocks))
	}
	return nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
