package tokenizer

// AddSpacePrefix reports whether the vocabulary adds a space before the text (SentencePiece's
// add_dummy_prefix, tokenizer.ggml.add_space_prefix); Decode then drops one leading space of
// the first piece, and so does golem's generation output for its first token.
func (t *Tokenizer) AddSpacePrefix() bool { return t.addSpacePrefix }

// EncodePrompt tokenizes a prompt as llama.cpp's CLI and llama-server do: special-token text
// parsed, BOS/EOS added as the model asks when addSpecial is set — keeping a single BOS when
// the text (typically a rendered chat template that writes bos_token itself) already starts
// with one.
func (t *Tokenizer) EncodePrompt(text string, addSpecial bool) ([]int32, error) {
	ids, err := t.Encode(text, addSpecial, true)
	if err != nil {
		return nil, err
	}
	if bos := t.bos; addSpecial && bos >= 0 && len(ids) >= 2 && ids[0] == bos && ids[1] == bos {
		ids = ids[1:]
	}
	return ids, nil
}
