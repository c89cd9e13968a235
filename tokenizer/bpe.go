package tokenizer

// bpeBigram is a candidate merge of adjacent symbols left and right (size bytes together) with
// the rank of their pair in tokenizer.ggml.merges.
type bpeBigram struct {
	rank        int32
	left, right int32
	size        int32
}

// bpeBefore orders the work queue as llama.cpp's llm_bigram_bpe::comparator: lowest rank
// first, then the leftmost.
func bpeBefore(a, b bpeBigram) bool {
	return a.rank < b.rank || a.rank == b.rank && a.left < b.left
}

// bpeSession holds the scratch space of one BPE tokenization (llama.cpp llm_tokenizer_bpe_session).
type bpeSession struct {
	cpts  []rune
	flags []uint8
	offs  []int
	tmp   []int
	raw   []byte
	word  []byte
	key   []byte
	syms  []symbol
	heap  []bpeBigram
}

func (s *bpeSession) push(b bpeBigram) { s.heap = heapPush(s.heap, b, bpeBefore) }

func (s *bpeSession) pop() (top bpeBigram) {
	s.heap, top = heapPop(s.heap, bpeBefore)
	return top
}

// tryAdd queues the merge of symbols l and r if the pair is in the merges list.
func (s *bpeSession) tryAdd(t *Tokenizer, l, r int32) {
	if l < 0 || r < 0 {
		return
	}
	a, b := s.syms[l], s.syms[r]
	s.key = append(s.key[:0], s.word[a.start:a.start+a.n]...)
	s.key = append(s.key, ' ')
	s.key = append(s.key, s.word[b.start:b.start+b.n]...)
	rank, ok := t.ranks.getBytes(s.key)
	if !ok {
		return
	}
	s.push(bpeBigram{rank: rank, left: l, right: r, size: a.n + b.n})
}

// tokenize appends the tokens of one raw-text fragment to out: pre-tokenize into words,
// byte-encode each word, merge by rank.
func (s *bpeSession) tokenize(t *Tokenizer, text string, out []int32) []int32 {
	s.cpts = decodeCpts(text, s.cpts[:0])
	s.flags = s.flags[:0]
	for _, r := range s.cpts {
		s.flags = append(s.flags, cpFlags(r))
	}
	s.offs = preSplit(t.pre.stages, s.cpts, s.flags, s.offs, s.tmp)
	start := 0
	for _, n := range s.offs {
		s.raw = s.raw[:0]
		for _, r := range s.cpts[start : start+n] {
			s.raw = appendCpt(s.raw, r)
		}
		start += n
		s.word = s.word[:0]
		for _, b := range s.raw {
			s.word = append(s.word, byteToUnicode[b]...)
		}
		out = s.mergeWord(t, out)
	}
	return out
}

// mergeWord appends the tokens of the byte-encoded word s.word.
func (s *bpeSession) mergeWord(t *Tokenizer, out []int32) []int32 {
	w := s.word
	if t.ignoreMerges {
		if id, ok := t.toID.getBytes(w); ok {
			return append(out, id)
		}
	}
	s.syms, s.heap = s.syms[:0], s.heap[:0]
	for off := 0; off < len(w); {
		n := min(utf8Len(w[off]), len(w)-off)
		i := int32(len(s.syms))
		next := i + 1
		if off+n == len(w) {
			next = -1
		}
		s.syms = append(s.syms, symbol{start: int32(off), n: int32(n), prev: i - 1, next: next})
		off += n
	}
	for i := int32(1); i < int32(len(s.syms)); i++ {
		s.tryAdd(t, i-1, i)
	}
	for len(s.heap) > 0 {
		b := s.pop()
		l, r := &s.syms[b.left], &s.syms[b.right]
		// A stale pair: one side has merged since it was queued (llama.cpp compares the texts;
		// for adjacent symbols that is the same as comparing the total size).
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = b.left
		}
		s.tryAdd(t, l.prev, b.left)
		s.tryAdd(t, b.left, l.next)
	}
	if len(s.syms) == 0 {
		return out
	}
	for i := int32(0); i != -1; i = s.syms[i].next {
		sym := s.syms[i]
		piece := w[sym.start : sym.start+sym.n]
		if id, ok := t.toID.getBytes(piece); ok {
			out = append(out, id)
			continue
		}
		// No token for the merged piece: emit its bytes that are tokens, drop the rest (llama.cpp).
		for j := range piece {
			if id, ok := t.toID.getBytes(piece[j : j+1]); ok {
				out = append(out, id)
			}
		}
	}
	return out
}
