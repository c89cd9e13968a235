package model

import (
	"fmt"

	"github.com/golem-llm/golem/kernel"
)

// scratch holds the activations of one forward pass, grown to the largest batch seen
// and reused so steady-state decoding allocates nothing.
type scratch struct {
	cap                 int
	x, xn, q, k, v, att []float32
	o, gate, up, down   []float32
	ropeCache           []float32
	rows                []int // batch rows that need logits
	hid, logits         []float32
	out                 [][]float32
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

func (m *Model) ensure(T int) {
	s := &m.s
	if s.cap >= T {
		return
	}
	q, kv := m.NHead*m.HeadDim, m.NHeadKV*m.HeadDim
	s.x = make([]float32, T*m.NEmbd)
	s.xn = make([]float32, T*max(m.NEmbd, q))
	s.q = make([]float32, T*q)
	s.k = make([]float32, T*kv)
	s.v = make([]float32, T*kv)
	s.att = make([]float32, T*q)
	s.o = make([]float32, T*m.NEmbd)
	s.gate = make([]float32, T*m.NFF)
	s.up = make([]float32, T*m.NFF)
	s.down = make([]float32, T*m.NEmbd)
	s.ropeCache = make([]float32, T*m.Rope.NDims)
	s.cap = T
}

// Forward runs the batch through the model, writing K/V of every token into kv, and
// returns the logits (n_vocab floats each) of the rows that asked for them, in batch
// order: for each Seq, none, its last token, or all its tokens. The returned slices are
// owned by the model and valid until the next call.
//
// Errors: a token id outside the vocabulary or an empty batch; nothing is written to kv
// then.
func (m *Model) Forward(b *Batch, kv KV) ([][]float32, error) {
	T := b.NumTokens()
	if T == 0 {
		return nil, fmt.Errorf("model: empty batch")
	}
	for si := range b.Seqs {
		sq := &b.Seqs[si]
		if sq.Pos < 0 {
			return nil, fmt.Errorf("model: sequence %d: negative position %d", sq.ID, sq.Pos)
		}
		for _, t := range sq.Tokens {
			if t < 0 || int(t) >= m.NVocab {
				return nil, fmt.Errorf("model: sequence %d: token id %d outside the vocabulary (n_vocab %d)", sq.ID, t, m.NVocab)
			}
		}
	}
	m.ensure(T)
	s := &m.s
	E := m.NEmbd
	qd, kvd := m.NHead*m.HeadDim, m.NHeadKV*m.HeadDim
	shape := kernel.AttnShape{NHead: m.NHead, NHeadKV: m.NHeadKV, HeadDim: m.HeadDim, Scale: 1 / sqrt32(float32(m.HeadDim))}

	// Token embeddings: ggml_get_rows dequantizes each row to float32.
	r := 0
	for si := range b.Seqs {
		for _, t := range b.Seqs[si].Tokens {
			if err := kernel.DequantizeRow(m.TokEmbd.Type, m.TokEmbd.Row(int(t)), s.x[r*E:(r+1)*E]); err != nil {
				return nil, fmt.Errorf("model: token_embd row %d: %w", t, err)
			}
			r++
		}
	}
	// RoPE's cos/sin depend on the position only: once per token, not per layer.
	nd := m.Rope.NDims
	r = 0
	for si := range b.Seqs {
		for i := range b.Seqs[si].Tokens {
			m.Rope.Cache(b.Seqs[si].Pos+i, s.ropeCache[r*nd:(r+1)*nd])
			r++
		}
	}
	x, xn := s.x[:T*E], s.xn[:T*E]
	for il := range m.Layers {
		ly := &m.Layers[il]
		for r := 0; r < T; r++ {
			kernel.RMSNorm(xn[r*E:(r+1)*E], x[r*E:(r+1)*E], ly.AttnNorm, m.NormEps)
		}
		q, k, v := s.q[:T*qd], s.k[:T*kvd], s.v[:T*kvd]
		m.pool.MatMulGroup(xn, T, kernel.MatMulOp{Out: q, W: &ly.Wq}, kernel.MatMulOp{Out: k, W: &ly.Wk}, kernel.MatMulOp{Out: v, W: &ly.Wv})
		if ly.Bq != nil {
			for r := 0; r < T; r++ {
				kernel.Add(q[r*qd:(r+1)*qd], q[r*qd:(r+1)*qd], ly.Bq)
				kernel.Add(k[r*kvd:(r+1)*kvd], k[r*kvd:(r+1)*kvd], ly.Bk)
				kernel.Add(v[r*kvd:(r+1)*kvd], v[r*kvd:(r+1)*kvd], ly.Bv)
			}
		}
		if ly.QNorm != nil {
			hd := m.HeadDim
			for h := 0; h < T*m.NHead; h++ {
				kernel.RMSNorm(q[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd], ly.QNorm, m.NormEps)
			}
			for h := 0; h < T*m.NHeadKV; h++ {
				kernel.RMSNorm(k[h*hd:(h+1)*hd], k[h*hd:(h+1)*hd], ly.KNorm, m.NormEps)
			}
		}
		for r := 0; r < T; r++ {
			rc := s.ropeCache[r*nd : (r+1)*nd]
			m.Rope.ApplyCached(q[r*qd:(r+1)*qd], m.NHead, m.HeadDim, rc)
			m.Rope.ApplyCached(k[r*kvd:(r+1)*kvd], m.NHeadKV, m.HeadDim, rc)
		}
		att := s.att[:T*qd]
		r = 0
		for si := range b.Seqs {
			sq := &b.Seqs[si]
			n := len(sq.Tokens)
			if n == 0 {
				continue
			}
			kv.Store(il, sq.ID, sq.Pos, n, k[r*kvd:(r+n)*kvd], v[r*kvd:(r+n)*kvd])
			kv.Attend(il, sq.ID, sq.Pos, n, q[r*qd:(r+n)*qd], att[r*qd:(r+n)*qd], shape)
			r += n
		}
		o := s.o[:T*E]
		m.pool.MatMul(o, &ly.Wo, att, T)
		kernel.Add(x, x, o)

		for r := 0; r < T; r++ {
			kernel.RMSNorm(xn[r*E:(r+1)*E], x[r*E:(r+1)*E], ly.FFNNorm, m.NormEps)
		}
		g, u, d := s.gate[:T*m.NFF], s.up[:T*m.NFF], s.down[:T*E]
		m.pool.MatMulGroup(xn, T, kernel.MatMulOp{Out: g, W: &ly.Gate}, kernel.MatMulOp{Out: u, W: &ly.Up})
		kernel.SiLUMul(g, g, u)
		m.pool.MatMul(d, &ly.Down, g, T)
		kernel.Add(x, x, d)
	}

	// Output rows: the final norm and the vocabulary projection only where logits are asked.
	s.rows = s.rows[:0]
	r = 0
	for si := range b.Seqs {
		sq := &b.Seqs[si]
		n := len(sq.Tokens)
		switch sq.Logits {
		case LogitsLast:
			if n > 0 {
				s.rows = append(s.rows, r+n-1)
			}
		case LogitsAll:
			for i := 0; i < n; i++ {
				s.rows = append(s.rows, r+i)
			}
		}
		r += n
	}
	R := len(s.rows)
	if R == 0 {
		return nil, nil
	}
	s.hid = grow(s.hid, R*E)
	for i, row := range s.rows {
		kernel.RMSNorm(s.hid[i*E:(i+1)*E], x[row*E:(row+1)*E], m.OutNorm, m.NormEps)
	}
	V := m.NVocab
	s.logits = grow(s.logits, R*V)
	m.pool.MatMul(s.logits, &m.Output, s.hid, R)
	s.out = s.out[:0]
	for i := 0; i < R; i++ {
		s.out = append(s.out, s.logits[i*V:(i+1)*V])
	}
	return s.out, nil
}

// Hidden returns the final-norm hidden states (n_embd floats) of the rows of the last
// Forward call that asked for logits, in the same order; valid until the next call.
func (m *Model) Hidden() [][]float32 {
	E := m.NEmbd
	out := make([][]float32, len(m.s.rows))
	for i := range out {
		out[i] = m.s.hid[i*E : (i+1)*E]
	}
	return out
}
