// Package golem runs large language models from GGUF files (the format of llama.cpp and
// ollama) in pure Go: load a model, tokenize, render its chat template and generate text
// with the same tokens llama.cpp would give.
//
//	m, err := golem.Load("model.gguf", golem.Options{})
//	if err != nil { … }
//	defer m.Close()
//	res, err := m.Generate(ctx, "Once upon a time", golem.GenerateOptions{MaxTokens: 64},
//		func(t golem.Token) error { fmt.Print(t.Text); return nil })
//
// A Model runs one generation at a time; serve many users with package engine
// (`golem serve`).
package golem

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/golem-llm/golem/chat"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/model"
	"github.com/golem-llm/golem/tokenizer"
)

// DefaultModelName names the model embedded in the binary (see models/README.md).
const DefaultModelName = "stories260K"

//go:embed models/stories260K.gguf
var defaultModel []byte

// DefaultModelBytes returns the embedded stories260K GGUF (Karpathy's tinyllamas, MIT).
func DefaultModelBytes() []byte { return defaultModel }

// maxThreads bounds Options.Threads: each thread has a goroutine and scratch buffers.
const maxThreads = 1024

// Options tune Load.
type Options struct {
	Threads int    // compute threads; ≤ 0 means all cores
	Context int    // context size in tokens; ≤ 0 means the model's training context (capped at 4096)
	KVType  string // K/V cache type: "f16" (default, as llama.cpp), "f32", "q8_0"
}

// Model is a loaded model with its tokenizer and chat template. It is safe for concurrent
// use: generations run through one in-process engine (package engine), one at a time.
type Model struct {
	Name      string
	file      *gguf.File
	net       *model.Model
	tok       *tokenizer.Tokenizer
	tmpl      *chat.Template
	nCtx      int
	kvType    string
	ownedFile bool

	engOnce   sync.Once
	eng       *engine.Engine
	engErr    error
	closeOnce sync.Once
	closed    atomic.Bool
}

// ErrClosed is returned by methods of a Model after Close.
var ErrClosed = errors.New("golem: model is closed")

// Load opens a GGUF file and prepares it for generation. Errors name the file and what in it
// is missing or unsupported.
func Load(path string, opt Options) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := fromFile(f, path, opt)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.ownedFile = true
	return m, nil
}

// LoadBytes loads a model from a GGUF image in memory (copied once so tensor data is
// aligned for the kernels).
func LoadBytes(name string, data []byte, opt Options) (*Model, error) {
	// An 8-byte aligned copy: embedded data carries no alignment guarantee.
	buf := make([]uint64, (len(data)+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(buf))), len(buf)*8)[:len(data)]
	copy(b, data)
	f, err := gguf.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return fromFile(f, name, opt)
}

// LoadDefault loads the embedded default model (stories260K).
func LoadDefault(opt Options) (*Model, error) {
	return LoadBytes(DefaultModelName, defaultModel, opt)
}

func fromFile(f *gguf.File, name string, opt Options) (*Model, error) {
	if opt.Threads < 0 || opt.Threads > maxThreads {
		return nil, fmt.Errorf("golem: %d threads: want 1 to %d (0 = one per core)", opt.Threads, maxThreads)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	net, err := model.Load(f, model.Options{Threads: opt.Threads})
	if err != nil {
		return nil, err
	}
	if net.NVocab < tok.NVocab() {
		// A prompt could then hold token ids the model has no embedding row or logit for.
		net.Close()
		return nil, fmt.Errorf("golem: the model has %d token embedding rows but the tokenizer %d tokens", net.NVocab, tok.NVocab())
	}
	m := &Model{Name: name, file: f, net: net, tok: tok}
	if src, ok := f.String("tokenizer.chat_template"); ok && src != "" {
		if m.tmpl, err = chat.New(src); err != nil {
			net.Close()
			return nil, fmt.Errorf("tokenizer.chat_template: %w", err)
		}
	}
	m.nCtx = opt.Context
	if m.nCtx == 0 {
		m.nCtx = min(net.NCtxTrain, 4096)
	}
	if m.nCtx < 0 || m.nCtx > net.NCtxTrain {
		net.Close()
		return nil, fmt.Errorf("golem: context size %d: want 1 to the model's context length %d (%s.context_length)", opt.Context, net.NCtxTrain, net.Arch)
	}
	switch opt.KVType {
	case "", "f16", "f32", "q8_0":
		m.kvType = opt.KVType
	default:
		net.Close()
		return nil, fmt.Errorf("golem: KV cache type %q is not supported (supported: f16, f32, q8_0)", opt.KVType)
	}
	return m, nil
}

// Close releases the model's threads and file mapping.
func (m *Model) Close() error {
	var err error
	m.closeOnce.Do(func() {
		m.closed.Store(true)
		m.engOnce.Do(func() { m.engErr = ErrClosed }) // no engine after Close
		if m.eng != nil {
			m.eng.Close() // aborts running generations and waits for the engine goroutine
		}
		m.net.Close()
		if m.ownedFile {
			err = m.file.Close()
		}
	})
	return err
}

// Net returns the underlying transformer (for engines and tools).
func (m *Model) Net() *model.Model { return m.net }

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// File returns the model's GGUF file.
func (m *Model) File() *gguf.File { return m.file }

// Engine returns the model's in-process engine (created on first use): one running sequence,
// a paged KV cache of one context, prefix caching across calls.
func (m *Model) Engine() (*engine.Engine, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	m.engOnce.Do(func() {
		m.eng, m.engErr = engine.New(engine.Config{
			Model: m.net, Tokenizer: m.tok, Context: m.nCtx, KVType: m.kvType,
			MaxSeqs: 1, MaxBatchTokens: 512,
			// One context (rounded up to whole blocks): a chat's next turn shares its prefix
			// blocks with the cached previous turn, so no second context is needed, and the
			// budget is made resident at start.
			KVMemory: engine.KVBytesPerToken(m.net, m.kvType) * int64(m.nCtx+16),
		})
	})
	return m.eng, m.engErr
}

// ContextSize returns the context size in tokens generation uses.
func (m *Model) ContextSize() int { return m.nCtx }

// Tokenize turns text into token ids. addSpecial adds BOS/EOS as the model's metadata asks;
// parseSpecial turns special-token text (e.g. "<|im_start|>") into its token.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	return m.tok.Encode(text, addSpecial, parseSpecial)
}

// Detokenize turns token ids into text (special tokens rendered).
func (m *Model) Detokenize(ids []int32) string { return m.tok.Decode(ids, true) }

// Template returns the model's chat template, or ChatML when the file has none.
func (m *Model) Template() *chat.Template {
	if m.tmpl != nil {
		return m.tmpl
	}
	return chat.ChatML()
}

// HasTemplate reports whether the file carries tokenizer.chat_template.
func (m *Model) HasTemplate() bool { return m.tmpl != nil }

// RenderChat renders messages with the model's chat template (ChatML when it has none), with
// the generation prompt for the assistant's turn appended when addGenerationPrompt is set.
func (m *Model) RenderChat(msgs []chat.Message, addGenerationPrompt bool) (string, error) {
	bos, eos := "", ""
	if id := m.tok.BOS(); id >= 0 {
		bos = m.tok.Piece(id)
	}
	if id := m.tok.EOS(); id >= 0 {
		eos = m.tok.Piece(id)
	}
	return m.Template().Render(msgs, chat.Options{AddGenerationPrompt: addGenerationPrompt, BOSToken: bos, EOSToken: eos})
}
