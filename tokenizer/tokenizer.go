// Package tokenizer turns text into token ids and back exactly as llama.cpp does for the
// vocabulary stored in a GGUF file (src/llama-vocab.cpp, src/unicode.cpp):
//
//   - SentencePiece ("llama" model): spaces become U+2581 "▁", a space is prefixed to text that
//     starts the input or follows a special token (tokenizer.ggml.add_space_prefix), symbols are
//     merged greedily by the vocabulary's scores, and pieces without a token fall back to the
//     <0xNN> byte tokens.
//   - Byte-level BPE ("gpt2" model): text is split into words by the pre-tokenizer that
//     tokenizer.ggml.pre names, each word's bytes are mapped through GPT-2's byte-to-unicode table
//     and merged by the ranks of tokenizer.ggml.merges.
//
// Special tokens (CONTROL, USER_DEFINED and UNKNOWN types) are cut out of the text before either
// algorithm runs. Ids are int32 like llama_token.
//
// Encoding costs O(n log n) in the text length n (a heap of candidate merges over a linked list
// of symbols, as llama.cpp) plus one substring search per special token that occurs in the text.
//
// Round trip, for valid UTF-8 s with addSpecial and parseSpecial false (FuzzRoundTrip):
// SentencePiece with the space prefix gives Decode(Encode(s)) == s with every "▁" (U+2581) read as
// a space; byte-level BPE gives pieces that concatenate to exactly s, so Decode(Encode(s)) == s
// except for the clean-up of spaces before punctuation that llama.cpp applies for some
// pre-tokenizers (GPT-2, Llama 3; not Qwen2).
package tokenizer

import (
	"fmt"
	"sort"
	"strings"
)

// Token attributes (llama.h enum llama_token_attr).
type attr uint16

const (
	attrUnknown     attr = 1 << 0
	attrUnused      attr = 1 << 1
	attrNormal      attr = 1 << 2
	attrControl     attr = 1 << 3
	attrUserDefined attr = 1 << 4
	attrByte        attr = 1 << 5
	attrLStrip      attr = 1 << 7
	attrRStrip      attr = 1 << 8
)

// Token types as stored in tokenizer.ggml.token_type (llama.h enum llama_token_type).
const (
	TypeUndefined   = 0
	TypeNormal      = 1
	TypeUnknown     = 2
	TypeControl     = 3
	TypeUserDefined = 4
	TypeUnused      = 5
	TypeByte        = 6
)

// NoToken is the id reported for a special token the vocabulary does not have (LLAMA_TOKEN_NULL).
const NoToken int32 = -1

type modelKind uint8

const (
	kindSPM modelKind = iota + 1
	kindBPE
)

// Tokenizer encodes and decodes text for one vocabulary. It is immutable after construction
// and safe for concurrent use.
type Tokenizer struct {
	kind   modelKind
	pre    preSpec
	tokens []string
	scores []float32
	attrs  []attr
	toID   *strTable // token text → id
	ranks  *strTable // BPE: "left right" (a merges line) → rank

	bos, eos, eot, eom, unk, pad, sep int32
	fimPre, fimSuf, fimMid            int32
	fimPad, fimRep, fimSep            int32

	addBOS, addEOS, addSpacePrefix bool
	cleanSpaces, ignoreMerges      bool

	eog      []int32 // sorted
	specials []int32 // CONTROL/USER_DEFINED/UNKNOWN ids, longest text first

	// token_to_piece with special rendering, for every id: piece(id) = pieceBuf[pieceOff[id]:pieceOff[id+1]].
	pieceBuf []byte
	pieceOff []uint32
}

// NVocab returns the number of tokens.
func (t *Tokenizer) NVocab() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id, or NoToken.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, or NoToken.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn id (tokenizer.ggml.eot_token_id, else a token such as <|eot_id|> or
// <|im_end|> found by its text), or NoToken.
func (t *Tokenizer) EOT() int32 { return t.eot }

// EOM returns the end-of-message id (<|eom_id|>), or NoToken.
func (t *Tokenizer) EOM() int32 { return t.eom }

// UNK returns the unknown-token id, or NoToken.
func (t *Tokenizer) UNK() int32 { return t.unk }

// PAD returns the padding id, or NoToken.
func (t *Tokenizer) PAD() int32 { return t.pad }

// AddBOS reports whether Encode with addSpecial prepends BOS (tokenizer.ggml.add_bos_token, or
// llama.cpp's default: true for SentencePiece and the Llama 3 pre-tokenizer).
func (t *Tokenizer) AddBOS() bool { return t.addBOS }

// AddEOS reports whether Encode with addSpecial appends EOS (tokenizer.ggml.add_eos_token, default false).
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation: EOS, EOT, EOM, the FIM pad/repo/file-separator tokens
// and tokens whose text llama.cpp treats as end-of-generation (<|im_end|>, <|eot_id|>,
// <|endoftext|>, <|end_of_text|>, <end_of_turn>, …).
func (t *Tokenizer) IsEOG(id int32) bool {
	i := sort.Search(len(t.eog), func(i int) bool { return t.eog[i] >= id })
	return i < len(t.eog) && t.eog[i] == id
}

// EOGs returns the end-of-generation ids in increasing order (a copy).
func (t *Tokenizer) EOGs() []int32 { return append([]int32(nil), t.eog...) }

// Piece returns the raw vocabulary string of id ("" if id is out of range).
func (t *Tokenizer) Piece(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// IsControl reports whether id is a CONTROL token (such as BOS, <|im_start|>).
func (t *Tokenizer) IsControl(id int32) bool {
	return id >= 0 && int(id) < len(t.attrs) && t.attrs[id]&attrControl != 0
}

// fragment is a piece of the input: raw text [start, end) or a special token.
type fragment struct {
	id         int32 // NoToken for raw text
	start, end int
}

// partition cuts special-token strings out of text, as llama.cpp's tokenizer_st_partition:
// special tokens are tried longest first, every occurrence in every remaining raw fragment is
// cut out. With parseSpecial false only USER_DEFINED tokens are cut (like Hugging Face's added
// tokens); CONTROL and UNKNOWN ones stay text.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{id: NoToken, start: 0, end: len(text)}}
	var next []fragment
	for _, id := range t.specials {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		if !strings.Contains(text, tok) {
			continue
		}
		next = next[:0]
		for _, fr := range frags {
			if fr.id != NoToken {
				next = append(next, fr)
				continue
			}
			s, e := fr.start, fr.end
			for s < e {
				i := strings.Index(text[s:e], tok)
				if i < 0 {
					break
				}
				m := s + i
				l := m
				if a&attrLStrip != 0 {
					for l > s && isCSpace(text[l-1]) {
						l--
					}
				}
				if l > s {
					next = append(next, fragment{id: NoToken, start: s, end: l})
				}
				next = append(next, fragment{id: id})
				s = m + len(tok)
				if a&attrRStrip != 0 {
					for s < e && isCSpace(text[s]) {
						s++
					}
				}
			}
			if s < e {
				next = append(next, fragment{id: NoToken, start: s, end: e})
			}
		}
		frags, next = next, frags
	}
	return frags
}

// isCSpace is C's isspace in the "C" locale, which llama.cpp uses for LSTRIP/RSTRIP.
func isCSpace(b byte) bool { return b == ' ' || b >= '\t' && b <= '\r' }

// Encode returns the token ids of text (llama_tokenize). With addSpecial the model's BOS and EOS
// are added as AddBOS and AddEOS say; with parseSpecial the text of CONTROL tokens (e.g.
// "<|im_start|>") becomes those tokens, otherwise it is tokenized as plain text. Invalid UTF-8 is
// accepted: SentencePiece falls back to byte tokens, BPE sees U+FFFD for each bad byte (as
// llama.cpp). The error is non-nil only when a special token the model requires is missing or a
// byte has no token to fall back to.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	out := make([]int32, 0, len(text)/3+2)
	var frags []fragment
	if text != "" {
		frags = t.partition(text, parseSpecial)
	}
	if addSpecial && t.addBOS {
		if t.bos == NoToken {
			return nil, fmt.Errorf("tokenizer: add_bos_token is set but the vocabulary has no BOS token")
		}
		out = append(out, t.bos)
	}
	var err error
	switch t.kind {
	case kindSPM:
		var sess spmSession
		prevSpecial := true // the first fragment gets the space prefix too
		for _, fr := range frags {
			if fr.id != NoToken {
				out = append(out, fr.id)
				prevSpecial = true
				continue
			}
			s := text[fr.start:fr.end]
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			if out, err = sess.tokenize(t, strings.ReplaceAll(s, " ", "\u2581"), out); err != nil {
				return nil, err
			}
			prevSpecial = false
		}
	case kindBPE:
		var sess bpeSession
		for _, fr := range frags {
			if fr.id != NoToken {
				out = append(out, fr.id)
				continue
			}
			out = sess.tokenize(t, text[fr.start:fr.end], out)
		}
	}
	if addSpecial && t.addEOS {
		if t.eos == NoToken {
			return nil, fmt.Errorf("tokenizer: add_eos_token is set but the vocabulary has no EOS token")
		}
		out = append(out, t.eos)
	}
	return out, nil
}
