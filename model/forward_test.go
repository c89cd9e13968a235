package model_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
)

const modelsDir = "../testdata/models"

type goldenPrompt struct {
	Prompt    string  `json:"prompt"`
	Tokens    []int32 `json:"tokens"`
	Positions []struct {
		Top5IDs      []int32   `json:"top5_ids"`
		Top5Logprobs []float64 `json:"top5_logprobs"`
	} `json:"positions"`
	Greedy16      []int32 `json:"greedy16"`
	Greedy200     []int32 `json:"greedy200"`
	LastLogprobs  string  `json:"last_logprobs_file"`
	Greedy200Text string  `json:"greedy200_text"`
}

func loadModel(t testing.TB, name string, threads int) (*model.Model, *gguf.File) {
	t.Helper()
	f, err := gguf.Open(filepath.Join(modelsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := model.Load(f, model.Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m, f
}

// logSoftmax returns log-softmax(x) computed in float64.
func logSoftmax(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	ls := math.Log(s) + mx
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - ls
	}
	return out
}

func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}

// strictness of one model file, from testdata/README.md "How strict".
type strictness struct {
	exact bool // F32: top-5 ids equal and 1e-3 everywhere
}

func TestForwardGoldens(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(modelsDir, "forward-golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Models map[string][]goldenPrompt `json:"models"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tiny-llama-f32.gguf", "tiny-llama-f16.gguf", "tiny-llama-q8_0.gguf", "tiny-llama-q4_0.gguf"} {
		t.Run(name, func(t *testing.T) {
			exact := name == "tiny-llama-f32.gguf"
			m, _ := loadModel(t, name, 2)
			var positions, within int
			for pi, gp := range golden.Models[name] {
				kv := kvcache.NewContiguous(m.NLayer, 256, m.NHeadKV*m.HeadDim, false, m.Pool())
				out, err := m.Forward(&model.Batch{Seqs: []model.Seq{{ID: 0, Tokens: gp.Tokens, Logits: model.LogitsAll}}}, kv)
				if err != nil {
					t.Fatal(err)
				}
				if len(out) != len(gp.Tokens) {
					t.Fatalf("prompt %d: %d logit rows, want %d", pi, len(out), len(gp.Tokens))
				}
				for i, pos := range gp.Positions {
					lp := logSoftmax(out[i])
					top := argmax(out[i])
					if top != pos.Top5IDs[0] {
						t.Errorf("prompt %d pos %d: top-1 id %d, want %d", pi, i, top, pos.Top5IDs[0])
					}
					worst := 0.0
					for j, id := range pos.Top5IDs {
						d := math.Abs(lp[id] - pos.Top5Logprobs[j])
						worst = math.Max(worst, d)
						if exact && d > 1e-3 {
							t.Errorf("prompt %d pos %d: logprob of %d is %.6f, want %.6f", pi, i, id, lp[id], pos.Top5Logprobs[j])
						}
						if d > 0.1 {
							t.Errorf("prompt %d pos %d: logprob of %d is %.6f, want %.6f (beyond 0.1)", pi, i, id, lp[id], pos.Top5Logprobs[j])
						}
					}
					if exact {
						for j, id := range topK(out[i], 5) {
							if id != pos.Top5IDs[j] {
								t.Errorf("prompt %d pos %d: top-5 ids %v, want %v", pi, i, topK(out[i], 5), pos.Top5IDs)
								break
							}
							_ = j
						}
					}
					positions++
					if worst <= 1e-3 {
						within++
					}
				}
				// The full last-position distribution.
				last := readF32(t, filepath.Join(modelsDir, gp.LastLogprobs))
				lp := logSoftmax(out[len(out)-1])
				var maxd float64
				for id := range last {
					maxd = math.Max(maxd, math.Abs(lp[id]-float64(last[id])))
				}
				if (exact && maxd > 1e-3) || maxd > 0.1 {
					t.Errorf("prompt %d: last-position log-probabilities differ by up to %.5f", pi, maxd)
				}
				// Greedy continuation, one token per step.
				tok := argmax(out[len(out)-1])
				pos := len(gp.Tokens)
				var got []int32
				for len(got) < len(gp.Greedy16) {
					got = append(got, tok)
					o, err := m.Forward(&model.Batch{Seqs: []model.Seq{{ID: 0, Pos: pos, Tokens: []int32{tok}, Logits: model.LogitsLast}}}, kv)
					if err != nil {
						t.Fatal(err)
					}
					tok = argmax(o[0])
					pos++
				}
				for i := range got {
					if got[i] != gp.Greedy16[i] {
						t.Errorf("prompt %d: greedy %v, want %v", pi, got, gp.Greedy16)
						break
					}
				}
			}
			t.Logf("%s: %d/%d positions within 1e-3 on the top-5 log-probabilities", name, within, positions)
		})
	}
}

func topK(x []float32, k int) []int32 {
	var ids []int32
	used := map[int32]bool{}
	for len(ids) < k {
		best := int32(-1)
		for i, v := range x {
			if !used[int32(i)] && (best < 0 || v > x[best]) {
				best = int32(i)
			}
		}
		used[best] = true
		ids = append(ids, best)
	}
	return ids
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[i*4:]))
	}
	return out
}
