package model

// Seq is one sequence's part of a ragged batch: Tokens at consecutive positions Pos,
// Pos+1, …, Pos+len(Tokens)-1 of the sequence whose K/V the cache keeps under ID.
// A prompt chunk has many tokens; a decode step has one.
type Seq struct {
	ID     int
	Pos    int
	Tokens []int32
	Logits LogitsMode
}

// LogitsMode says which rows of a Seq need logits.
type LogitsMode uint8

const (
	LogitsNone LogitsMode = iota // only fill the KV cache (an early prompt chunk)
	LogitsLast                   // the last token only (sampling the next token)
	LogitsAll                    // every token (scoring, goldens)
)

// Batch is one forward pass over several sequences of different lengths at different
// positions. Weights are read once for the whole batch.
type Batch struct {
	Seqs []Seq
}

// NumTokens returns the total number of tokens in the batch.
func (b *Batch) NumTokens() int {
	n := 0
	for i := range b.Seqs {
		n += len(b.Seqs[i].Tokens)
	}
	return n
}
