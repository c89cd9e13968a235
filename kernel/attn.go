package kernel

// AttnShape describes multi-head attention with grouped-query heads (GQA): query head h reads
// K/V head h / (NHead/NHeadKV). Rows of Q and of the output are NHead·HeadDim floats (head-major);
// rows of K and V are NHeadKV·HeadDim floats.
type AttnShape struct {
	NHead   int     // n_head
	NHeadKV int     // n_head_kv
	HeadDim int     // n_embd_head_k (= n_embd_head_v here)
	Scale   float32 // kq_scale, usually 1/sqrt(HeadDim)
}
