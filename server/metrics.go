package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/golem-llm/golem/engine"
)

// Metrics use prometheus/client_golang with a registry per Server. Names follow vLLM's
// (vllm/engine/metrics.py) with "golem:" for "vllm:"; every series carries the model_name
// label as vLLM's do. Histograms are observed by the server as requests stream and finish;
// gauges and engine counters are read from engine.Stats at scrape time.

// Bucket bounds in seconds, vLLM's.
var (
	ttftBuckets = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
	itlBuckets  = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
	e2eBuckets  = []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}
)

type metrics struct {
	reg                         *prometheus.Registry
	ttft, itl, tpot, e2e, queue *prometheus.HistogramVec
	success                     *prometheus.CounterVec
	aborted                     *prometheus.CounterVec
	handler                     http.Handler
}

func newMetrics(s *Server) *metrics {
	hist := func(name, help string, b []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: b}, []string{"model_name"})
	}
	m := &metrics{
		reg:     prometheus.NewRegistry(),
		ttft:    hist("golem:time_to_first_token_seconds", "Histogram of time to first token in seconds (submit to first token).", ttftBuckets),
		itl:     hist("golem:inter_token_latency_seconds", "Histogram of the time between consecutive tokens of a request, in seconds.", itlBuckets),
		tpot:    hist("golem:time_per_output_token_seconds", "Histogram of a request's mean time per output token after the first, in seconds.", itlBuckets),
		e2e:     hist("golem:e2e_request_latency_seconds", "Histogram of end-to-end request latency in seconds.", e2eBuckets),
		queue:   hist("golem:request_queue_time_seconds", "Histogram of the time requests spent waiting before first scheduled, in seconds.", e2eBuckets),
		success: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "golem:request_success_total", Help: "Requests (choices) finished, by finish reason."}, []string{"model_name", "finished_reason"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "golem:request_aborted_total", Help: "Requests (choices) aborted by a disconnect, a drain or an error."}, []string{"model_name"}),
	}
	m.reg.MustRegister(m.ttft, m.itl, m.tpot, m.e2e, m.queue, m.success, m.aborted, &engineCollector{s: s})
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// finish records one finished engine request (one choice) of model.
func (m *metrics) finish(model string, u engine.Usage, reason string) {
	if reason == "abort" || reason == "error" {
		m.aborted.WithLabelValues(model).Inc()
		return
	}
	m.success.WithLabelValues(model, reason).Inc()
	m.e2e.WithLabelValues(model).Observe(u.E2E.Seconds())
	m.queue.WithLabelValues(model).Observe(u.QueueTime.Seconds())
	if u.CompletionTokens > 0 {
		m.ttft.WithLabelValues(model).Observe(u.TTFT.Seconds())
	}
	if u.CompletionTokens > 1 {
		m.tpot.WithLabelValues(model).Observe((u.E2E - u.TTFT).Seconds() / float64(u.CompletionTokens-1))
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	s.metrics.handler.ServeHTTP(w, r)
}

// engineCollector reads the engine's gauges and counters at scrape time.
type engineCollector struct{ s *Server }

type engineMetric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType
	get  func(*engine.Stats) float64
}

var engineMetrics = func() []engineMetric {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, []string{"model_name"}, nil)
	}
	g, c := prometheus.GaugeValue, prometheus.CounterValue
	return []engineMetric{
		{d("golem:num_requests_running", "Number of requests in the running batch."), g, func(s *engine.Stats) float64 { return float64(s.Running) }},
		{d("golem:num_requests_waiting", "Number of requests waiting to be scheduled."), g, func(s *engine.Stats) float64 { return float64(s.Waiting) }},
		{d("golem:kv_cache_blocks_used", "KV cache blocks referenced by requests."), g, func(s *engine.Stats) float64 { return float64(s.KVBlocksUsed) }},
		{d("golem:kv_cache_blocks_cached", "Unreferenced KV cache blocks kept for prefix hits (evictable)."), g, func(s *engine.Stats) float64 { return float64(s.KVBlocksCached) }},
		{d("golem:kv_cache_blocks_total", "KV cache blocks in the memory budget."), g, func(s *engine.Stats) float64 { return float64(s.KVBlocks) }},
		{d("golem:kv_cache_usage_perc", "KV cache usage: used blocks over total, 1 means 100 percent."), g, func(s *engine.Stats) float64 {
			if s.KVBlocks == 0 {
				return 0
			}
			return float64(s.KVBlocksUsed) / float64(s.KVBlocks)
		}},
		{d("golem:prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache."), c, func(s *engine.Stats) float64 { return float64(s.PrefixQueries) }},
		{d("golem:prefix_cache_hits_total", "Prompt tokens found in the prefix cache."), c, func(s *engine.Stats) float64 { return float64(s.PrefixHits) }},
		{d("golem:num_preemptions_total", "Cumulative number of preemptions."), c, func(s *engine.Stats) float64 { return float64(s.Preemptions) }},
		{d("golem:prompt_tokens_total", "Prompt tokens of requests that produced their first token, prefix-cache hits included (as vLLM's)."), c, func(s *engine.Stats) float64 { return float64(s.PromptTokens) }},
		{d("golem:prompt_tokens_computed_total", "Prompt tokens run through the model (prefill), prefix-cache hits excluded."), c, func(s *engine.Stats) float64 { return float64(s.PromptTokensComputed) }},
		{d("golem:generation_tokens_total", "Generated tokens."), c, func(s *engine.Stats) float64 { return float64(s.GenerationTokens) }},
		{d("golem:engine_steps_total", "Engine steps (forward passes)."), c, func(s *engine.Stats) float64 { return float64(s.Steps) }},
	}
}()

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range engineMetrics {
		ch <- m.desc
	}
}

// Collect reports nothing while the model loads.
func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.model.Load()
	if m == nil {
		return
	}
	st := m.Backend.Stats()
	for _, em := range engineMetrics {
		ch <- prometheus.MustNewConstMetric(em.desc, em.typ, em.get(&st), m.Name)
	}
}
