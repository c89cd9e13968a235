package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecodeGoldens checks llama.cpp's detokenization of id sequences the encode goldens do
// not produce: BOS/EOS around text (the first-space rule), special tokens with and without
// rendering, Qwen's FIM tokens (made CONTROL by llama.cpp) and USER_DEFINED <think>.
func TestDecodeGoldens(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "detokenize-extra.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		var c struct {
			Vocab         string  `json:"vocab"`
			IDs           []int32 `json:"ids"`
			RenderSpecial bool    `json:"render_special"`
			Decoded       string  `json:"decoded"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		if got := loadVocab(t, c.Vocab).Decode(c.IDs, c.RenderSpecial); got != c.Decoded {
			t.Errorf("%s Decode(%v, %v) = %q, want %q", c.Vocab, c.IDs, c.RenderSpecial, got, c.Decoded)
		}
	}
	if n == 0 {
		t.Fatal("no cases")
	}
}

// TestSpecialTokens checks the special ids, flags and end-of-generation sets llama.cpp's loader
// derives for the four vocabularies (defaults, keys, and detection by token text).
func TestSpecialTokens(t *testing.T) {
	for _, c := range []struct {
		vocab         string
		n             int
		bos, eos, eot int32
		unk           int32
		addBOS        bool
		eog           []int32
	}{
		{"ggml-vocab-llama-spm.gguf", 32000, 1, 2, NoToken, 0, true, []int32{2}},
		{"ggml-vocab-gpt-2.gguf", 50257, 50256, 50256, 50256, NoToken, false, []int32{50256}},
		// Llama 3: <|eot_id|> found by text; <|end_of_text|> is EOS.
		{"ggml-vocab-llama-bpe.gguf", 128256, 128000, 128001, 128009, NoToken, true, []int32{128001, 128009}},
		// Qwen: no BOS key, so llama.cpp's BPE default id 11 stays; EOG adds <|endoftext|>, the
		// FIM pad / repo_name / file_sep tokens and the (NORMAL-typed) "</s>" at 128247.
		{"ggml-vocab-qwen2.gguf", 151669, 11, 151645, 151645, NoToken, false, []int32{128247, 151643, 151645, 151662, 151663, 151664}},
	} {
		tok := loadVocab(t, c.vocab)
		if tok.NVocab() != c.n || tok.BOS() != c.bos || tok.EOS() != c.eos || tok.EOT() != c.eot || tok.UNK() != c.unk ||
			tok.AddBOS() != c.addBOS || tok.AddEOS() || !slices.Equal(tok.EOGs(), c.eog) {
			t.Errorf("%s: n %d bos %d eos %d eot %d unk %d addBOS %v addEOS %v eog %v; want %d %d %d %d %d %v false %v",
				c.vocab, tok.NVocab(), tok.BOS(), tok.EOS(), tok.EOT(), tok.UNK(), tok.AddBOS(), tok.AddEOS(), tok.EOGs(),
				c.n, c.bos, c.eos, c.eot, c.unk, c.addBOS, c.eog)
		}
		for _, id := range c.eog {
			if !tok.IsEOG(id) {
				t.Errorf("%s: IsEOG(%d) false", c.vocab, id)
			}
		}
		if tok.IsEOG(c.eog[0]-1) || tok.IsEOG(NoToken) || tok.IsEOG(int32(c.n)) {
			t.Errorf("%s: IsEOG true for a non-EOG id", c.vocab)
		}
	}
}

func TestAddSpecial(t *testing.T) {
	for _, c := range []struct {
		vocab string
		want  []int32
	}{
		{"ggml-vocab-llama-spm.gguf", []int32{1, 15043, 3186}},
		{"ggml-vocab-llama-bpe.gguf", []int32{128000, 9906, 1917}},
		{"ggml-vocab-qwen2.gguf", []int32{9707, 1879}},
	} {
		tok := loadVocab(t, c.vocab)
		got, err := tok.Encode("Hello world", true, false)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: Encode(add_special) = %v, %v; want %v", c.vocab, got, err, c.want)
		}
		plain, _ := tok.Encode("Hello world", false, false)
		if !slices.Equal(plain, got[len(got)-len(plain):]) || len(got)-len(plain) != map[bool]int{true: 1, false: 0}[tok.AddBOS()] {
			t.Errorf("%s: add_special adds %v to %v", c.vocab, got, plain)
		}
	}
	// SentencePiece: the empty text gives only BOS, as tokenizer.encode('', add_special_tokens=True).
	if got, _ := loadVocab(t, "ggml-vocab-llama-spm.gguf").Encode("", true, false); !slices.Equal(got, []int32{1}) {
		t.Errorf("spm Encode(\"\", add_special) = %v, want [1]", got)
	}
}

func TestTokenToPiece(t *testing.T) {
	spm := loadVocab(t, "ggml-vocab-llama-spm.gguf")
	bpe := loadVocab(t, "ggml-vocab-llama-bpe.gguf")
	for _, c := range []struct {
		tok     *Tokenizer
		id      int32
		special bool
		want    string
	}{
		{spm, 15043, false, " Hello"}, // "▁Hello"
		{spm, 13, false, "\n"},        // <0x0A>
		{spm, 3, false, "\x00"},       // <0x00>
		{spm, 1, false, ""},           // <s> is CONTROL
		{spm, 1, true, "<s>"},
		{spm, 0, true, "<unk>"},
		{bpe, 9906, false, "Hello"},
		{bpe, 1917, false, " world"}, // "Ġworld"
		{bpe, 128009, false, ""},
		{bpe, 128009, true, "<|eot_id|>"},
		{bpe, -1, true, ""},
		{bpe, 128256, true, ""},
	} {
		if got := string(c.tok.TokenToPiece(c.id, c.special)); got != c.want {
			t.Errorf("TokenToPiece(%d, %v) = %q, want %q", c.id, c.special, got, c.want)
		}
	}
	if spm.Piece(15043) != "▁Hello" || bpe.Piece(1917) != "Ġworld" || bpe.Piece(-5) != "" {
		t.Errorf("Piece: %q %q %q", spm.Piece(15043), bpe.Piece(1917), bpe.Piece(-5))
	}
}

// TestDecoder feeds a character split over byte tokens one token at a time.
func TestDecoder(t *testing.T) {
	spm := loadVocab(t, "ggml-vocab-llama-spm.gguf")
	ids, err := spm.Encode("a🦙b", false, false)
	if err != nil {
		t.Fatal(err)
	}
	// ▁a, then the four byte tokens of U+1F999, then b.
	if !slices.Equal(ids, []int32{263, 243, 162, 169, 156, 29890}) {
		t.Fatalf("Encode(a🦙b) = %v", ids)
	}
	d := spm.NewDecoder(false)
	var got []string
	for _, id := range ids {
		got = append(got, d.Add(id))
	}
	got = append(got, d.Flush())
	want := []string{" a", "", "", "", "🦙", "b", ""}
	if !slices.Equal(got, want) {
		t.Errorf("Decoder outputs %q, want %q", got, want)
	}
	// An incomplete character at the end is flushed as U+FFFD per byte; a byte that cannot
	// start or continue a character is U+FFFD at once.
	d = spm.NewDecoder(false)
	out := d.Add(243) + d.Add(162) // F0 9F
	if out != "" {
		t.Errorf("incomplete character emitted early: %q", out)
	}
	if f := d.Flush(); f != "\uFFFD\uFFFD" {
		t.Errorf("Flush = %q, want two U+FFFD", f)
	}
	if out := d.Add(184) + d.Add(29890); out != "\uFFFDb" { // <0xB5>: a lone continuation byte
		t.Errorf("lone continuation byte: %q", out)
	}
	// Special rendering follows renderSpecial.
	if s := spm.NewDecoder(true).Add(1); s != "<s>" {
		t.Errorf("Decoder(render special).Add(BOS) = %q", s)
	}
}

// fakeMeta is GGUF metadata held in a map, for the loader's error paths.
type fakeMeta map[string]any

func (m fakeMeta) String(k string) (string, bool)      { v, ok := m[k].(string); return v, ok }
func (m fakeMeta) Uint(k string) (uint64, bool)        { v, ok := m[k].(uint64); return v, ok }
func (m fakeMeta) Bool(k string) (bool, bool)          { v, ok := m[k].(bool); return v, ok }
func (m fakeMeta) Strings(k string) ([]string, bool)   { v, ok := m[k].([]string); return v, ok }
func (m fakeMeta) Float32s(k string) ([]float32, bool) { v, ok := m[k].([]float32); return v, ok }
func (m fakeMeta) Int32s(k string) ([]int32, bool)     { v, ok := m[k].([]int32); return v, ok }

func TestLoadErrors(t *testing.T) {
	base := func() fakeMeta {
		return fakeMeta{keyModel: "gpt2", keyPre: "qwen2", keyTokens: []string{"a", "b", "ab"}, keyMerges: []string{"a b"}}
	}
	if _, err := load(base()); err != nil {
		t.Fatalf("minimal BPE vocabulary: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(fakeMeta)
		want   string
	}{
		{"no model", func(m fakeMeta) { delete(m, keyModel) }, keyModel},
		{"unknown model", func(m fakeMeta) { m[keyModel] = "t5" }, `unsupported tokenizer model "t5"`},
		{"unknown pre", func(m fakeMeta) { m[keyPre] = "klingon" }, `unknown pre-tokenizer "klingon" (supported: `},
		{"no tokens", func(m fakeMeta) { delete(m, keyTokens) }, keyTokens},
		{"no merges", func(m fakeMeta) { delete(m, keyMerges) }, keyMerges},
		{"duplicate", func(m fakeMeta) { m[keyTokens] = []string{"a", "b", "a"} }, `duplicate token "a" at ids 0 and 2`},
		{"short scores", func(m fakeMeta) { m[keyScores] = []float32{0} }, "1 scores for 3 tokens"},
		{"short types", func(m fakeMeta) { m[keyTokenType] = []int32{1, 1} }, "2 types for 3 tokens"},
		{"bos missing", func(m fakeMeta) {
			m[keyModel] = "llama"
			m[keyAddBOS] = true
			m["tokenizer.ggml.bos_token_id"] = uint64(7)
		}, ""},
		{"bos cleared", func(m fakeMeta) { m[keyPre] = "chatglm-bpe"; m[keyAddBOS] = true }, "add_bos_token is true, but tokenizer.ggml.bos_token_id is not set"},
	} {
		m := base()
		c.change(m)
		_, err := load(m)
		if c.want == "" {
			// An out-of-range BOS key keeps the default (1), which exists: no error.
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
	// The error for an unknown pre-tokenizer lists the supported ones.
	m := base()
	m[keyPre] = "klingon"
	_, err := load(m)
	for _, name := range []string{"llama-bpe", "llama3", "qwen2", "smollm", "gpt-2", "default"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("unknown-pre error %v does not list %q", err, name)
		}
	}
}

// roundTrip checks the properties that hold for valid UTF-8 text s (see FuzzRoundTrip).
func roundTrip(t *testing.T, name string, tok *Tokenizer, s string) {
	ids, err := tok.Encode(s, false, false)
	if err != nil {
		t.Fatalf("%s: Encode(%q): %v", name, s, err)
	}
	var pieces []byte
	d := tok.NewDecoder(false)
	var stream strings.Builder
	for _, id := range ids {
		pieces = append(pieces, tok.TokenToPiece(id, false)...)
		stream.WriteString(d.Add(id))
	}
	stream.WriteString(d.Flush())
	dec := tok.Decode(ids, false)
	switch tok.kind {
	case kindSPM:
		// The space prefix comes back on the first piece and Decode removes it; "▁" in the
		// input cannot be told from an escaped space.
		want := strings.ReplaceAll(s, "▁", " ")
		if dec != want {
			t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q", name, s, dec, want)
		}
		if s != "" && string(pieces) != " "+want {
			t.Fatalf("%s: pieces of %q = %q", name, s, pieces)
		}
	case kindBPE:
		if string(pieces) != s {
			t.Fatalf("%s: pieces of Encode(%q) = %q", name, s, pieces)
		}
		want := s
		if tok.cleanSpaces {
			want = string(cleanSpaces([]byte(s)))
		}
		if dec != want {
			t.Fatalf("%s: Decode(Encode(%q)) = %q, want %q", name, s, dec, want)
		}
	}
	if stream.String() != string(pieces) {
		t.Fatalf("%s: streamed %q, pieces %q", name, stream.String(), pieces)
	}
}

var allVocabs = []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-qwen2.gguf"}

// TestLongInputs round-trips 20 KB inputs that stress each stage: one long word, long runs
// of spaces, newlines, digits, emoji and special-token-like text.
func TestLongInputs(t *testing.T) {
	inputs := []string{
		strings.Repeat(" ", 20000), strings.Repeat("a", 20000), strings.Repeat("1", 20000),
		strings.Repeat("\n ", 10000), strings.Repeat("🦙", 5000), strings.Repeat("<|", 10000),
		strings.Repeat("ab ", 7000),
	}
	for _, v := range allVocabs {
		tok := loadVocab(t, v)
		for _, s := range inputs {
			roundTrip(t, v, tok, s)
		}
	}
}

// FuzzRoundTrip checks, for valid UTF-8 s and every vocabulary (with add_special and
// parse_special false):
//   - SentencePiece (add_space_prefix): Decode(Encode(s)) == s with "▁" replaced by " ", and
//     the concatenated pieces are " " + that (the prefix space).
//   - byte-level BPE: the concatenated pieces are exactly s; Decode(Encode(s)) is s for Qwen2
//     and s after the clean_spaces pass for GPT-2 and Llama 3.
//   - the streaming Decoder emits exactly the concatenated pieces.
//
// Invalid input is checked in its repaired form (invalid bytes → U+FFFD); as it is, Encode (with
// add_special and parse_special) must not fail or panic and the Decoder's output must be valid UTF-8.
func FuzzRoundTrip(f *testing.F) {
	for _, name := range []string{"tokenizer-spm.jsonl", "tokenizer-bpe.jsonl"} {
		for _, c := range readGolden(f, name) {
			f.Add(c.Text)
		}
	}
	f.Add("\xff\xfe invalid \xc3 utf8 \xed\xa0\x80 \xf4\x90\x80\x80")
	for _, seed := range []string{"<s>x</s>", "<unk>", "<0x41>", "▁▁a▁", "<|endoftext|>", "<|im_end|>", "<think>a</think>", "a ' b 's"} {
		f.Add(seed)
	}
	toks := make([]*Tokenizer, len(allVocabs))
	for i, v := range allVocabs {
		toks[i] = loadVocab(f, v)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid := strings.ToValidUTF8(s, "\uFFFD")
		for i, tok := range toks {
			roundTrip(t, allVocabs[i], tok, valid)
			if valid == s {
				continue
			}
			ids, err := tok.Encode(s, true, true)
			if err != nil {
				t.Fatalf("%s: Encode(%q): %v", allVocabs[i], s, err)
			}
			d := tok.NewDecoder(true)
			var out strings.Builder
			for _, id := range ids {
				out.WriteString(d.Add(id))
			}
			out.WriteString(d.Flush())
			if !utf8.ValidString(out.String()) {
				t.Fatalf("%s: Decoder output %q is not valid UTF-8", allVocabs[i], out.String())
			}
		}
	})
}
