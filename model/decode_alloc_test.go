package model_test

import (
	"path/filepath"
	"testing"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
	"github.com/golem-llm/golem/testmodel"
)

// decodeStep returns a function that decodes one more token of sequence 0 each call.
func decodeStep(t testing.TB, name string) func() {
	m, _ := loadModel(t, name, 2)
	kv := kvcache.NewContiguous(m.NLayer, 256, m.NHeadKV*m.HeadDim, true, m.Pool())
	toks := []int32{1}
	b := &model.Batch{Seqs: []model.Seq{{ID: 0, Tokens: toks, Logits: model.LogitsLast}}}
	pos := 0
	return func() {
		if pos == 255 {
			kv.Drop(0)
			pos = 0
		}
		b.Seqs[0].Pos = pos
		toks[0] = int32(1 + pos%50)
		if _, err := m.Forward(b, kv); err != nil {
			t.Fatal(err)
		}
		pos++
	}
}

// TestDecodeAllocatesNothing: a steady-state decode step (one token, logits of the last) makes
// no heap allocation.
func TestDecodeAllocatesNothing(t *testing.T) {
	for _, name := range []string{"tiny-llama-q8_0.gguf", "tiny-llama-f16.gguf"} {
		step := decodeStep(t, name)
		for range 4 { // grow the scratch and the cache
			step()
		}
		if n := testing.AllocsPerRun(20, step); n != 0 {
			t.Errorf("%s: %v heap allocations per decode step, want 0", name, n)
		}
	}
}

// BenchmarkDecode times one decode step of the tiny Q8_0 model and reports allocs/op.
func BenchmarkDecode(b *testing.B) {
	step := decodeStep(b, "tiny-llama-q8_0.gguf")
	step()
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

// TestDecodePagedAllocatesNothing: the same on the path `golem run` and `serve` take — the paged
// K/V cache — with a Q4_K_M model (packed Q4_K and Q6_K weights where the CPU has packed kernels).
func TestDecodePagedAllocatesNothing(t *testing.T) {
	vocab, err := gguf.Open(filepath.Join(modelsDir, "tiny-llama-q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer vocab.Close()
	cfg := testmodel.Shapes["small"]
	cfg.Type = "Q4_K_M"
	path, err := testmodel.Generate(t.TempDir(), "small-q4_k_m", cfg, vocab)
	if err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.Load(f, model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pc := kvcache.PagedConfig{NLayer: m.NLayer, NHeadKV: m.NHeadKV, HeadDim: m.HeadDim, Type: kvcache.DefaultType, Pool: m.Pool()}
	bb, _ := pc.BlockBytes()
	pc.Budget = 20 * bb
	kv, err := kvcache.NewPaged(pc)
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]int32, 300)
	for i := range toks {
		toks[i] = int32(1 + i%50)
	}
	if _, err := kv.Blocks().Admit(0, toks); err != nil {
		t.Fatal(err)
	}
	b := &model.Batch{Seqs: []model.Seq{{ID: 0, Tokens: toks[:1], Logits: model.LogitsLast}}}
	pos := 0
	step := func() {
		b.Seqs[0].Pos, b.Seqs[0].Tokens = pos, toks[pos:pos+1]
		if _, err := m.Forward(b, kv); err != nil {
			t.Fatal(err)
		}
		pos++
	}
	for range 4 {
		step()
	}
	if n := testing.AllocsPerRun(40, step); n != 0 {
		t.Errorf("%v heap allocations per decode step, want 0", n)
	}
}
