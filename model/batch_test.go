package model_test

import (
	"testing"

	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
)

// A ragged batch (a prompt chunk beside decode tokens of other sequences at other
// positions) must give each sequence exactly the logits it gets when run alone: rows are
// independent in every matmul and attention reads only the row's own sequence.
func TestRaggedBatchEqualsSequential(t *testing.T) {
	m, _ := loadModel(t, "tiny-llama-q8_0.gguf", 2)
	prompts := [][]int32{
		{1, 9038, 2501, 263, 931},
		{1, 450, 4996, 17354, 1701, 29916, 432, 17204},
		{1, 15043},
	}
	kvd := m.NHeadKV * m.HeadDim
	// Alone: each prompt, then two decode steps with fixed tokens.
	var want [][][]float32
	for _, p := range prompts {
		kv := kvcache.NewContiguous(m.NLayer, 64, kvd, false, m.Pool())
		var rows [][]float32
		out, err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: p, Logits: model.LogitsLast}}}, kv)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, append([]float32(nil), out[0]...))
		for step := 0; step < 2; step++ {
			out, err := m.Forward(&model.Batch{Seqs: []model.Seq{{Pos: len(p) + step, Tokens: []int32{int32(100 + step)}, Logits: model.LogitsLast}}}, kv)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, append([]float32(nil), out[0]...))
		}
		want = append(want, rows)
	}
	// Together: sequence 0 prefills first; then 0 decodes while 1 and 2 prefill; then all decode.
	kv := kvcache.NewContiguous(m.NLayer, 64, kvd, false, m.Pool())
	got := make([][][]float32, 3)
	run := func(seqs []model.Seq) {
		out, err := m.Forward(&model.Batch{Seqs: seqs}, kv)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range seqs {
			got[s.ID] = append(got[s.ID], append([]float32(nil), out[i]...))
		}
	}
	run([]model.Seq{{ID: 0, Tokens: prompts[0], Logits: model.LogitsLast}})
	run([]model.Seq{
		{ID: 1, Tokens: prompts[1], Logits: model.LogitsLast},
		{ID: 0, Pos: 5, Tokens: []int32{100}, Logits: model.LogitsLast},
		{ID: 2, Tokens: prompts[2], Logits: model.LogitsLast},
	})
	run([]model.Seq{
		{ID: 2, Pos: 2, Tokens: []int32{100}, Logits: model.LogitsLast},
		{ID: 0, Pos: 6, Tokens: []int32{101}, Logits: model.LogitsLast},
		{ID: 1, Pos: 8, Tokens: []int32{100}, Logits: model.LogitsLast},
	})
	run([]model.Seq{
		{ID: 1, Pos: 9, Tokens: []int32{101}, Logits: model.LogitsLast},
		{ID: 2, Pos: 3, Tokens: []int32{101}, Logits: model.LogitsLast},
	})
	for s := range want {
		for step := range want[s] {
			for i := range want[s][step] {
				if got[s][step][i] != want[s][step][i] {
					t.Fatalf("sequence %d step %d logit %d: batched %v, alone %v", s, step, i, got[s][step][i], want[s][step][i])
				}
			}
		}
	}
}

func TestForwardRejectsBadTokens(t *testing.T) {
	m, _ := loadModel(t, "tiny-llama-q4_0.gguf", 1)
	kv := kvcache.NewContiguous(m.NLayer, 16, m.NHeadKV*m.HeadDim, false, m.Pool())
	for _, tok := range []int32{-1, int32(m.NVocab)} {
		if _, err := m.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: []int32{1, tok}}}}, kv); err == nil {
			t.Errorf("token %d: no error", tok)
		}
	}
	if _, err := m.Forward(&model.Batch{}, kv); err == nil {
		t.Error("empty batch: no error")
	}
}
