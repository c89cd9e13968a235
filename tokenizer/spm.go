package tokenizer

import "fmt"

// symbol is one piece of the text being merged: bytes [start, start+n) of the word, linked to
// its neighbours. A symbol merged into its left neighbour has n = 0.
type symbol struct {
	start, n   int32
	prev, next int32
}

// spmBigram is a candidate merge of symbols left and right (adjacent when pushed), whose
// concatenation (size bytes) is a token with the given score.
type spmBigram struct {
	score       float32
	left, right int32
	size        int32
}

// spmBefore orders the work queue as llama.cpp's llm_bigram_spm::comparator: higher score
// first, then the leftmost.
func spmBefore(a, b spmBigram) bool {
	return a.score > b.score || a.score == b.score && a.left < b.left
}

// spmSession holds the scratch space of one SentencePiece tokenization
// (llama.cpp llm_tokenizer_spm_session).
type spmSession struct {
	syms []symbol
	heap []spmBigram
}

func (s *spmSession) push(b spmBigram) { s.heap = heapPush(s.heap, b, spmBefore) }

func (s *spmSession) pop() (top spmBigram) {
	s.heap, top = heapPop(s.heap, spmBefore)
	return top
}

// tryAdd queues the merge of symbols l and r if their concatenation is a token.
func (s *spmSession) tryAdd(t *Tokenizer, text string, l, r int32) {
	if l < 0 || r < 0 {
		return
	}
	a, b := s.syms[l], s.syms[r]
	id, ok := t.toID.get(text[a.start : a.start+a.n+b.n])
	if !ok {
		return
	}
	s.push(spmBigram{score: t.scores[id], left: l, right: r, size: a.n + b.n})
}

// tokenize appends the tokens of text (spaces already escaped to ▁) to out: start from UTF-8
// characters and repeatedly merge the adjacent pair whose concatenation is the best-scoring
// token; O(n log n) with the heap and linked list of llama.cpp's implementation.
func (s *spmSession) tokenize(t *Tokenizer, text string, out []int32) ([]int32, error) {
	s.syms, s.heap = s.syms[:0], s.heap[:0]
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		i := int32(len(s.syms))
		next := i + 1
		if off+n == len(text) {
			next = -1
		}
		s.syms = append(s.syms, symbol{start: int32(off), n: int32(n), prev: i - 1, next: next})
		off += n
	}
	for i := int32(1); i < int32(len(s.syms)); i++ {
		s.tryAdd(t, text, i-1, i)
	}
	for len(s.heap) > 0 {
		b := s.pop()
		l, r := &s.syms[b.left], &s.syms[b.right]
		// Skip merges made stale by an earlier merge of either side.
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			s.syms[r.next].prev = b.left
		}
		s.tryAdd(t, text, l.prev, b.left)
		s.tryAdd(t, text, b.left, l.next)
	}
	if len(s.syms) == 0 {
		return out, nil
	}
	for i := int32(0); i != -1; i = s.syms[i].next {
		sym := s.syms[i]
		piece := text[sym.start : sym.start+sym.n]
		if id, ok := t.toID.get(piece); ok {
			out = append(out, id)
			continue
		}
		// Only unmerged characters can miss the vocabulary: fall back to their bytes.
		for j := 0; j < len(piece); j++ {
			id, err := t.byteToken(piece[j])
			if err != nil {
				return nil, err
			}
			out = append(out, id)
		}
	}
	return out, nil
}

// byteToken returns the token of a single byte for SentencePiece byte fallback: "<0xNN>", else
// the byte itself as a one-byte token (llama_vocab::byte_to_token), else UNK.
func (t *Tokenizer) byteToken(b byte) (int32, error) {
	const hex = "0123456789ABCDEF"
	var buf = [6]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'}
	if id, ok := t.toID.getBytes(buf[:]); ok {
		return id, nil
	}
	one := [1]byte{b}
	if id, ok := t.toID.getBytes(one[:]); ok {
		return id, nil
	}
	if t.unk != NoToken {
		return t.unk, nil
	}
	return 0, fmt.Errorf("tokenizer: byte 0x%02X has no token (<0x%02X>) and the vocabulary has no UNK token", b, b)
}
