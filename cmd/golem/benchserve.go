package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
)

type benchServeFlags struct {
	baseURL         string
	apiKey          string
	model           string
	numPrompts      int
	requestRate     string
	concurrency     int
	inputLen        int
	outputLen       int
	sharedPrefixLen int
	burst           bool
	dataset         string
	vocab           int
	seed            uint64
	out             string
	timeout         time.Duration
}

func newBenchServeCmd() *cobra.Command {
	var f benchServeFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Load-test a running OpenAI-compatible server: throughput, TTFT, TPOT, ITL, E2E",
		Long: `Drive a running server (golem serve, vLLM, llama-server …) with streamed /v1/completions
requests and measure, per request, the time to first token (TTFT), the time per output token after
the first (TPOT), the gaps between streamed chunks (ITL) and the end-to-end latency (E2E), as vLLM's
benchmark_serving does.

Arrivals are a Poisson process of --request-rate requests per second ("inf", the default, sends all
at once), optionally capped at --concurrency requests in flight; --burst sends everything at once.
Synthetic prompts are --input-len random token ids drawn from [3, --vocab) sent as a token-array
prompt (so lengths are exact); with --shared-prefix-len N they all begin with the same N tokens.
Each asks for --output-len tokens with ignore_eos. --dataset reads a JSONL file of
{"prompt": "text" or [ids], "output_len": n} instead.

When the server exposes golem:prompt_tokens_computed_total on /metrics, the prompt tokens it actually
computed during the run are reported (prefix-cache hits are not computed).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBenchServe(cmd.Context(), cmd, &f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.baseURL, "base-url", "http://127.0.0.1:8080", "server URL")
	fl.StringVar(&f.apiKey, "api-key", "", "Bearer key (default: $GOLEM_API_KEY)")
	fl.StringVar(&f.model, "model", "", "model name to send (default: the first of /v1/models)")
	fl.IntVar(&f.numPrompts, "num-prompts", 100, "requests to send")
	fl.StringVar(&f.requestRate, "request-rate", "inf", "mean arrival rate in requests/s (Poisson), or inf")
	fl.IntVar(&f.concurrency, "concurrency", 0, "most requests in flight (0: no limit)")
	fl.IntVar(&f.inputLen, "input-len", 128, "prompt tokens per synthetic request (shared prefix included)")
	fl.IntVar(&f.outputLen, "output-len", 128, "tokens to generate per request")
	fl.IntVar(&f.sharedPrefixLen, "shared-prefix-len", 0, "synthetic prompts share their first N tokens")
	fl.BoolVar(&f.burst, "burst", false, "send every request at once (overrides --request-rate)")
	fl.StringVar(&f.dataset, "dataset", "", "JSONL file of {\"prompt\": text or token ids, \"output_len\": n}")
	fl.IntVar(&f.vocab, "vocab", 500, "synthetic token ids are drawn from [3, vocab); keep it within the model's vocabulary")
	fl.Uint64Var(&f.seed, "seed", 0, "random seed for prompts and arrivals")
	fl.StringVar(&f.out, "out", "", "write the results as JSON to this file")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "per-request timeout")
	return c
}

// benchPrompt is one request to send.
type benchPrompt struct {
	prompt    any // string or []int32
	inputLen  int // tokens, when known
	outputLen int
}

// benchResult is one request's measurements.
type benchResult struct {
	ok           bool
	err          string
	start        time.Time
	ttft, e2e    time.Duration
	itl          []time.Duration
	outputTokens int
	promptTokens int
}

// latencyStats are the summary statistics of a latency, in milliseconds.
type latencyStats struct {
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// serveReport is what --out writes.
type serveReport struct {
	BaseURL               string       `json:"base_url"`
	Model                 string       `json:"model"`
	NumPrompts            int          `json:"num_prompts"`
	RequestRate           string       `json:"request_rate"`
	Concurrency           int          `json:"concurrency"`
	Burst                 bool         `json:"burst"`
	InputLen              int          `json:"input_len,omitempty"`
	OutputLen             int          `json:"output_len,omitempty"`
	SharedPrefixLen       int          `json:"shared_prefix_len,omitempty"`
	Completed             int          `json:"completed"`
	Errors                int          `json:"errors"`
	ErrorSamples          []string     `json:"error_samples,omitempty"`
	DurationS             float64      `json:"duration_s"`
	TotalInputTokens      int          `json:"total_input_tokens"`
	TotalOutputTokens     int          `json:"total_output_tokens"`
	RequestThroughput     float64      `json:"request_throughput"`      // completed requests/s
	OutputThroughput      float64      `json:"output_throughput"`       // output tokens/s
	TotalTokenThroughput  float64      `json:"total_token_throughput"`  // (input+output) tokens/s
	PromptTokensComputed  *float64     `json:"prompt_tokens_computed"`  // golem:prompt_tokens_computed_total delta, null when unknown
	PrefixCacheHitTokens  *float64     `json:"prefix_cache_hit_tokens"` // golem:prefix_cache_hits_total delta
	ExpectedPrefixCompute int          `json:"expected_prompt_tokens_with_sharing,omitempty"`
	TTFT                  latencyStats `json:"ttft"`
	TPOT                  latencyStats `json:"tpot"`
	ITL                   latencyStats `json:"itl"`
	E2E                   latencyStats `json:"e2e"`
}

func runBenchServe(ctx context.Context, cmd *cobra.Command, f *benchServeFlags) error {
	if f.apiKey == "" {
		f.apiKey = os.Getenv("GOLEM_API_KEY")
	}
	f.baseURL = strings.TrimRight(f.baseURL, "/")
	rate := math.Inf(1)
	if f.requestRate != "inf" {
		r, err := strconv.ParseFloat(f.requestRate, 64)
		if err != nil || r <= 0 || math.IsNaN(r) {
			return fmt.Errorf("--request-rate %q: want a positive number or inf", f.requestRate)
		}
		rate = r
	}
	if f.burst {
		rate = math.Inf(1)
	}
	if f.numPrompts <= 0 {
		return fmt.Errorf("--num-prompts must be positive (got %d)", f.numPrompts)
	}
	if f.concurrency < 0 {
		return fmt.Errorf("--concurrency must not be negative (got %d)", f.concurrency)
	}
	rng := rand.New(rand.NewPCG(f.seed, 0x9e3779b97f4a7c15))
	var prompts []benchPrompt
	var err error
	if f.dataset != "" {
		if prompts, err = readDataset(f.dataset, f.numPrompts, f.outputLen); err != nil {
			return err
		}
	} else {
		if f.inputLen <= 0 || f.outputLen <= 0 {
			return fmt.Errorf("--input-len and --output-len must be positive (got %d, %d)", f.inputLen, f.outputLen)
		}
		if f.sharedPrefixLen < 0 || f.sharedPrefixLen > f.inputLen {
			return fmt.Errorf("--shared-prefix-len %d must be between 0 and --input-len %d", f.sharedPrefixLen, f.inputLen)
		}
		if f.vocab <= 3 {
			return fmt.Errorf("--vocab must be more than 3 (got %d)", f.vocab)
		}
		prompts = syntheticPrompts(rng, f.numPrompts, f.inputLen, f.outputLen, f.sharedPrefixLen, f.vocab)
	}
	client := &http.Client{Timeout: f.timeout}
	if f.model == "" {
		if f.model, err = firstModel(ctx, client, f); err != nil {
			return err
		}
	}
	before := scrapeMetrics(ctx, client, f)

	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "bench serve: %d requests to %s (%s), rate %s, concurrency %d\n", len(prompts), f.baseURL, f.model, rateString(rate), f.concurrency)
	results := make([]benchResult, len(prompts))
	var sem chan struct{}
	if f.concurrency > 0 {
		sem = make(chan struct{}, f.concurrency)
	}
	var wg sync.WaitGroup
	start := time.Now()
	next := start
	for i, p := range prompts {
		if !math.IsInf(rate, 1) {
			next = next.Add(time.Duration(rng.ExpFloat64() / rate * float64(time.Second)))
			if d := time.Until(next); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
				}
			}
		}
		if ctx.Err() != nil {
			break
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
		}
		wg.Go(func() {
			results[i] = sendStreamed(ctx, client, f, p)
			if sem != nil {
				<-sem
			}
		})
	}
	wg.Wait()
	dur := time.Since(start)
	after := scrapeMetrics(ctx, client, f)

	rep := summarizeServe(results, dur)
	rep.BaseURL, rep.Model, rep.NumPrompts, rep.RequestRate, rep.Concurrency, rep.Burst = f.baseURL, f.model, len(prompts), rateString(rate), f.concurrency, f.burst
	if f.dataset == "" {
		rep.InputLen, rep.OutputLen, rep.SharedPrefixLen = f.inputLen, f.outputLen, f.sharedPrefixLen
		if f.sharedPrefixLen > 0 && len(prompts) > 1 { // one prompt shares nothing with itself
			rep.ExpectedPrefixCompute = f.sharedPrefixLen + len(prompts)*(f.inputLen-f.sharedPrefixLen)
		}
	}
	if before != nil && after != nil {
		if b, ok := before["golem:prompt_tokens_computed_total"]; ok {
			d := after["golem:prompt_tokens_computed_total"] - b
			rep.PromptTokensComputed = &d
		}
		if b, ok := before["golem:prefix_cache_hits_total"]; ok {
			d := after["golem:prefix_cache_hits_total"] - b
			rep.PrefixCacheHitTokens = &d
		}
	}
	printServeReport(w, &rep)
	if f.out != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(f.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	if rep.Completed == 0 {
		return fmt.Errorf("no request succeeded (%d errors)", rep.Errors)
	}
	return nil
}

func rateString(r float64) string {
	if math.IsInf(r, 1) {
		return "inf"
	}
	return strconv.FormatFloat(r, 'g', -1, 64)
}

// syntheticPrompts makes n prompts of inLen random token ids in [3, vocab), the first shared
// of them common to all.
func syntheticPrompts(rng *rand.Rand, n, inLen, outLen, shared, vocab int) []benchPrompt {
	prefix := make([]int32, shared)
	for i := range prefix {
		prefix[i] = int32(3 + rng.IntN(vocab-3))
	}
	out := make([]benchPrompt, n)
	for i := range out {
		ids := make([]int32, inLen)
		copy(ids, prefix)
		for k := shared; k < inLen; k++ {
			ids[k] = int32(3 + rng.IntN(vocab-3))
		}
		out[i] = benchPrompt{prompt: ids, inputLen: inLen, outputLen: outLen}
	}
	return out
}

// readDataset reads up to n prompts from a JSONL file: {"prompt": "text" | [ids],
// "output_len": n}; lines are reused in order when the file has fewer than n.
func readDataset(path string, n, defOut int) ([]benchPrompt, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var all []benchPrompt
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; sc.Scan(); line++ {
		t := bytes.TrimSpace(sc.Bytes())
		if len(t) == 0 {
			continue
		}
		var rec struct {
			Prompt    json.RawMessage `json:"prompt"`
			OutputLen int             `json:"output_len"`
		}
		if err := json.Unmarshal(t, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		p := benchPrompt{outputLen: defOut}
		if rec.OutputLen > 0 {
			p.outputLen = rec.OutputLen
		}
		var s string
		var ids []int32
		switch {
		case json.Unmarshal(rec.Prompt, &s) == nil && s != "":
			p.prompt = s
		case json.Unmarshal(rec.Prompt, &ids) == nil && len(ids) > 0:
			p.prompt, p.inputLen = ids, len(ids)
		default:
			return nil, fmt.Errorf("%s:%d: \"prompt\" must be a non-empty string or token-id array", path, line)
		}
		all = append(all, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("%s: no prompts", path)
	}
	out := make([]benchPrompt, n)
	for i := range out {
		out[i] = all[i%len(all)]
	}
	return out, nil
}

func authorize(req *http.Request, key string) {
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
}

func firstModel(ctx context.Context, c *http.Client, f *benchServeFlags) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", f.baseURL+"/v1/models", nil)
	if err != nil {
		return "", err
	}
	authorize(req, f.apiKey)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("listing models at %s: %w", f.baseURL, err)
	}
	defer resp.Body.Close()
	var list struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 || json.Unmarshal(body, &list) != nil || len(list.Data) == 0 {
		return "", fmt.Errorf("listing models at %s: status %d: %s", f.baseURL, resp.StatusCode, bytes.TrimSpace(body))
	}
	return list.Data[0].ID, nil
}

// scrapeMetrics reads /metrics and sums each golem:*_total counter over its label sets; nil
// when the server has no such endpoint.
func scrapeMetrics(ctx context.Context, c *http.Client, f *benchServeFlags) map[string]float64 {
	req, err := http.NewRequestWithContext(ctx, "GET", f.baseURL+"/metrics", nil)
	if err != nil {
		return nil
	}
	authorize(req, f.apiKey)
	resp, err := c.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil
	}
	return parseCounters(resp.Body)
}

// parseCounters sums the samples of each metric name in a Prometheus text exposition.
func parseCounters(r io.Reader) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		name := line[:sp]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		out[name] += v
	}
	return out
}

// sendStreamed sends one streamed completion and times its chunks.
func sendStreamed(ctx context.Context, c *http.Client, f *benchServeFlags, p benchPrompt) benchResult {
	res := benchResult{start: time.Now(), promptTokens: p.inputLen}
	body, _ := json.Marshal(map[string]any{
		"model": f.model, "prompt": p.prompt, "max_tokens": p.outputLen, "temperature": 0, "ignore_eos": true,
		"stream": true, "stream_options": map[string]bool{"include_usage": true},
	})
	req, err := http.NewRequestWithContext(ctx, "POST", f.baseURL+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		res.err = err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	authorize(req, f.apiKey)
	resp, err := c.Do(req)
	if err != nil {
		res.err = err.Error()
		return res
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		res.err = fmt.Sprintf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
		return res
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var last time.Time
	chunks, done := 0, false
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		now := time.Now()
		if data == "[DONE]" {
			done = true
			break
		}
		var ch struct {
			Choices []struct {
				Text string `json:"text"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int `json:"prompt_tokens"`
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(data), &ch); err != nil {
			res.err = "bad chunk: " + err.Error()
			return res
		}
		if ch.Error != nil {
			res.err = "stream error: " + ch.Error.Message
			return res
		}
		if ch.Usage != nil {
			res.promptTokens, res.outputTokens = ch.Usage.PromptTokens, ch.Usage.CompletionTokens
		}
		if len(ch.Choices) == 0 || ch.Choices[0].Text == "" {
			continue
		}
		chunks++
		if last.IsZero() {
			res.ttft = now.Sub(res.start)
		} else {
			res.itl = append(res.itl, now.Sub(last))
		}
		last = now
	}
	if err := sc.Err(); err != nil {
		res.err = err.Error()
		return res
	}
	if !done {
		res.err = "stream ended without [DONE]"
		return res
	}
	res.e2e = time.Since(res.start)
	if res.outputTokens == 0 {
		res.outputTokens = chunks // servers without usage in the stream: one chunk per token
	}
	res.ok = true
	return res
}

func summarizeServe(rs []benchResult, dur time.Duration) serveReport {
	var rep serveReport
	var ttft, tpot, itl, e2e []float64
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, r := range rs {
		if !r.ok {
			if r.err == "" {
				r.err = "not sent (interrupted)"
			}
			rep.Errors++
			if len(rep.ErrorSamples) < 5 {
				rep.ErrorSamples = append(rep.ErrorSamples, r.err)
			}
			continue
		}
		rep.Completed++
		rep.TotalInputTokens += r.promptTokens
		rep.TotalOutputTokens += r.outputTokens
		ttft = append(ttft, ms(r.ttft))
		e2e = append(e2e, ms(r.e2e))
		if r.outputTokens > 1 {
			tpot = append(tpot, ms(r.e2e-r.ttft)/float64(r.outputTokens-1))
		}
		for _, d := range r.itl {
			itl = append(itl, ms(d))
		}
	}
	rep.DurationS = dur.Seconds()
	if s := dur.Seconds(); s > 0 {
		rep.RequestThroughput = float64(rep.Completed) / s
		rep.OutputThroughput = float64(rep.TotalOutputTokens) / s
		rep.TotalTokenThroughput = float64(rep.TotalInputTokens+rep.TotalOutputTokens) / s
	}
	rep.TTFT, rep.TPOT, rep.ITL, rep.E2E = latencySummary(ttft), latencySummary(tpot), latencySummary(itl), latencySummary(e2e)
	return rep
}

// latencySummary summarizes v; percentiles interpolate linearly between order statistics (numpy's
// default, as vLLM's benchmark reports them).
func latencySummary(v []float64) latencyStats {
	if len(v) == 0 {
		return latencyStats{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return latencyStats{Mean: sum / float64(len(s)), P50: percentile(s, 50), P90: percentile(s, 90), P99: percentile(s, 99), Max: s[len(s)-1]}
}

// percentile of sorted s, q in [0, 100].
func percentile(s []float64, q float64) float64 {
	pos := q / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func printServeReport(w io.Writer, r *serveReport) {
	fmt.Fprintf(w, "%-34s %d\n", "Successful requests:", r.Completed)
	fmt.Fprintf(w, "%-34s %d\n", "Errors:", r.Errors)
	for _, e := range r.ErrorSamples {
		fmt.Fprintf(w, "  %s\n", e)
	}
	fmt.Fprintf(w, "%-34s %.2f\n", "Duration (s):", r.DurationS)
	fmt.Fprintf(w, "%-34s %d\n", "Total input tokens:", r.TotalInputTokens)
	fmt.Fprintf(w, "%-34s %d\n", "Total output tokens:", r.TotalOutputTokens)
	fmt.Fprintf(w, "%-34s %.2f\n", "Request throughput (req/s):", r.RequestThroughput)
	fmt.Fprintf(w, "%-34s %.2f\n", "Output token throughput (tok/s):", r.OutputThroughput)
	fmt.Fprintf(w, "%-34s %.2f\n", "Total token throughput (tok/s):", r.TotalTokenThroughput)
	if r.PromptTokensComputed != nil {
		fmt.Fprintf(w, "%-34s %.0f", "Prompt tokens computed by server:", *r.PromptTokensComputed)
		if r.ExpectedPrefixCompute > 0 {
			fmt.Fprintf(w, " (shared prefix once + tails = %d; without sharing %d)", r.ExpectedPrefixCompute, r.TotalInputTokens)
		}
		fmt.Fprintln(w)
	}
	if r.PrefixCacheHitTokens != nil {
		fmt.Fprintf(w, "%-34s %.0f\n", "Prefix cache hit tokens:", *r.PrefixCacheHitTokens)
	}
	fmt.Fprintf(w, "\n%-6s %10s %10s %10s %10s %10s\n", "(ms)", "mean", "p50", "p90", "p99", "max")
	for _, row := range []struct {
		name string
		s    latencyStats
	}{{"TTFT", r.TTFT}, {"TPOT", r.TPOT}, {"ITL", r.ITL}, {"E2E", r.E2E}} {
		fmt.Fprintf(w, "%-6s %10.2f %10.2f %10.2f %10.2f %10.2f\n", row.name, row.s.Mean, row.s.P50, row.s.P90, row.s.P99, row.s.Max)
	}
}
