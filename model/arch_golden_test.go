package model_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
	"github.com/golem-llm/golem/testmodel"
)

// archDir holds llama.cpp's goldens for models written by package testmodel (see its
// README.md and internal/goldengen); the models are rewritten here from the stored config.
const archDir = "../testdata/archs"

// archGolden is one testdata/archs/NAME.json.
type archGolden struct {
	Name      string             `json:"name"`
	Vocab     string             `json:"vocab"`
	Config    testmodel.Config   `json:"config"`
	ExtraKV   map[string]float32 `json:"extra_kv"` // float32 keys added after testmodel.Write
	SHA256    string             `json:"sha256"`
	Size      int64              `json:"size"`
	Reference struct {
		Engine  string `json:"engine"`
		Prompts []struct {
			Prompt    string  `json:"prompt"`
			Tokens    []int32 `json:"tokens"`
			Positions []struct {
				IDs      []int32   `json:"ids"`
				Logprobs []float64 `json:"logprobs"`
			} `json:"positions"`
			Greedy []int32 `json:"greedy"`
		} `json:"prompts"`
	} `json:"reference"`
}

// archModels lists the goldens and their strictness (testdata/README.md "How strict"):
// exact files need equal top-5 ids and 1e-3 everywhere; quantized files need equal
// greedy and top-1 ids, 0.1 everywhere and 1e-3 at minWithin of the positions at least.
// types pins the weight types the golden is meant to exercise.
var archModels = []struct {
	name      string
	exact     bool
	minWithin float64
	types     map[string]gguf.Type
}{
	{"qwen2-f32", true, 1, map[string]gguf.Type{"blk.0.attn_q.weight": gguf.TypeF32, "blk.0.attn_q.bias": gguf.TypeF32}},
	{"qwen3-f32", true, 1, map[string]gguf.Type{"blk.0.attn_q.weight": gguf.TypeF32, "blk.0.attn_q_norm.weight": gguf.TypeF32}},
	{"llama-ropefreqs-f32", true, 1, map[string]gguf.Type{"blk.0.attn_q.weight": gguf.TypeF32, "rope_freqs.weight": gguf.TypeF32}},
	{"llama-ropescale-f32", true, 1, map[string]gguf.Type{"blk.0.attn_q.weight": gguf.TypeF32}},
	{"qwen2-q8_0", false, 0.5, map[string]gguf.Type{"token_embd.weight": gguf.TypeQ8_0, "blk.1.ffn_down.weight": gguf.TypeQ8_0}},
	{"llama-q4_k_m", false, 0.5, map[string]gguf.Type{
		"token_embd.weight": gguf.TypeQ4_K, "output.weight": gguf.TypeQ6_K,
		"blk.0.attn_q.weight": gguf.TypeQ4_K, "blk.0.attn_k.weight": gguf.TypeQ4_K, "blk.0.attn_v.weight": gguf.TypeQ6_K,
		"blk.0.attn_output.weight": gguf.TypeQ4_K, "blk.0.ffn_gate.weight": gguf.TypeQ4_K, "blk.0.ffn_up.weight": gguf.TypeQ4_K,
		"blk.0.ffn_down.weight": gguf.TypeQ6_K}},
}

func loadArchGolden(t *testing.T, name string) *archGolden {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(archDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	g := new(archGolden)
	if err := json.Unmarshal(raw, g); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	if len(g.Reference.Prompts) == 0 {
		t.Fatalf("%s.json: no prompts", name)
	}
	return g
}

// writeArchModel rewrites the golden's model into a temporary folder and checks that the
// bytes are those llama.cpp read (same SHA-256 and size): otherwise testmodel's output
// changed and the goldens must be remade (go run ./internal/goldengen).
func writeArchModel(t *testing.T, g *archGolden, types map[string]gguf.Type, threads int) *model.Model {
	t.Helper()
	vocab, err := gguf.Open(filepath.Join(archDir, g.Vocab))
	if err != nil {
		t.Fatal(err)
	}
	defer vocab.Close()
	var buf bytes.Buffer
	if err := testmodel.Write(&buf, g.Config, vocab); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(g.ExtraKV) > 0 {
		if b, err = testmodel.WithKVs(b, g.ExtraKV); err != nil {
			t.Fatal(err)
		}
	}
	if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != g.SHA256 || int64(len(b)) != g.Size {
		t.Fatalf("%s: testmodel wrote %d bytes with sha256 %x, the golden was made from %d bytes with sha256 %s: remake the goldens (internal/goldengen)",
			g.Name, len(b), h, g.Size, g.SHA256)
	}
	path := filepath.Join(t.TempDir(), g.Name+".gguf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	for name, typ := range types {
		if ti, ok := f.Tensor(name); !ok || ti.Type != typ {
			t.Fatalf("%s: tensor %q missing or not %s", g.Name, name, typ)
		}
	}
	m, err := model.Load(f, model.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

// runPrompt runs tokens through a fresh F32 cache: the first skip tokens without logits
// (a chunk of prefill), the rest with. It returns the normalizer of each logits row
// (logZ: log-probability of id = logits[id] - logZ), the rows (valid until the next
// Forward), the greedy next token and the cache for continuing.
func runPrompt(t *testing.T, m *model.Model, tokens []int32, skip, nCtx int) ([]float64, [][]float32, int32, *kvcache.Contiguous) {
	t.Helper()
	kv := kvcache.NewContiguous(m.NLayer, nCtx, m.NHeadKV*m.HeadDim, false, m.Pool())
	if skip > 0 {
		if _, err := m.Forward(&model.Batch{Seqs: []model.Seq{{ID: 0, Tokens: tokens[:skip], Logits: model.LogitsNone}}}, kv); err != nil {
			t.Fatal(err)
		}
	}
	out, err := m.Forward(&model.Batch{Seqs: []model.Seq{{ID: 0, Pos: skip, Tokens: tokens[skip:], Logits: model.LogitsAll}}}, kv)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(tokens)-skip {
		t.Fatalf("%d logit rows for %d tokens", len(out), len(tokens)-skip)
	}
	logZ := make([]float64, len(out))
	for i, row := range out {
		logZ[i] = logSumExp(row)
	}
	return logZ, out, argmax(out[len(out)-1]), kv
}

// logSumExp returns log Σ exp(x) in float64.
func logSumExp(x []float32) float64 {
	mx := x[0]
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v - mx))
	}
	return math.Log(s) + float64(mx)
}

// archComparison is how far golem's log-probabilities are from llama.cpp's.
type archComparison struct {
	positions, within int     // positions, and those whose top-5 log-probabilities are within 1e-3
	maxDiff           float64 // largest difference over every position's top-5
}

func TestArchGoldens(t *testing.T) {
	for _, am := range archModels {
		t.Run(am.name, func(t *testing.T) {
			g := loadArchGolden(t, am.name)
			m := writeArchModel(t, g, am.types, 2)
			var cmp archComparison
			for pi, gp := range g.Reference.Prompts {
				if len(gp.Positions) != len(gp.Tokens) {
					t.Fatalf("prompt %d: %d positions for %d tokens", pi, len(gp.Positions), len(gp.Tokens))
				}
				nCtx := len(gp.Tokens) + len(gp.Greedy)
				logZ, rows, next, kv := runPrompt(t, m, gp.Tokens, 0, nCtx)
				for i, pos := range gp.Positions {
					x := rows[i]
					lp := func(id int32) float64 { return float64(x[id]) - logZ[i] }
					if top := argmax(x); top != pos.IDs[0] && x[top] != x[pos.IDs[0]] {
						t.Errorf("prompt %d pos %d: top-1 id %d (%.6f), llama.cpp %d (%.6f)", pi, i, top, lp(top), pos.IDs[0], pos.Logprobs[0])
					}
					if am.exact {
						if got := topKF32(x, len(pos.IDs)); !equalIDs(got, pos.IDs) {
							t.Errorf("prompt %d pos %d: top-5 ids %v, llama.cpp %v", pi, i, got, pos.IDs)
						}
					}
					worst := 0.0
					for j, id := range pos.IDs {
						d := math.Abs(lp(id) - pos.Logprobs[j])
						worst = math.Max(worst, d)
						if (am.exact && d > 1e-3) || d > 0.1 {
							t.Errorf("prompt %d pos %d: log-probability of %d is %.6f, llama.cpp %.6f", pi, i, id, lp(id), pos.Logprobs[j])
						}
					}
					cmp.positions++
					if worst <= 1e-3 {
						cmp.within++
					}
					cmp.maxDiff = math.Max(cmp.maxDiff, worst)
				}
				got := greedy(t, m, kv, next, len(gp.Tokens), len(gp.Greedy))
				if !equalIDs(got, gp.Greedy) {
					t.Errorf("prompt %d: greedy %v, llama.cpp %v", pi, got, gp.Greedy)
				}
			}
			if frac := float64(cmp.within) / float64(cmp.positions); frac < am.minWithin {
				t.Errorf("%d/%d positions within 1e-3, want at least %.0f%%", cmp.within, cmp.positions, 100*am.minWithin)
			}
			t.Logf("%s: %d/%d positions within 1e-3 of llama.cpp on the top-5 log-probabilities; largest difference %.2e",
				am.name, cmp.within, cmp.positions, cmp.maxDiff)
			checkFeatureMatters(t, g, m)
		})
	}
}

// greedy continues a prompt one token per step (as llama.cpp's sampler at temperature 0).
func greedy(t *testing.T, m *model.Model, kv model.KV, tok int32, pos, n int) []int32 {
	t.Helper()
	var got []int32
	for len(got) < n {
		got = append(got, tok)
		o, err := m.Forward(&model.Batch{Seqs: []model.Seq{{ID: 0, Pos: pos, Tokens: []int32{tok}, Logits: model.LogitsLast}}}, kv)
		if err != nil {
			t.Fatal(err)
		}
		tok = argmax(o[0])
		pos++
	}
	return got
}

// checkFeatureMatters switches off the feature a golden is about (qwen2's biases, qwen3's
// q/k norms, rope_freqs) and checks that golem then misses llama.cpp's log-probabilities
// by far more than the tolerance: the golden really tests the feature.
func checkFeatureMatters(t *testing.T, g *archGolden, m *model.Model) {
	t.Helper()
	var what string
	switch {
	case g.Config.Arch == "qwen2":
		what = "q/k/v biases"
		saved := make([]model.Layer, len(m.Layers))
		copy(saved, m.Layers)
		defer copy(m.Layers, saved)
		for i := range m.Layers {
			m.Layers[i].Bq, m.Layers[i].Bk, m.Layers[i].Bv = nil, nil, nil
		}
	case g.Config.Arch == "qwen3":
		what = "q/k norm weights (set to 1)"
		saved := make([]model.Layer, len(m.Layers))
		copy(saved, m.Layers)
		defer copy(m.Layers, saved)
		for i := range m.Layers {
			m.Layers[i].QNorm = ones(m.HeadDim)
			m.Layers[i].KNorm = ones(m.HeadDim)
		}
	case g.ExtraKV["llama.rope.scaling.factor"] != 0:
		what = "linear RoPE scaling (rope.scaling.factor without rope.scaling.type)"
		if want := 1 / g.ExtraKV["llama.rope.scaling.factor"]; m.Rope.FreqScale != want {
			t.Errorf("%s: RoPE freq_scale %g, want %g", g.Name, m.Rope.FreqScale, want)
		}
		saved := m.Rope.FreqScale
		defer func() { m.Rope.FreqScale = saved }()
		m.Rope.FreqScale = 1
	case g.Config.RopeFreqs != nil:
		what = "rope_freqs"
		if m.Rope.Factors == nil {
			t.Fatal("rope_freqs.weight not loaded")
		}
		saved := m.Rope.Factors
		defer func() { m.Rope.Factors = saved }()
		m.Rope.Factors = nil
	default:
		return
	}
	// The last featureTail positions of each prompt are enough (the rest is prefilled
	// without logits), and keep the long rope_freqs prompt cheap.
	const featureTail = 48
	var maxDiff float64
	for _, gp := range g.Reference.Prompts {
		skip := max(0, len(gp.Tokens)-featureTail)
		logZ, rows, _, _ := runPrompt(t, m, gp.Tokens, skip, len(gp.Tokens))
		for i, pos := range gp.Positions[skip:] {
			for j, id := range pos.IDs {
				maxDiff = math.Max(maxDiff, math.Abs(float64(rows[i][id])-logZ[i]-pos.Logprobs[j]))
			}
		}
	}
	t.Logf("%s: without %s golem is up to %.3f from llama.cpp", g.Name, what, maxDiff)
	if maxDiff < 0.05 {
		t.Errorf("%s: without %s the log-probabilities move by only %.4f: the golden does not test them", g.Name, what, maxDiff)
	}
}

func ones(n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = 1
	}
	return o
}

// topKF32 returns the ids of the k largest values, largest first (the lower id wins ties).
func topKF32(x []float32, k int) []int32 {
	ids := make([]int32, 0, k+1)
	for i, v := range x {
		if len(ids) == k && v <= x[ids[k-1]] {
			continue
		}
		j := len(ids)
		for j > 0 && v > x[ids[j-1]] {
			j--
		}
		ids = append(ids, 0)
		copy(ids[j+1:], ids[j:])
		ids[j] = int32(i)
		if len(ids) > k {
			ids = ids[:k]
		}
	}
	return ids
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
