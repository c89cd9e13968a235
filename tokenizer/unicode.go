package tokenizer

import "unicode"

// Code point classes used by the pre-tokenizers. They follow llama.cpp's unicode-data.cpp,
// which gen-unicode-data.py derives from Python's regex module: \p{N}, \p{L}, \p{P}, \p{S},
// \p{M} are the Unicode general categories and \s is the White_Space property (25 code points).
// Go's unicode tables give the same sets (up to the Unicode version of each).
const (
	cpAny    uint8 = 1 << iota // every code point inside the current segment (llama.cpp's flags.as_uint() != 0)
	cpNumber                   // \p{N}
	cpLetter                   // \p{L}
	cpSpace                    // \s (White_Space)
	cpPunct                    // \p{P}
	cpSymbol                   // \p{S}
	cpMark                     // \p{M}
)

var asciiFlags = func() (t [128]uint8) {
	for r := range rune(128) {
		t[r] = slowFlags(r)
	}
	return t
}()

func slowFlags(r rune) uint8 {
	f := cpAny
	switch {
	case unicode.Is(unicode.N, r):
		f |= cpNumber
	case unicode.Is(unicode.L, r):
		f |= cpLetter
	case unicode.Is(unicode.P, r):
		f |= cpPunct
	case unicode.Is(unicode.S, r):
		f |= cpSymbol
	case unicode.Is(unicode.M, r):
		f |= cpMark
	}
	if unicode.Is(unicode.White_Space, r) {
		f |= cpSpace
	}
	return f
}

// cpFlags returns the class bits of code point r (r may be a surrogate or above U+10FFFF, as
// llama.cpp's decoder produces for some invalid input; those are only cpAny).
func cpFlags(r rune) uint8 {
	if r >= 0 && r < 128 {
		return asciiFlags[r]
	}
	if r > unicode.MaxRune {
		return cpAny
	}
	return slowFlags(r)
}

// utf8Len is llama.cpp's unicode_len_utf8: the sequence length implied by a lead byte alone
// (1 for ASCII and for stray continuation bytes).
func utf8Len(b byte) int {
	return [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}[b>>4]
}

// decodeCpts converts s to code points as llama.cpp's unicode_cpts_from_utf8 does: a lead byte
// followed by the right number of continuation bytes is decoded without checking for overlong
// forms or surrogates; anything else consumes one byte and yields U+FFFD. Code points above
// U+10FFFF (which llama.cpp would fail to re-encode and throw on) also become U+FFFD.
func decodeCpts(s string, out []rune) []rune {
	for i := 0; i < len(s); {
		c := s[i]
		cont := func(k int) bool { return i+k < len(s) && s[i+k]&0xC0 == 0x80 }
		var r rune
		n := 1
		switch {
		case c < 0x80:
			r = rune(c)
		case c&0x40 == 0:
			r = unicode.ReplacementChar
		case c&0x20 == 0:
			if cont(1) {
				r, n = rune(c&0x1F)<<6|rune(s[i+1]&0x3F), 2
			} else {
				r = unicode.ReplacementChar
			}
		case c&0x10 == 0:
			if cont(1) && cont(2) {
				r, n = rune(c&0x0F)<<12|rune(s[i+1]&0x3F)<<6|rune(s[i+2]&0x3F), 3
			} else {
				r = unicode.ReplacementChar
			}
		case c&0x08 == 0:
			if cont(1) && cont(2) && cont(3) {
				r, n = rune(c&0x07)<<18|rune(s[i+1]&0x3F)<<12|rune(s[i+2]&0x3F)<<6|rune(s[i+3]&0x3F), 4
				if r > unicode.MaxRune {
					r = unicode.ReplacementChar
				}
			} else {
				r = unicode.ReplacementChar
			}
		default:
			r = unicode.ReplacementChar
		}
		out = append(out, r)
		i += n
	}
	return out
}

// appendCpt is llama.cpp's unicode_cpt_to_utf8: plain UTF-8 encoding that, unlike
// utf8.AppendRune, keeps surrogate code points (so decodeCpts/appendCpt round-trip them).
func appendCpt(b []byte, r rune) []byte {
	switch {
	case r < 0x80:
		return append(b, byte(r))
	case r < 0x800:
		return append(b, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
	case r < 0x10000:
		return append(b, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
	}
	return append(b, 0xF0|byte(r>>18), 0x80|byte(r>>12&0x3F), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
}

// GPT-2's byte-to-unicode table (openai/gpt-2 encoder.py bytes_to_unicode, llama.cpp
// unicode_byte_to_utf8_map): printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 and up in byte order, so every byte string becomes a printable string.
var (
	byteToUnicode [256]string
	unicodeToByte [256 + 68]int16 // code point → byte, -1 where none
)

func init() {
	for i := range unicodeToByte {
		unicodeToByte[i] = -1
	}
	n := 0
	for b := range 256 {
		r := rune(b)
		if !(b >= 0x21 && b <= 0x7E || b >= 0xA1 && b <= 0xAC || b >= 0xAE && b <= 0xFF) {
			r = rune(256 + n)
			n++
		}
		byteToUnicode[b] = string(r)
		unicodeToByte[r] = int16(b)
	}
}
