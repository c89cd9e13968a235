package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

var vocabCache sync.Map // file name → *Tokenizer

// withPre is a GGUF file whose tokenizer.ggml.pre reads as pre.
type withPre struct {
	*gguf.File
	pre string
}

func (w withPre) String(key string) (string, bool) {
	if key == keyPre {
		return w.pre, true
	}
	return w.File.String(key)
}

// loadVocab returns the tokenizer of testdata/name (loaded once per test binary). A name
// "file.gguf#pre=P" loads file.gguf with tokenizer.ggml.pre replaced by P.
func loadVocab(tb testing.TB, name string) *Tokenizer {
	tb.Helper()
	if t, ok := vocabCache.Load(name); ok {
		return t.(*Tokenizer)
	}
	file, pre, hasPre := strings.Cut(name, "#pre=")
	f, err := gguf.Open(filepath.Join("testdata", file))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var md metadata = f
	if hasPre {
		md = withPre{f, pre}
	}
	t, err := load(md)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	vocabCache.Store(name, t)
	return t
}

type goldenCase struct {
	Vocab        string  `json:"vocab"`
	Text         string  `json:"text"`
	AddSpecial   bool    `json:"add_special"`
	ParseSpecial bool    `json:"parse_special"`
	IDs          []int32 `json:"ids"`
	Decoded      string  `json:"decoded"`
}

func readGolden(tb testing.TB, name string) []goldenCase {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var cases []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("%s:%d: %v", name, line, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(cases) == 0 {
		tb.Fatalf("%s: no cases", name)
	}
	return cases
}

// TestGoldens checks every line of llama.cpp's tokenizations: Encode gives its ids and Decode
// of those ids its detokenization. tokenizer-extra.jsonl was made for this package with the same
// reference (node-llama-cpp 3.21.1, see /work/shared/bench): harder strings on the four vocabularies
// and the GPT-2 vocabulary under the "smollm", "default" and "starcoder" pre-tokenizers.
func TestGoldens(t *testing.T) {
	for _, file := range []string{"tokenizer-spm.jsonl", "tokenizer-bpe.jsonl", "tokenizer-bpe-special.jsonl", "tokenizer-extra.jsonl"} {
		cases := readGolden(t, file)
		t.Run(file, func(t *testing.T) {
			for i, c := range cases {
				tok := loadVocab(t, c.Vocab)
				got, err := tok.Encode(c.Text, c.AddSpecial, c.ParseSpecial)
				if err != nil {
					t.Errorf("%s line %d %q: %v", c.Vocab, i+1, c.Text, err)
					continue
				}
				if !slices.Equal(got, c.IDs) {
					t.Errorf("%s line %d Encode(%q, parse_special=%v)\n got %v\nwant %v", c.Vocab, i+1, c.Text, c.ParseSpecial, got, c.IDs)
				}
				if dec := tok.Decode(c.IDs, c.ParseSpecial); dec != c.Decoded {
					t.Errorf("%s line %d Decode(%v)\n got %q\nwant %q", c.Vocab, i+1, c.IDs, dec, c.Decoded)
				}
			}
		})
	}
}

// A rendered Llama 3 template starts with <|begin_of_text|>; adding the model's BOS must not
// double it, while text without it gets exactly one.
func TestEncodePromptKeepsOneBOS(t *testing.T) {
	tok := loadVocab(t, "ggml-vocab-llama-bpe.gguf")
	bos := tok.BOS()
	withBOS, err := tok.EncodePrompt("<|begin_of_text|>Hello", true)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := tok.EncodePrompt("Hello", true)
	if err != nil {
		t.Fatal(err)
	}
	if withBOS[0] != bos || withBOS[1] == bos || len(withBOS) != len(plain) || plain[0] != bos {
		t.Errorf("with BOS text %v, plain %v (bos %d)", withBOS, plain, bos)
	}
	raw, _ := tok.EncodePrompt("<|begin_of_text|>Hello", false)
	if len(raw) != len(withBOS) || raw[0] != bos {
		t.Errorf("without special tokens added: %v", raw)
	}
}
