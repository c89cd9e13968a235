package tokenizer_test

import (
	"fmt"
	"log"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tokenizer"
)

func Example() {
	f, err := gguf.Open("testdata/ggml-vocab-llama-bpe.gguf")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := tok.Encode("<|start_header_id|>user<|end_header_id|>\n\nHi!", true, true)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ids)
	fmt.Printf("%q\n", tok.Decode(ids, false))
	fmt.Printf("%q\n", tok.Decode(ids, true))

	// Streaming: a character split over byte-level tokens comes out whole.
	d := tok.NewDecoder(false)
	for _, id := range []int32{9468, 99, 247} { // "🦙" as three tokens
		fmt.Printf("%q ", d.Add(id))
	}
	fmt.Printf("%q %v\n", d.Flush(), tok.IsEOG(tok.EOT()))
	// Output:
	// [128000 128006 882 128007 271 13347 0]
	// "user\n\nHi!"
	// "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!"
	// "" "" "🦙" "" true
}
