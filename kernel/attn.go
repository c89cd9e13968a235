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

// AttendRow computes attention for one query row (NHead heads) over n cached positions
// whose K and V rows (NHeadKV·HeadDim floats each, position-major) are read through kAt and
// vAt, writing NHead·HeadDim floats to out. scores must hold n floats.
//
// The arithmetic is llama.cpp's non-flash path (llm_graph_context::build_attn_mha):
// s_j = scale·(q_h·k_j), softmax over j with a float64 sum, out_h = Σ_j p_j·v_j.
func AttendRow(q []float32, n int, shape AttnShape, kAt, vAt func(j int) []float32, out, scores []float32, h0, h1 int) {
	hd := shape.HeadDim
	group := shape.NHead / shape.NHeadKV
	for h := h0; h < h1; h++ {
		kvh := h / group
		qh := q[h*hd : (h+1)*hd]
		sc := scores[:n]
		for j := 0; j < n; j++ {
			kr := kAt(j)[kvh*hd : (kvh+1)*hd]
			sc[j] = DotF32(qh, kr) * shape.Scale
		}
		SoftmaxInPlace(sc)
		oh := out[h*hd : (h+1)*hd]
		clear(oh)
		for j := 0; j < n; j++ {
			vr := vAt(j)[kvh*hd : (kvh+1)*hd]
			p := sc[j]
			for d := range oh {
				oh[d] += p * vr[d]
			}
		}
	}
}
