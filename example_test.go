package golem_test

import (
	"context"
	"fmt"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/chat"
)

// Generate streams greedy tokens from the embedded model through a callback.
func ExampleModel_Generate() {
	m, err := golem.LoadDefault(golem.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	res, err := m.Generate(context.Background(), "Once upon a time", golem.GenerateOptions{MaxTokens: 12},
		func(t golem.Token) error {
			fmt.Print(t.Text)
			return nil
		})
	if err != nil {
		panic(err)
	}
	fmt.Printf("\n%d tokens, finish: %s\n", len(res.Tokens), res.FinishReason)
	// Output:
	// , there was a little girl named Lily. She
	// 12 tokens, finish: length
}

// Tokens is the same generation as a range-over-func iterator.
func ExampleModel_Tokens() {
	m, err := golem.LoadDefault(golem.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	n := 0
	for t, err := range m.Tokens(context.Background(), "The little dog was sad because", golem.GenerateOptions{}) {
		if err != nil {
			panic(err)
		}
		fmt.Print(t.Text)
		if n++; n == 8 {
			break // stops generation
		}
	}
	fmt.Println()
	// Output:
	// he loved to play with his to
}

// Tokenize and Detokenize use the model's own vocabulary (SentencePiece here).
func ExampleModel_Tokenize() {
	m, err := golem.LoadDefault(golem.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	ids, err := m.Tokenize("Once upon a time", true, false)
	if err != nil {
		panic(err)
	}
	fmt.Println(ids)
	fmt.Printf("%q\n", m.Detokenize(ids[1:]))
	// Output:
	// [1 403 407 261 378]
	// "Once upon a time"
}

// RenderChat formats a conversation with the model's chat template; stories260K has none,
// so ChatML is used.
func ExampleModel_RenderChat() {
	m, err := golem.LoadDefault(golem.Options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	s, err := m.RenderChat([]chat.Message{{Role: "user", Content: "Tell me a story."}}, true)
	if err != nil {
		panic(err)
	}
	fmt.Print(s)
	// Output:
	// <|im_start|>user
	// Tell me a story.<|im_end|>
	// <|im_start|>assistant
}
