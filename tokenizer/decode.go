package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// appendRawPiece appends the text of token id with special tokens rendered, as llama.cpp's
// llama_vocab::impl::token_to_piece without its cache: CONTROL, UNKNOWN and USER_DEFINED tokens
// are their text; NORMAL tokens have ▁ turned back into spaces (SentencePiece) or their GPT-2
// byte encoding undone (BPE); BYTE tokens "<0xNN>" are that byte; other types are empty.
func (t *Tokenizer) appendRawPiece(b []byte, id int32) []byte {
	text, a := t.tokens[id], t.attrs[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return append(b, text...)
	case a&attrNormal != 0:
		if t.kind == kindSPM {
			return append(b, strings.ReplaceAll(text, "\u2581", " ")...)
		}
		return appendDecodedBPE(b, text)
	case a&attrByte != 0:
		// token_to_byte: strtol of the two characters after "<0x" (0 if they are not hex).
		if len(text) >= 5 {
			return append(b, byte(hexVal(text[3])<<4|hexVal(text[4])))
		}
		return append(b, 0)
	}
	return b
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return 0
}

// appendDecodedBPE undoes the GPT-2 byte encoding of a token text (llama.cpp llama_decode_text).
// A character outside the 256-entry table becomes "[UNK_BYTE_0x<its UTF-8 in hex><text>]", as
// in llama.cpp.
func appendDecodedBPE(b []byte, text string) []byte {
	var cpts [64]rune
	for _, r := range decodeCpts(text, cpts[:0]) {
		if r >= 0 && int(r) < len(unicodeToByte) && unicodeToByte[r] >= 0 {
			b = append(b, byte(unicodeToByte[r]))
			continue
		}
		b = append(b, "[UNK_BYTE_0x"...)
		var u [4]byte
		for _, c := range appendCpt(u[:0], r) {
			const hex = "0123456789abcdef"
			b = append(b, hex[c>>4], hex[c&15])
		}
		b = append(b, text...)
		b = append(b, ']')
	}
	return b
}

// piece returns the cached piece of id with special rendering (shared, do not modify).
func (t *Tokenizer) piece(id int32, renderSpecial bool) []byte {
	if id < 0 || int(id) >= len(t.tokens) {
		return nil
	}
	if !renderSpecial && t.attrs[id]&(attrUnknown|attrControl) != 0 {
		return nil
	}
	return t.pieceBuf[t.pieceOff[id]:t.pieceOff[id+1]]
}

// TokenToPiece returns the bytes token id stands for (llama_token_to_piece with lstrip 0).
// CONTROL and UNKNOWN tokens (BOS, <|im_end|>, …) are empty unless renderSpecial. A piece can be
// part of a UTF-8 character (byte tokens, BPE tokens that split a character). Out-of-range ids
// give nil.
func (t *Tokenizer) TokenToPiece(id int32, renderSpecial bool) []byte {
	p := t.piece(id, renderSpecial)
	if p == nil {
		return nil
	}
	return append([]byte(nil), p...)
}

// Decode returns the text of ids as llama.cpp's llama_detokenize(remove_special=false,
// unparse_special=renderSpecial): the concatenated pieces, with one leading space removed from
// the first piece when the vocabulary adds a space prefix (SentencePiece), and, for the
// vocabularies where llama.cpp sets clean_spaces (GPT-2, Llama 3 BPE, …), the space before
// "?", "!", ".", "," removed, " ' " turned into "'", and the space before "'s", "'m", "'re",
// "'ve" removed. Invalid UTF-8 (from byte tokens) is returned as is; out-of-range ids add nothing.
func (t *Tokenizer) Decode(ids []int32, renderSpecial bool) string {
	var b []byte
	for i, id := range ids {
		p := t.piece(id, renderSpecial)
		if i == 0 && t.addSpacePrefix && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		b = append(b, p...)
	}
	if t.cleanSpaces {
		b = cleanSpaces(b)
	}
	return string(b)
}

// cleanSpaces is the clean_spaces post-processing of llama_vocab::impl::detokenize, three passes
// over the bytes, done in place.
func cleanSpaces(text []byte) []byte {
	// First pass: " ?", " !", " .", " ," lose the space.
	total := len(text)
	n := min(total, 1)
	for i := 1; i < total; i++ {
		x := text[i]
		if text[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			n--
		}
		text[n] = x
		n++
	}
	// Second pass: a single apostrophe between spaces, " ' ", becomes "'".
	total = n
	n = min(total, 1)
	for i := 1; i < total; i++ {
		x := text[i]
		if x == '\'' && i+1 < total && text[i-1] == ' ' && text[i+1] == ' ' {
			n--
			i++
			text[i] = 0 // as llama.cpp: the next space is overwritten (and seen as such next step) and skipped
		}
		text[n] = x
		n++
	}
	// Third pass: " 's", " 'm", " 're", " 've" lose the space (" 't", " 'd", " 'll" keep it).
	total = n
	n = min(total, 1)
	for i := 1; i < total; i++ {
		x := text[i]
		if text[i-1] == ' ' && x == '\'' && i+1 < total {
			x1 := text[i+1]
			if x1 == 's' || x1 == 'm' {
				n--
			} else if x1 != 't' && x1 != 'd' && i+2 < total {
				x2 := text[i+2]
				if x1 == 'r' && x2 == 'e' || x1 == 'v' && x2 == 'e' {
					n--
				}
			}
		}
		text[n] = x
		n++
	}
	return text[:n]
}

// Decoder turns a stream of token ids into text, emitting only whole UTF-8 characters: bytes of
// a character split across tokens are held back until it is complete. Its output is the
// concatenation of TokenToPiece(id, renderSpecial) — what llama-server streams — without
// Decode's first-space removal and space clean-up. Bytes that cannot be part of valid UTF-8 are
// emitted as U+FFFD, one per byte, so the output is valid UTF-8 and does not depend on how the
// ids are grouped into Add calls. A Decoder is not safe for concurrent use.
type Decoder struct {
	t       *Tokenizer
	special bool
	pending []byte
}

// NewDecoder returns a streaming decoder; renderSpecial as for TokenToPiece.
func (t *Tokenizer) NewDecoder(renderSpecial bool) *Decoder {
	return &Decoder{t: t, special: renderSpecial}
}

// Add appends token id and returns the text that is now complete (possibly "").
func (d *Decoder) Add(id int32) string {
	d.pending = append(d.pending, d.t.piece(id, d.special)...)
	// Hold back a trailing incomplete (but so far valid) character: at most 3 bytes.
	cut := len(d.pending)
	for k := 1; k <= 3 && k <= len(d.pending); k++ {
		i := len(d.pending) - k
		if !utf8.RuneStart(d.pending[i]) {
			continue
		}
		if !utf8.FullRune(d.pending[i:]) {
			cut = i
		}
		break
	}
	out := validString(d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return out
}

// Flush returns what is held back (an incomplete character becomes U+FFFD per byte) and resets
// the decoder.
func (d *Decoder) Flush() string {
	out := validString(d.pending)
	d.pending = d.pending[:0]
	return out
}

// validString converts b to a string with each byte of an invalid sequence replaced by U+FFFD.
func validString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.Write(b[:n])
		}
		b = b[n:]
	}
	return sb.String()
}
