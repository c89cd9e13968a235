package model_test

import (
	"testing"

	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
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
