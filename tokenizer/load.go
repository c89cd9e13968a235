package tokenizer

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/golem-llm/golem/gguf"
)

// metadata is the part of *gguf.File the tokenizer reads.
type metadata interface {
	String(key string) (string, bool)
	Uint(key string) (uint64, bool)
	Bool(key string) (bool, bool)
	Strings(key string) ([]string, bool)
	Float32s(key string) ([]float32, bool)
	Int32s(key string) ([]int32, bool)
}

var _ metadata = (*gguf.File)(nil)

// GGUF keys (llama.cpp src/llama-arch.cpp LLM_KV_TOKENIZER_*).
const (
	keyModel       = "tokenizer.ggml.model"
	keyPre         = "tokenizer.ggml.pre"
	keyTokens      = "tokenizer.ggml.tokens"
	keyScores      = "tokenizer.ggml.scores"
	keyTokenType   = "tokenizer.ggml.token_type"
	keyMerges      = "tokenizer.ggml.merges"
	keyAddBOS      = "tokenizer.ggml.add_bos_token"
	keyAddEOS      = "tokenizer.ggml.add_eos_token"
	keyAddPrefix   = "tokenizer.ggml.add_space_prefix"
	keyGeneralName = "general.name"
)

// Texts by which llama.cpp recognises special tokens the converter did not declare
// (llama_vocab::impl::load, "auto-detect special tokens by text").
var (
	eotTexts    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"}
	eomTexts    = []string{"<|eom_id|>"}
	fimPreTexts = []string{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"}
	fimSufTexts = []string{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"}
	fimMidTexts = []string{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"}
	fimPadTexts = []string{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"}
	fimRepTexts = []string{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"}
	fimSepTexts = []string{"<|file_sep|>"}
	eogTexts    = []string{"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["}
)

// FromGGUF builds the tokenizer of a GGUF file from its tokenizer.ggml.* metadata, with
// llama.cpp's defaults where keys are absent (llama_vocab::impl::load). Supported models are
// "llama" (SentencePiece) and "gpt2" (byte-level BPE, with the pre-tokenizers listed in the
// error for an unknown tokenizer.ggml.pre). Errors name the key at fault.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	return load(f)
}

func load(md metadata) (*Tokenizer, error) {
	model, ok := md.String(keyModel)
	if !ok {
		return nil, fmt.Errorf("tokenizer: %s: missing or not a string", keyModel)
	}
	t := &Tokenizer{
		bos: NoToken, eos: NoToken, eot: NoToken, eom: NoToken, unk: NoToken, pad: NoToken, sep: NoToken,
		fimPre: NoToken, fimSuf: NoToken, fimMid: NoToken, fimPad: NoToken, fimRep: NoToken, fimSep: NoToken,
	}
	tokens, ok := md.Strings(keyTokens)
	if !ok {
		return nil, fmt.Errorf("tokenizer: %s: missing or not an array of strings", keyTokens)
	}
	if len(tokens) == 0 || len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("tokenizer: %s: %d tokens", keyTokens, len(tokens))
	}
	n := len(tokens)

	switch model {
	case "llama":
		t.kind = kindSPM
		t.bos, t.eos, t.unk = 1, 2, 0
		t.addSpacePrefix, t.addBOS = true, true
	case "gpt2":
		t.kind = kindBPE
		t.bos, t.eos = 11, 11
		pre, ok := md.String(keyPre)
		if !ok || pre == "" {
			pre = "default" // llama.cpp warns "missing pre-tokenizer type, using: 'default'"
		}
		spec, ok := preTypes[pre]
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: unknown pre-tokenizer %q (supported: %s)", keyPre, pre, supportedPre())
		}
		t.pre = spec
		t.cleanSpaces, t.ignoreMerges, t.addBOS = spec.cleanSpaces, spec.ignoreMerges, spec.addBOS
		if spec.noBOS {
			t.bos = NoToken
		}
		merges, ok := md.Strings(keyMerges)
		if !ok {
			return nil, fmt.Errorf("tokenizer: %s: missing or not an array of strings", keyMerges)
		}
		if len(merges) > 1<<31-1 {
			return nil, fmt.Errorf("tokenizer: %s: %d merges", keyMerges, len(merges))
		}
		t.ranks = newStrTable(merges)
		for i, m := range merges {
			// llama.cpp splits at the first space after the first byte; a line without one
			// can never match a pair. Of duplicate lines the first rank stays (emplace).
			if strings.IndexByte(m[min(1, len(m)):], ' ') >= 0 {
				t.ranks.insert(i)
			}
		}
	default:
		return nil, fmt.Errorf("tokenizer: %s: unsupported tokenizer model %q (supported: llama, gpt2)", keyModel, model)
	}
	if v, ok := md.Bool(keyAddPrefix); ok {
		t.addSpacePrefix = v
	}

	scores, hasScores := md.Float32s(keyScores)
	if hasScores && len(scores) < n {
		return nil, fmt.Errorf("tokenizer: %s: %d scores for %d tokens", keyScores, len(scores), n)
	}
	types, hasTypes := md.Int32s(keyTokenType)
	if hasTypes && len(types) < n {
		return nil, fmt.Errorf("tokenizer: %s: %d types for %d tokens", keyTokenType, len(types), n)
	}
	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]attr, n)
	t.toID = newStrTable(t.tokens)
	for i, w := range tokens {
		if w == "" {
			w = "[EMPTY_" + strconv.Itoa(i) + "]"
		}
		t.tokens[i] = w
		if j, ok := t.toID.insert(i); !ok {
			return nil, fmt.Errorf("tokenizer: %s: duplicate token %q at ids %d and %d", keyTokens, w, j, i)
		}
		if hasScores {
			t.scores[i] = scores[i]
		}
		t.attrs[i] = attrNormal
		if hasTypes {
			switch types[i] {
			case TypeUnknown:
				t.attrs[i] = attrUnknown
			case TypeUnused:
				t.attrs[i] = attrUnused
			case TypeNormal:
				t.attrs[i] = attrNormal
			case TypeControl:
				t.attrs[i] = attrControl
			case TypeUserDefined:
				t.attrs[i] = attrUserDefined
			case TypeByte:
				t.attrs[i] = attrByte
			default:
				t.attrs[i] = 0 // LLAMA_TOKEN_ATTR_UNDEFINED
			}
		}
	}
	// Special ids: the model default unless a key gives an id inside the vocabulary.
	ids := []struct {
		key string
		id  *int32
	}{
		{"tokenizer.ggml.bos_token_id", &t.bos},
		{"tokenizer.ggml.eos_token_id", &t.eos},
		{"tokenizer.ggml.eot_token_id", &t.eot},
		{"tokenizer.ggml.eom_token_id", &t.eom},
		{"tokenizer.ggml.unknown_token_id", &t.unk},
		{"tokenizer.ggml.seperator_token_id", &t.sep}, // sic, as in llama-arch.cpp
		{"tokenizer.ggml.padding_token_id", &t.pad},
		{"tokenizer.ggml.fim_pre_token_id", &t.fimPre},
		{"tokenizer.ggml.fim_suf_token_id", &t.fimSuf},
		{"tokenizer.ggml.fim_mid_token_id", &t.fimMid},
		{"tokenizer.ggml.fim_pad_token_id", &t.fimPad},
		{"tokenizer.ggml.fim_rep_token_id", &t.fimRep},
		{"tokenizer.ggml.fim_sep_token_id", &t.fimSep},
		{"tokenizer.ggml.prefix_token_id", &t.fimPre}, // deprecated spellings
		{"tokenizer.ggml.suffix_token_id", &t.fimSuf},
		{"tokenizer.ggml.middle_token_id", &t.fimMid},
	}
	for _, s := range ids {
		if *s.id >= int32(n) {
			*s.id = NoToken
		}
		if v, ok := md.Uint(s.key); ok && v < uint64(n) {
			*s.id = int32(v)
		}
	}
	if v, ok := md.Bool(keyAddBOS); ok {
		t.addBOS = v
	}
	if v, ok := md.Bool(keyAddEOS); ok {
		t.addEOS = v
	}
	if t.addBOS && t.bos == NoToken {
		return nil, fmt.Errorf("tokenizer: %s is true, but tokenizer.ggml.bos_token_id is not set", keyAddBOS)
	}
	if t.addEOS && t.eos == NoToken {
		return nil, fmt.Errorf("tokenizer: %s is true, but tokenizer.ggml.eos_token_id is not set", keyAddEOS)
	}

	t.detectSpecial()
	name, _ := md.String(keyGeneralName)
	t.buildCaches(strings.ToLower(name))
	return t, nil
}

// find returns the id of the first of texts in the vocabulary, or NoToken. llama.cpp walks an
// unordered map, so when several match its choice is arbitrary; the list order decides here.
func (t *Tokenizer) find(texts []string) int32 {
	for _, s := range texts {
		if id, ok := t.toID.get(s); ok {
			return id
		}
	}
	return NoToken
}

// markControl gives id the CONTROL attribute, as llama.cpp does for "control-looking" tokens.
func (t *Tokenizer) markControl(id int32) {
	if id != NoToken {
		t.attrs[id] |= attrControl
	}
}

// detectSpecial fills undeclared EOT/EOM/FIM ids from token texts and builds the EOG set
// (llama_vocab::impl::load).
func (t *Tokenizer) detectSpecial() {
	for _, d := range []struct {
		id    *int32
		texts []string
	}{
		{&t.eot, eotTexts}, {&t.eom, eomTexts}, {&t.fimPre, fimPreTexts}, {&t.fimSuf, fimSufTexts},
		{&t.fimMid, fimMidTexts}, {&t.fimPad, fimPadTexts}, {&t.fimRep, fimRepTexts}, {&t.fimSep, fimSepTexts},
	} {
		if *d.id == NoToken {
			*d.id = t.find(d.texts)
			t.markControl(*d.id)
		}
	}
	eog := map[int32]bool{}
	for _, id := range []int32{t.fimPad, t.fimRep, t.fimSep} {
		if id != NoToken {
			eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := t.toID.get(s); ok {
			eog[id] = true
			t.markControl(id)
		}
	}
	// gpt-oss: these always render (llama.cpp sets them USER_DEFINED).
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID.get(s); ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != NoToken {
			eog[id] = true
		}
	}
	has := func(s string) bool { id, ok := t.toID.get(s); return ok && eog[id] }
	// o200k_harmony and solar-open: <|end|> ends a message, not the generation.
	if has("<|end|>") && (has("<|return|>") && has("<|call|>") || has("<|calls|>") && has("<|flush|>")) {
		id, _ := t.toID.get("<|end|>")
		delete(eog, id)
		t.attrs[id] = attrUserDefined
	}
	// gemma4 and paddleocr: </s> is not an end of generation.
	if has("<|tool_response>") && has("</s>") {
		id, _ := t.toID.get("</s>")
		delete(eog, id)
		t.attrs[id] = attrNormal
	}
	for id := range eog {
		t.eog = append(t.eog, id)
	}
	slices.Sort(t.eog)
}

// buildCaches builds the special-token list used by partition and the piece of every token.
func (t *Tokenizer) buildCaches(name string) {
	for id, a := range t.attrs {
		if a&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(id))
		}
	}
	// llama.cpp uses an unstable sort by length; ties keep id order here.
	sort.SliceStable(t.specials, func(i, j int) bool {
		return len(t.tokens[t.specials[i]]) > len(t.tokens[t.specials[j]])
	})

	// Pieces are computed before the per-model strip attributes below, as in llama.cpp.
	t.pieceOff = make([]uint32, len(t.tokens)+1)
	t.pieceBuf = make([]byte, 0, len(t.tokens)*8)
	for id := range t.tokens {
		t.pieceBuf = t.appendRawPiece(t.pieceBuf, int32(id))
		t.pieceOff[id+1] = uint32(len(t.pieceBuf))
	}

	// Phi-3 declares its special tokens with rstrip (llama.cpp matches the model name).
	if strings.Contains(name, "phi-3") || strings.Contains(name, "phi3") {
		for _, id := range t.specials {
			t.attrs[id] |= attrRStrip
		}
		if id, ok := t.toID.get("</s>"); ok {
			t.attrs[id] |= attrRStrip
		}
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			if id, ok := t.toID.get(s); ok {
				t.attrs[id] &^= attrRStrip
			}
		}
	}
}
