package golem_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/gguf"
)

// TestLoadRefusesFewerEmbeddingsThanTokens: a file whose token_embd has fewer rows than the
// tokenizer has tokens is refused at load (a prompt could hold ids with no embedding row),
// instead of failing at the first generate.
func TestLoadRefusesFewerEmbeddingsThanTokens(t *testing.T) {
	f, err := gguf.Parse(golem.DefaultModelBytes())
	if err != nil {
		t.Fatal(err)
	}
	w := gguf.NewWriter()
	for _, kv := range f.KVs {
		w.Set(kv.Key, kv.Value)
	}
	for i := range f.Tensors {
		ti := &f.Tensors[i]
		data, dims := f.TensorData(ti), ti.Dims
		if ti.Name == "token_embd.weight" { // stories260K: F32 [64, 512], tied
			dims = []uint64{dims[0], 500}
			data = data[:64*500*4]
		}
		if err := w.AddTensor(ti.Name, ti.Type, dims, data); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	_, err = golem.LoadBytes("short-embd", buf.Bytes(), golem.Options{})
	if err == nil || !strings.Contains(err.Error(), "500 token embedding rows") || !strings.Contains(err.Error(), "512 tokens") {
		t.Fatalf("err = %v, want the row/token count mismatch", err)
	}
}
