package tokenizer

import (
	"sort"
	"strings"
)

// A pre-tokenizer splits a fragment's code points into words before BPE merging. Each stage
// of a pipeline refines the segments of the previous one, as llama.cpp's unicode_regex_split
// applies its list of regexes one after another (src/unicode.cpp). The stages here are
// hand-written equivalents of those regexes (Go's regexp lacks the look-ahead in \s+(?!\S)).
type stage func(c []rune, f []uint8, ini, end int, out []int) []int

// preSpec is what a tokenizer.ggml.pre value selects in llama.cpp's llama_vocab::impl::load.
type preSpec struct {
	stages       []stage
	cleanSpaces  bool // detokenize removes the space before ?!., and in some contractions
	ignoreMerges bool // a word that is itself a token is emitted whole (llama 3)
	addBOS       bool // default of tokenizer.ggml.add_bos_token
	noBOS        bool // the default BOS id is cleared (chatglm)
}

var (
	preGPT2      = []stage{splitGPT2}
	preLlama3    = []stage{splitLlama3(3)}
	preQwen2     = []stage{splitLlama3(1)}
	preStarcoder = []stage{splitEachNumber, splitGPT2}
	preDefault   = []stage{splitPunctRuns, splitGPT2, splitNumberRuns, splitDigitTriples}
)

// preTypes maps tokenizer.ggml.pre values to their pre-tokenizer. Names that llama.cpp maps
// to the same regexes and flags share an entry (llama-vocab.cpp, llm_tokenizer_bpe and load).
var preTypes = func() map[string]preSpec {
	m := map[string]preSpec{}
	add := func(p preSpec, names ...string) {
		for _, n := range names {
			m[n] = p
		}
	}
	add(preSpec{stages: preDefault, cleanSpaces: true}, "default")
	add(preSpec{stages: preLlama3, cleanSpaces: true, ignoreMerges: true, addBOS: true},
		"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2")
	add(preSpec{stages: preLlama3, cleanSpaces: true}, "dbrx", "smaug-bpe")
	add(preSpec{stages: preLlama3, cleanSpaces: true, noBOS: true}, "glm4", "chatglm-bpe")
	add(preSpec{stages: preQwen2}, "qwen2", "deepseek-r1-qwen", "hunyuan", "solar-open", "grok-2")
	add(preSpec{stages: preQwen2, cleanSpaces: true}, "stablelm2", "megrez")
	add(preSpec{stages: preGPT2, cleanSpaces: true},
		"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
		"a.x-4.0", "mellum", "modern-bert", "mpt", "olmo", "jais", "exaone4")
	add(preSpec{stages: preGPT2}, "trillion", "granite-docling")
	add(preSpec{stages: preStarcoder, cleanSpaces: true}, "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2")
	add(preSpec{stages: preStarcoder}, "command-r", "smollm")
	return m
}()

func supportedPre() string {
	names := make([]string, 0, len(preTypes))
	for n := range preTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// preSplit runs the stages over c (with flags f) and returns the word lengths in code points.
func preSplit(stages []stage, c []rune, f []uint8, offs, tmp []int) []int {
	offs = append(offs[:0], len(c))
	for _, st := range stages {
		tmp = tmp[:0]
		start := 0
		for _, n := range offs {
			tmp = st(c, f, start, start+n, tmp)
			start += n
		}
		offs, tmp = tmp, offs
	}
	return offs
}

// segment gives bounded access to one segment [ini, end): outside it a code point reads as -1
// and its flags as 0, like llama.cpp's _get_cpt / _get_flags.
type segment struct {
	c        []rune
	f        []uint8
	ini, end int
	prev     int
	out      []int
}

func (s *segment) cpt(p int) rune {
	if p >= s.ini && p < s.end {
		return s.c[p]
	}
	return -1
}

func (s *segment) flags(p int) uint8 {
	if p >= s.ini && p < s.end {
		return s.f[p]
	}
	return 0
}

// add ends the current word at end and returns its length.
func (s *segment) add(end int) int {
	n := end - s.prev
	if n > 0 {
		s.out = append(s.out, n)
	}
	s.prev = end
	return n
}

// splitGPT2 is the GPT-2 regex 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (llama.cpp unicode_regex_split_custom_gpt2).
func splitGPT2(c []rune, f []uint8, ini, end int, out []int) []int {
	s := segment{c: c, f: f, ini: ini, end: end, prev: ini, out: out}
	for pos := ini; pos < end; {
		cp, fl := c[pos], f[pos]
		if cp == '\'' && pos+1 < end {
			nx := c[pos+1]
			if nx == 's' || nx == 't' || nx == 'm' || nx == 'd' {
				pos += s.add(pos + 2)
				continue
			}
			if pos+2 < end {
				nn := c[pos+2]
				if nx == 'r' && nn == 'e' || nx == 'v' && nn == 'e' || nx == 'l' && nn == 'l' {
					pos += s.add(pos + 3)
					continue
				}
			}
		}
		f2 := fl
		if cp == ' ' {
			f2 = s.flags(pos + 1)
		}
		if f2&cpLetter != 0 { // ' ?\p{L}+'
			if cp == ' ' {
				pos++
			}
			for f2&cpLetter != 0 {
				pos++
				f2 = s.flags(pos)
			}
			s.add(pos)
			continue
		}
		if f2&cpNumber != 0 { // ' ?\p{N}+'
			if cp == ' ' {
				pos++
			}
			for f2&cpNumber != 0 {
				pos++
				f2 = s.flags(pos)
			}
			s.add(pos)
			continue
		}
		if f2&(cpSpace|cpLetter|cpNumber) == 0 && f2 != 0 { // ' ?[^\s\p{L}\p{N}]+'
			if cp == ' ' {
				pos++
			}
			for f2&(cpSpace|cpLetter|cpNumber) == 0 && f2 != 0 {
				pos++
				f2 = s.flags(pos)
			}
			s.add(pos)
			continue
		}
		n := 0
		for s.flags(pos+n)&cpSpace != 0 {
			n++
		}
		if n > 1 && s.cpt(pos+n) != -1 { // '\s+(?!\S)': leave the last space to the next word
			pos += n - 1
			s.add(pos)
			continue
		}
		if n > 0 { // '\s+'
			pos += n
			s.add(pos)
			continue
		}
		pos++
		s.add(pos)
	}
	return s.out
}

// splitLlama3 is the Llama 3 regex (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,digits}|
//
//	?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ (llama.cpp unicode_regex_split_custom_llama3 for
//
// digits = 3). With digits = 1 it is Qwen2's regex, which llama.cpp runs through std::regex.
func splitLlama3(digits int) stage {
	return func(c []rune, f []uint8, ini, end int, out []int) []int {
		s := segment{c: c, f: f, ini: ini, end: end, prev: ini, out: out}
		lower := func(r rune) rune {
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return r
		}
		for pos := ini; pos < end; {
			cp, fl := c[pos], f[pos]
			if cp == '\'' && pos+1 < end {
				nx := lower(c[pos+1])
				if nx == 's' || nx == 't' || nx == 'm' || nx == 'd' {
					pos += s.add(pos + 2)
					continue
				}
				if pos+2 < end {
					nn := lower(c[pos+2])
					if nx == 'r' && nn == 'e' || nx == 'v' && nn == 'e' || nx == 'l' && nn == 'l' {
						pos += s.add(pos + 3)
						continue
					}
				}
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if !(cp == '\r' || cp == '\n' || fl&cpNumber != 0) {
				if fl&cpLetter != 0 || s.flags(pos+1)&cpLetter != 0 {
					pos++
					for s.flags(pos)&cpLetter != 0 {
						pos++
					}
					s.add(pos)
					continue
				}
			}
			if fl&cpNumber != 0 { // \p{N}{1,digits}
				start := pos
				for s.flags(pos)&cpNumber != 0 {
					pos++
					if pos-start >= digits {
						s.add(pos)
						start = pos
					}
				}
				s.add(pos)
				continue
			}
			//  ?[^\s\p{L}\p{N}]+[\r\n]*  (llama.cpp tests fl, not f2, for "in range" here)
			f2 := fl
			if cp == ' ' {
				f2 = s.flags(pos + 1)
			}
			if f2&(cpSpace|cpLetter|cpNumber) == 0 && fl != 0 {
				if cp == ' ' {
					pos++
				}
				for f2&(cpSpace|cpLetter|cpNumber) == 0 && f2 != 0 {
					pos++
					f2 = s.flags(pos)
				}
				for c2 := s.cpt(pos); c2 == '\r' || c2 == '\n'; c2 = s.cpt(pos) {
					pos++
				}
				s.add(pos)
				continue
			}
			n, lastRN := 0, 0
			for s.flags(pos+n)&cpSpace != 0 {
				if c2 := s.cpt(pos + n); c2 == '\r' || c2 == '\n' {
					lastRN = pos + n + 1
				}
				n++
			}
			if lastRN > 0 { // \s*[\r\n]+
				pos = lastRN
				s.add(pos)
				continue
			}
			if n > 1 && s.cpt(pos+n) != -1 { // \s+(?!\S)
				pos += n - 1
				s.add(pos)
				continue
			}
			if n > 0 { // \s+
				pos += n
				s.add(pos)
				continue
			}
			pos++
			s.add(pos)
		}
		return s.out
	}
}

// splitRuns splits [ini, end) into maximal runs of code points that match and the stretches
// between them: what std::regex_iterator over "[class]+" yields in llama.cpp's
// unicode_regex_split_stl (unmatched text between matches is kept as words).
func splitRuns(c []rune, f []uint8, ini, end int, out []int, match func(r rune, fl uint8) bool, single bool) []int {
	start := ini
	for pos := ini; pos < end; {
		if !match(c[pos], f[pos]) {
			pos++
			continue
		}
		if pos > start {
			out = append(out, pos-start)
		}
		m := pos
		pos++
		if !single {
			for pos < end && match(c[pos], f[pos]) {
				pos++
			}
		}
		out = append(out, pos-m)
		start = pos
	}
	if end > start {
		out = append(out, end-start)
	}
	return out
}

// splitEachNumber is the regex \p{N}: every number code point is a word of its own.
func splitEachNumber(c []rune, f []uint8, ini, end int, out []int) []int {
	return splitRuns(c, f, ini, end, out, func(_ rune, fl uint8) bool { return fl&cpNumber != 0 }, true)
}

// splitNumberRuns is the regex \p{N}+.
func splitNumberRuns(c []rune, f []uint8, ini, end int, out []int) []int {
	return splitRuns(c, f, ini, end, out, func(_ rune, fl uint8) bool { return fl&cpNumber != 0 }, false)
}

// splitPunctRuns is the regex [\p{P}\$\+<=>\^~\|]+ (llama.cpp's "default" pre-tokenizer).
func splitPunctRuns(c []rune, f []uint8, ini, end int, out []int) []int {
	return splitRuns(c, f, ini, end, out, func(r rune, fl uint8) bool {
		return fl&cpPunct != 0 && fl&cpSpace == 0 || strings.ContainsRune("$+<=>^~|", r)
	}, false)
}

// splitDigitTriples is the regex [0-9][0-9][0-9]: successive leftmost triples of ASCII digits.
func splitDigitTriples(c []rune, _ []uint8, ini, end int, out []int) []int {
	digit := func(p int) bool { return p < end && c[p] >= '0' && c[p] <= '9' }
	start := ini
	for pos := ini; pos < end; {
		if !(digit(pos) && digit(pos+1) && digit(pos+2)) {
			pos++
			continue
		}
		if pos > start {
			out = append(out, pos-start)
		}
		out = append(out, 3)
		pos += 3
		start = pos
	}
	if end > start {
		out = append(out, end-start)
	}
	return out
}
