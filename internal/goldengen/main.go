// Command goldengen makes the architecture goldens in testdata/archs: it writes each test
// model with golem's random-weight writer (package testmodel), checks that writing it twice
// gives the same bytes, asks llama.cpp (../shared/bench/llamacpp_logits.mjs) for the
// top-5 log-probabilities at every prompt position and a greedy continuation, and stores
// them with the model's config and SHA-256. model/arch_golden_test.go rewrites each model
// from the stored config and compares golem's forward pass with llama.cpp's.
//
// Usage, from the repository root (llama.cpp's node package installed by setup.sh):
//
//	GOLEM_BENCH_DIR=$(../shared/bench/setup.sh) go run ./internal/goldengen -bench ../shared/bench
//
// Without -bench it only writes the models (into -models, default a temporary folder) and
// prints their hashes. -only NAME restricts it to one model.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/testmodel"
)

// Spec is one test model and the prompts it is asked about.
type Spec struct {
	Name    string
	Vocab   string // vocabulary GGUF in the golden folder
	Config  testmodel.Config
	Prompts []string
	Note    string // what the model checks
	// ExtraKV are float32 metadata keys added after testmodel.Write (which has no option
	// for them), in sorted order, by rewriting the file (see testmodel.WithKVs).
	ExtraKV map[string]float32
}

// Llama 3 RoPE scaling (convert_hf_to_gguf.py, rope_type "llama3"), scaled down: the real
// models use original_max_position_embeddings 8192, where only positions in the thousands
// feel the scaling. With 128 every regime shows in a few hundred positions at head_dim
// 16, base 10000: wavelengths 6.3 and 20 (< 128/4) unscaled, 63 smoothed, 198 and longer
// divided by factor 8.
const (
	ropeFactor    = 8
	ropeLowFF     = 1
	ropeHighFF    = 4
	ropeOrigCtx   = 128
	ropeBase      = 10000
	ropeHeadDim   = 16
	longPromptLen = 300 // about this many tokens in the long prompt
)

// llama3RopeFreqs is convert_hf_to_gguf.py's generate_extra_tensors for rope_type llama3:
// freqs in float32 as torch computes them, the rest in float64 as Python does.
func llama3RopeFreqs(base float64, dim int, factor, lowFF, highFF, origCtx float64) []float32 {
	lowWL, highWL := origCtx/lowFF, origCtx/highFF
	out := make([]float32, dim/2)
	for i := range out {
		freq := float64(float32(1 / math.Pow(base, float64(2*i)/float64(dim))))
		wl := 2 * math.Pi / freq
		switch {
		case wl < highWL:
			out[i] = 1
		case wl > lowWL:
			out[i] = float32(factor)
		default:
			smooth := (origCtx/wl - lowFF) / (highFF - lowFF)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}

// longPrompt is English prose of about longPromptLen Llama 3 tokens, so positions reach
// the frequencies rope_freqs rescales.
const longPrompt = `The old lighthouse stood at the edge of the cliff, its white paint peeling after decades of salt wind and winter storms. ` +
	`Every evening the keeper climbed the one hundred and twelve steps of the spiral stair, carrying a lantern, a notebook and a flask of tea. ` +
	`He wrote down the weather, the ships that passed, the birds that rested on the railing, and sometimes a line or two about his thoughts. ` +
	`The village below had grown used to the steady sweep of the beam across the bay; children counted the seconds between flashes to fall asleep, ` +
	`and fishermen said they could find their way home with their eyes closed as long as the light turned. ` +
	`One autumn a letter arrived from the harbour authority announcing that the lamp would be replaced by an automatic beacon, ` +
	`powered by the sun and checked twice a year by an engineer from the city. The keeper read the letter three times, folded it carefully ` +
	`and put it in the drawer with his old logbooks. He did not tell anyone in the village, but that night he climbed the stairs more slowly ` +
	`than usual and stayed at the top until the sky turned grey in the east. In the weeks that followed he began to copy his notes into a new book, ` +
	`adding drawings of the coast, the names of every boat he remembered, and the stories the fishermen had told him over forty years. ` +
	`When the engineer finally came with the new equipment, the keeper handed him the book and asked him to leave it in the lamp room, ` +
	`so that whoever climbed the stairs after him would know what the light had seen.`

var specs = []Spec{
	{
		Name: "qwen2-f32", Vocab: "ggml-vocab-qwen2.gguf",
		Note: "qwen2: NeoX RoPE, q/k/v biases (random, std 0.2), GQA 2:1, tied embeddings, F32",
		Config: testmodel.Config{Arch: "qwen2", NEmbd: 32, NLayer: 2, NHead: 2, NHeadKV: 1, NFF: 96, NCtx: 2048,
			RopeBase: 1e6, NormEps: 1e-6, Tied: true, Type: "F32", Seed: 11},
		Prompts: []string{"The quick brown fox jumps over the lazy dog.", "def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)", "你好，世界！今天天气很好。"},
	},
	{
		Name: "qwen2-q8_0", Vocab: "ggml-vocab-qwen2.gguf",
		Note: "qwen2 as qwen2-f32 but n_embd 64, every matrix Q8_0 (integer dot products with Q8_0 activations)",
		Config: testmodel.Config{Arch: "qwen2", NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 128, NCtx: 2048,
			RopeBase: 1e6, NormEps: 1e-6, Tied: true, Type: "Q8_0", Seed: 12},
		Prompts: []string{"The quick brown fox jumps over the lazy dog.", "Once upon a time, in a small village by the sea, there lived an old fisherman"},
	},
	{
		Name: "qwen3-f32", Vocab: "ggml-vocab-qwen2.gguf",
		Note: "qwen3: head_dim 16 with n_embd 32 and 4 heads (q is 64 wide), per-head q/k RMSNorm (weights 1 + 0.1·N(0,1)), NeoX RoPE, GQA 2:1, F32",
		Config: testmodel.Config{Arch: "qwen3", NEmbd: 32, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 96, NCtx: 2048,
			HeadDim: 16, RopeBase: 1e6, NormEps: 1e-6, Tied: true, Type: "F32", Seed: 13},
		Prompts: []string{"The quick brown fox jumps over the lazy dog.", "Once upon a time, in a small village by the sea, there lived an old fisherman"},
	},
	{
		Name: "llama-ropefreqs-f32", Vocab: "ggml-vocab-llama-bpe.gguf",
		Note: fmt.Sprintf("llama with rope_freqs.weight (Llama 3.1 RoPE scaling: factor %d, low/high freq factor %d/%d, original context %d, base %d, head_dim %d), Llama 3 vocabulary, F32; a %d-token prompt",
			ropeFactor, ropeLowFF, ropeHighFF, ropeOrigCtx, ropeBase, ropeHeadDim, longPromptLen),
		Config: testmodel.Config{Arch: "llama", NEmbd: 32, NLayer: 2, NHead: 2, NHeadKV: 1, NFF: 96, NCtx: 2048,
			RopeBase: ropeBase, NormEps: 1e-5, Tied: true, Type: "F32", Seed: 14,
			RopeFreqs: llama3RopeFreqs(ropeBase, ropeHeadDim, ropeFactor, ropeLowFF, ropeHighFF, ropeOrigCtx)},
		Prompts: []string{longPrompt, "The quick brown fox jumps over the lazy dog."},
	},
	{
		Name: "llama-ropescale-f32", Vocab: "ggml-vocab-llama-spm.gguf",
		Note: "llama with llama.rope.scaling.factor 4 and no rope.scaling.type: llama.cpp then applies linear scaling (freq_scale 1/4), its default type",
		Config: testmodel.Config{Arch: "llama", NEmbd: 64, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 128, NCtx: 2048,
			RopeBase: 10000, NormEps: 1e-5, Tied: true, Type: "F32", Seed: 16},
		ExtraKV: map[string]float32{"llama.rope.scaling.factor": 4},
		Prompts: []string{"Once upon a time, in a small village by the sea, there lived an old fisherman who went out every morning before sunrise and came back when the sun was high in the sky.", "The quick brown fox jumps over the lazy dog."},
	},
	{
		Name: "llama-q4_k_m", Vocab: "ggml-vocab-llama-spm.gguf",
		Note: "llama, n_embd 256 / n_ff 512 so every matrix takes a k-quant: Q4_K (q, k, output-proj, gate, up, token_embd) and Q6_K (v, down, output), untied, SentencePiece vocabulary",
		Config: testmodel.Config{Arch: "llama", NEmbd: 256, NLayer: 2, NHead: 4, NHeadKV: 2, NFF: 512, NCtx: 2048,
			RopeBase: 10000, NormEps: 1e-5, Tied: false, Type: "Q4_K_M", Seed: 15},
		Prompts: []string{"The quick brown fox jumps over the lazy dog.", "Once upon a time, in a small village by the sea, there lived an old fisherman"},
	},
}

// Golden is one file testdata/archs/NAME.json.
type Golden struct {
	Name      string             `json:"name"`
	Note      string             `json:"note"`
	Vocab     string             `json:"vocab"`
	Config    testmodel.Config   `json:"config"`
	ExtraKV   map[string]float32 `json:"extra_kv,omitempty"`
	SHA256    string             `json:"sha256"` // of the model file testmodel.Write produced
	Size      int64              `json:"size"`
	Reference json.RawMessage    `json:"reference"` // llamacpp_logits.mjs output, model path removed
}

func main() {
	dir := flag.String("dir", "testdata/archs", "golden folder: vocabularies are read and goldens written here")
	models := flag.String("models", "", "where to write the models (default: a temporary folder, removed at the end)")
	bench := flag.String("bench", "", "folder of llamacpp_logits.mjs; empty: only write the models")
	only := flag.String("only", "", "make only this model")
	flag.Parse()
	if err := run(*dir, *models, *bench, *only); err != nil {
		fmt.Fprintln(os.Stderr, "goldengen:", err)
		os.Exit(1)
	}
}

func run(dir, models, bench, only string) error {
	if models == "" {
		tmp, err := os.MkdirTemp("", "goldengen")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		models = tmp
	}
	for _, sp := range specs {
		if only != "" && sp.Name != only {
			continue
		}
		path := filepath.Join(models, sp.Name+".gguf")
		sum, size, err := writeModel(path, filepath.Join(dir, sp.Vocab), sp.Config, sp.ExtraKV)
		if err != nil {
			return fmt.Errorf("%s: %w", sp.Name, err)
		}
		fmt.Printf("%s: %s (%d bytes) sha256 %s\n", sp.Name, path, size, sum)
		if bench == "" {
			continue
		}
		args := append([]string{filepath.Join(bench, "llamacpp_logits.mjs"), "-m", path, "-k", "5", "-n", "16"}, sp.Prompts...)
		cmd := exec.Command("node", args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("%s: llamacpp_logits.mjs: %w", sp.Name, err)
		}
		var ref map[string]any
		if err := json.Unmarshal(out, &ref); err != nil {
			return fmt.Errorf("%s: llamacpp_logits.mjs output: %w", sp.Name, err)
		}
		delete(ref, "model") // a temporary path; the name and hash identify the model
		raw, err := json.Marshal(ref)
		if err != nil {
			return err
		}
		g := Golden{Name: sp.Name, Note: sp.Note, Vocab: sp.Vocab, Config: sp.Config, ExtraKV: sp.ExtraKV, SHA256: sum, Size: size, Reference: raw}
		b, err := json.MarshalIndent(g, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, sp.Name+".json"), append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeModel writes the model to path and again into a hash, and fails unless both
// writes give the same bytes: the test regenerates the model and must get llama.cpp's.
func writeModel(path, vocabPath string, cfg testmodel.Config, extra map[string]float32) (string, int64, error) {
	vocab, err := gguf.Open(vocabPath)
	if err != nil {
		return "", 0, err
	}
	defer vocab.Close()
	var sums [2][]byte
	var size int64
	for i := range sums {
		var buf bytes.Buffer
		if err := testmodel.Write(&buf, cfg, vocab); err != nil {
			return "", 0, err
		}
		b := buf.Bytes()
		if len(extra) > 0 {
			if b, err = testmodel.WithKVs(b, extra); err != nil {
				return "", 0, err
			}
		}
		h := sha256.Sum256(b)
		sums[i], size = h[:], int64(len(b))
		if i == 0 {
			if err := os.WriteFile(path, b, 0o644); err != nil {
				return "", 0, err
			}
		}
	}
	if !bytes.Equal(sums[0], sums[1]) {
		return "", 0, errors.New("writing the model twice gave different bytes")
	}
	return hex.EncodeToString(sums[0]), size, nil
}
