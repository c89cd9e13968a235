package tokenizer

// AddSpacePrefix reports whether the vocabulary adds a space before the text (SentencePiece's
// add_dummy_prefix, tokenizer.ggml.add_space_prefix); Decode then drops one leading space of
// the first piece, and so does golem's generation output for its first token.
func (t *Tokenizer) AddSpacePrefix() bool { return t.addSpacePrefix }
