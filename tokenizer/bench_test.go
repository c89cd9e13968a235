package tokenizer

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem/gguf"
)

// benchText is a few KB of mixed prose, code, numbers and non-Latin text.
var benchText = strings.Repeat("The quick brown fox jumps over the lazy dog; it's 3.14159 o'clock. "+
	"func main() {\n\tfmt.Println(\"héllo, wörld\") // 日本語のテキスト\n}\n"+
	"Привет, мир! 🦙🚀 1234567890   spaced    out\r\n", 20)

// BenchmarkFromGGUF measures building the tokenizer from already-parsed metadata (the GGUF
// parse itself is the gguf package's cost).
func BenchmarkFromGGUF(b *testing.B) {
	for _, name := range []string{"ggml-vocab-qwen2.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-llama-spm.gguf"} {
		f, err := gguf.Open(filepath.Join("testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := FromGGUF(f); err != nil {
					b.Fatal(err)
				}
			}
		})
		f.Close()
	}
}

func BenchmarkEncode(b *testing.B) {
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "ggml-vocab-llama-bpe.gguf", "ggml-vocab-qwen2.gguf"} {
		tok := loadVocab(b, name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(benchText)))
			for b.Loop() {
				if _, err := tok.Encode(benchText, true, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	tok := loadVocab(b, "ggml-vocab-llama-bpe.gguf")
	ids, err := tok.Encode(benchText, false, false)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		_ = tok.Decode(ids, false)
	}
}
