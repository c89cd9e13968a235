package server

import (
	"bufio"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/golem-llm/golem/engine"
)

// The metrics are written in the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/) by the code below rather
// than with client_golang, whose dependency tree is not part of this module. Names follow
// vLLM's (vllm/engine/metrics.py) with "golem:" for "vllm:"; every series carries the
// model_name label as vLLM's do. Histograms are observed by the server when a request
// finishes; gauges and engine counters are read from engine.Stats at scrape time.

// Bucket bounds in seconds, vLLM's.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
	itlBuckets  = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
	e2eBuckets  = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}
)

// histogram is a cumulative-bucket histogram safe for concurrent use.
type histogram struct {
	name, help string
	bounds     []float64
	mu         sync.Mutex
	counts     []uint64 // per bucket, not cumulative; last is +Inf
	sum        float64
	n          uint64
}

func newHistogram(name, help string, bounds []float64) *histogram {
	return &histogram{name: name, help: help, bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

// observe adds v (seconds). Bucket le=b counts values ≤ b, as Prometheus defines it.
func (h *histogram) observe(v float64) {
	i, _ := slices.BinarySearch(h.bounds, v)
	h.mu.Lock()
	h.counts[i]++
	h.sum += v
	h.n++
	h.mu.Unlock()
}

type metrics struct {
	ttft, itl, tpot, e2e, queue *histogram

	mu       sync.Mutex
	finished map[string]uint64 // request_success_total by finished_reason
	aborted  uint64
}

func newMetrics() *metrics {
	return &metrics{
		ttft:     newHistogram("golem:time_to_first_token_seconds", "Histogram of time to first token in seconds (submit to first token).", ttftBuckets),
		itl:      newHistogram("golem:inter_token_latency_seconds", "Histogram of the time between consecutive tokens of a request, in seconds.", itlBuckets),
		tpot:     newHistogram("golem:time_per_output_token_seconds", "Histogram of a request's mean time per output token after the first, in seconds.", itlBuckets),
		e2e:      newHistogram("golem:e2e_request_latency_seconds", "Histogram of end-to-end request latency in seconds.", e2eBuckets),
		queue:    newHistogram("golem:request_queue_time_seconds", "Histogram of the time requests spent waiting before first scheduled, in seconds.", e2eBuckets),
		finished: map[string]uint64{},
	}
}

// finish records one finished engine request (one choice).
func (m *metrics) finish(u engine.Usage, reason string) {
	if reason == "abort" || reason == "error" {
		m.mu.Lock()
		m.aborted++
		m.mu.Unlock()
		return
	}
	m.mu.Lock()
	m.finished[reason]++
	m.mu.Unlock()
	m.e2e.observe(u.E2E.Seconds())
	m.queue.observe(u.QueueTime.Seconds())
	if u.CompletionTokens > 0 {
		m.ttft.observe(u.TTFT.Seconds())
	}
	if u.CompletionTokens > 1 {
		m.tpot.observe((u.E2E - u.TTFT).Seconds() / float64(u.CompletionTokens-1))
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	name := ""
	if m != nil {
		name = m.Name
	}
	var st *engine.Stats
	if m != nil {
		x := m.Backend.Stats()
		st = &x
	}
	s.metrics.write(bw, name, st)
	bw.Flush()
}

// write renders every metric; st is nil while the model loads.
func (m *metrics) write(w *bufio.Writer, model string, st *engine.Stats) {
	lbl := `model_name="` + escapeLabel(model) + `"`
	scalar := func(name, typ, help string, v float64) {
		w.WriteString("# HELP " + name + " " + help + "\n# TYPE " + name + " " + typ + "\n")
		w.WriteString(name + "{" + lbl + "} " + fmtFloat(v) + "\n")
	}
	if st != nil {
		scalar("golem:num_requests_running", "gauge", "Number of requests in the running batch.", float64(st.Running))
		scalar("golem:num_requests_waiting", "gauge", "Number of requests waiting to be scheduled.", float64(st.Waiting))
		scalar("golem:kv_cache_blocks_used", "gauge", "KV cache blocks referenced by requests.", float64(st.KVBlocksUsed))
		scalar("golem:kv_cache_blocks_cached", "gauge", "Unreferenced KV cache blocks kept for prefix hits (evictable).", float64(st.KVBlocksCached))
		scalar("golem:kv_cache_blocks_total", "gauge", "KV cache blocks in the memory budget.", float64(st.KVBlocks))
		perc := 0.0
		if st.KVBlocks > 0 {
			perc = float64(st.KVBlocksUsed) / float64(st.KVBlocks)
		}
		scalar("golem:kv_cache_usage_perc", "gauge", "KV cache usage: used blocks over total, 1 means 100 percent.", perc)
		scalar("golem:prefix_cache_queries_total", "counter", "Prompt tokens looked up in the prefix cache.", float64(st.PrefixQueries))
		scalar("golem:prefix_cache_hits_total", "counter", "Prompt tokens found in the prefix cache.", float64(st.PrefixHits))
		scalar("golem:num_preemptions_total", "counter", "Cumulative number of preemptions.", float64(st.Preemptions))
		scalar("golem:prompt_tokens_total", "counter", "Prompt tokens computed (prefill), cache hits excluded.", float64(st.PromptTokens))
		scalar("golem:generation_tokens_total", "counter", "Generated tokens.", float64(st.GenerationTokens))
		scalar("golem:engine_steps_total", "counter", "Engine steps (forward passes).", float64(st.Steps))
	}
	m.mu.Lock()
	reasons := make([]string, 0, len(m.finished))
	for k := range m.finished {
		reasons = append(reasons, k)
	}
	slices.Sort(reasons)
	w.WriteString("# HELP golem:request_success_total Requests (choices) finished, by finish reason.\n# TYPE golem:request_success_total counter\n")
	for _, k := range reasons {
		w.WriteString(`golem:request_success_total{` + lbl + `,finished_reason="` + escapeLabel(k) + `"} ` + strconv.FormatUint(m.finished[k], 10) + "\n")
	}
	aborted := m.aborted
	m.mu.Unlock()
	scalar("golem:request_aborted_total", "counter", "Requests (choices) aborted by a disconnect, a drain or an error.", float64(aborted))
	for _, h := range []*histogram{m.ttft, m.itl, m.tpot, m.e2e, m.queue} {
		h.write(w, lbl)
	}
}

func (h *histogram) write(w *bufio.Writer, lbl string) {
	h.mu.Lock()
	counts := slices.Clone(h.counts)
	sum, n := h.sum, h.n
	h.mu.Unlock()
	w.WriteString("# HELP " + h.name + " " + h.help + "\n# TYPE " + h.name + " histogram\n")
	var cum uint64
	for i, c := range counts {
		cum += c
		le := "+Inf"
		if i < len(h.bounds) {
			le = fmtFloat(h.bounds[i])
		}
		w.WriteString(h.name + "_bucket{" + lbl + `,le="` + le + `"} ` + strconv.FormatUint(cum, 10) + "\n")
	}
	w.WriteString(h.name + "_sum{" + lbl + "} " + fmtFloat(sum) + "\n")
	w.WriteString(h.name + "_count{" + lbl + "} " + strconv.FormatUint(n, 10) + "\n")
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// escapeLabel escapes a label value: backslash, double quote and newline.
func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
