package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
	"github.com/spf13/cobra"
)

// benchFlags are the flags of `golem bench` (the model benchmark, llama-bench's pp/tg tests).
type benchFlags struct {
	mf         modelFlags
	pp, tg     int
	reps       int
	asJSON     bool
	membw      bool
	membwMiB   int
	bwGBs      float64
	cpuProfile string
}

// addModelBench puts the model benchmark's flags and RunE on c (the `bench` command).
func addModelBench(c *cobra.Command) {
	var bf benchFlags
	bf.mf.add(c)
	f := c.Flags()
	f.IntVarP(&bf.pp, "n-prompt", "p", 512, "prefill test: tokens processed in one batch (0 = skip)")
	f.IntVarP(&bf.tg, "n-gen", "n", 128, "decode test: tokens generated one at a time (0 = skip)")
	f.IntVarP(&bf.reps, "repetitions", "r", 5, "timed repetitions of each test (after one warm-up)")
	f.BoolVar(&bf.asJSON, "json", false, "print the results as JSON")
	f.BoolVar(&bf.membw, "membw", false, "only measure the machine's read bandwidth (all threads, streaming reads)")
	f.IntVar(&bf.membwMiB, "membw-size", 1024, "buffer size in MiB for the bandwidth measurement")
	f.Float64Var(&bf.bwGBs, "bw", 0, "read bandwidth in GB/s to compare decode with (default: measure it, about a second)")
	f.StringVar(&bf.cpuProfile, "cpuprofile", "", "write a CPU profile of the timed runs to this file (go tool pprof)")
	c.Args = cobra.NoArgs
	c.RunE = func(cmd *cobra.Command, _ []string) error { return bf.run(cmd) }
}

// testResult is one test's speeds over the repetitions.
type testResult struct {
	Test    string    `json:"test"` // "pp512", "tg128"
	Tokens  int       `json:"n_tokens"`
	Median  float64   `json:"tok_s_median"`
	Min     float64   `json:"tok_s_min"`
	Max     float64   `json:"tok_s_max"`
	Samples []float64 `json:"tok_s_samples"`
	// Decode only: weight bytes streamed per second at the median speed, and that as a
	// percentage of the measured read bandwidth.
	GBs   float64 `json:"gb_s,omitempty"`
	PctBW float64 `json:"pct_membw,omitempty"`
}

type benchReport struct {
	Model       string       `json:"model"`
	Types       string       `json:"types"`
	WeightBytes int64        `json:"weight_bytes"` // bytes of weights read per decoded token
	Threads     int          `json:"threads"`
	Impl        string       `json:"kernels"`
	MemBWGBs    float64      `json:"membw_gb_s"`
	Tests       []testResult `json:"tests"`
}

func (bf *benchFlags) measureBW(p *kernel.Pool) (float64, error) {
	bw, err := kernel.MeasureReadBandwidth(p, int64(bf.membwMiB)<<20, 5)
	return bw / 1e9, err
}

func (bf *benchFlags) run(cmd *cobra.Command) error {
	out := cmd.OutOrStdout()
	if bf.reps < 1 {
		return fmt.Errorf("bench: --repetitions %d: need at least 1", bf.reps)
	}
	if bf.pp < 0 || bf.tg < 0 {
		return fmt.Errorf("bench: -p %d / -n %d: token counts must not be negative", bf.pp, bf.tg)
	}
	if bf.membwMiB < 1 {
		return fmt.Errorf("bench: --membw-size %d MiB: must be positive", bf.membwMiB)
	}
	if bf.membw {
		p := kernel.NewPool(bf.mf.threads)
		defer p.Close()
		bw, err := bf.measureBW(p)
		if err != nil {
			return err
		}
		if bf.asJSON {
			return json.NewEncoder(out).Encode(map[string]any{"membw_gb_s": bw, "threads": p.Threads(), "bytes": int64(bf.membwMiB) << 20, "kernels": kernel.Impl()})
		}
		fmt.Fprintf(out, "read bandwidth: %.1f GB/s (%d threads, %d MiB, %s loads, best of 5)\n", bw, p.Threads(), bf.membwMiB, loadKind())
		return nil
	}

	m, err := bf.mf.load(cmd.Context())
	if err != nil {
		return err
	}
	defer m.Close()
	net := m.Net()
	rep := benchReport{Model: m.Name, Threads: net.Threads(), Impl: kernel.Impl()}
	rep.WeightBytes, rep.Types = weightBytes(net)
	rep.MemBWGBs = bf.bwGBs
	if rep.MemBWGBs <= 0 && bf.tg > 0 {
		if rep.MemBWGBs, err = bf.measureBW(net.Pool()); err != nil {
			return err
		}
	}
	if lim := net.NCtxTrain; bf.pp > lim || bf.tg > lim {
		return fmt.Errorf("bench: -p %d / -n %d: more tokens than the model's context length %d", bf.pp, bf.tg, lim)
	}
	nCtx := max(bf.pp, bf.tg, 1)
	// The paged cache, as `golem run` and `golem serve` use it (through the engine).
	var typ gguf.Type
	switch bf.mf.kvType {
	case "f16":
		typ = gguf.TypeF16
	case "f32":
		typ = gguf.TypeF32
	case "q8_0":
		typ = gguf.TypeQ8_0
	default:
		return fmt.Errorf("bench: --kv-type %q: want f16, f32 or q8_0", bf.mf.kvType)
	}
	pc := kvcache.PagedConfig{NLayer: net.NLayer, NHeadKV: net.NHeadKV, HeadDim: net.HeadDim, Type: typ, Pool: net.Pool()}
	bb, err := pc.BlockBytes()
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	pc.Budget = bb * int64((nCtx+kvcache.DefaultBlockSize-1)/kvcache.DefaultBlockSize)
	kv, err := kvcache.NewPaged(pc)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	toks := make([]int32, nCtx)
	for i := range toks {
		toks[i] = int32(rng.IntN(net.NVocab))
	}

	if bf.cpuProfile != "" {
		f, err := os.Create(bf.cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("bench: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	ctx := cmd.Context()
	if bf.pp > 0 {
		r, err := runTest(ctx.Err, fmt.Sprintf("pp%d", bf.pp), bf.pp, bf.reps, func(warm bool) (time.Duration, error) {
			return timePrefill(ctx.Err, net, kv, toks[:bf.pp])
		})
		if err != nil {
			return err
		}
		rep.Tests = append(rep.Tests, r)
	}
	if bf.tg > 0 {
		r, err := runTest(ctx.Err, fmt.Sprintf("tg%d", bf.tg), bf.tg, bf.reps, func(warm bool) (time.Duration, error) {
			n := bf.tg
			if warm {
				n = min(n, 16)
			}
			return timeDecode(ctx.Err, net, kv, toks[:n])
		})
		if err != nil {
			return err
		}
		r.GBs = float64(rep.WeightBytes) * r.Median / 1e9
		if rep.MemBWGBs > 0 {
			r.PctBW = 100 * r.GBs / rep.MemBWGBs
		}
		rep.Tests = append(rep.Tests, r)
	}
	if bf.asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(out, &rep)
	return nil
}

// loadKind names the loads --membw uses: 256-bit (AVX2) or the pure-Go reference's.
func loadKind() string {
	if kernel.Impl() == "ref" {
		return "pure-Go"
	}
	return "256-bit"
}

// runTest runs one warm-up and reps timed runs of a test of n tokens.
func runTest(cancelled func() error, name string, n, reps int, once func(warm bool) (time.Duration, error)) (testResult, error) {
	r := testResult{Test: name, Tokens: n}
	if _, err := once(true); err != nil {
		return r, err
	}
	for range reps {
		if err := cancelled(); err != nil {
			return r, err
		}
		d, err := once(false)
		if err != nil {
			return r, err
		}
		r.Samples = append(r.Samples, float64(n)/d.Seconds())
	}
	s := slices.Clone(r.Samples)
	sort.Float64s(s)
	r.Min, r.Max = s[0], s[len(s)-1]
	if len(s)%2 == 1 {
		r.Median = s[len(s)/2]
	} else {
		r.Median = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return r, nil
}

// ubatch is how many prompt tokens one forward pass takes, llama.cpp's default n_ubatch: a
// longer prompt is processed in chunks, as llama-bench does, which also bounds the scratch
// memory and lets an interrupt stop the test between chunks.
const ubatch = 512

// timePrefill processes toks as one prompt from position 0 (an empty cache), as llama-bench's
// pp test does, asking logits for the last token only.
func timePrefill(cancelled func() error, net *model.Model, kv *kvcache.Paged, toks []int32) (time.Duration, error) {
	if err := admit(kv, toks); err != nil {
		return 0, err
	}
	defer kv.Blocks().Release(0)
	start := time.Now()
	for pos := 0; pos < len(toks); pos += ubatch {
		if err := cancelled(); err != nil {
			return 0, err
		}
		end := min(pos+ubatch, len(toks))
		mode := model.LogitsNone
		if end == len(toks) {
			mode = model.LogitsLast
		}
		b := model.Batch{Seqs: []model.Seq{{ID: 0, Pos: pos, Tokens: toks[pos:end], Logits: mode}}}
		if _, err := net.Forward(&b, kv); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// timeDecode decodes toks one at a time from position 0 (llama-bench's tg test), with logits for
// each; sampling is not part of the measurement.
func timeDecode(cancelled func() error, net *model.Model, kv *kvcache.Paged, toks []int32) (time.Duration, error) {
	if err := admit(kv, toks); err != nil {
		return 0, err
	}
	defer kv.Blocks().Release(0)
	b := model.Batch{Seqs: []model.Seq{{ID: 0, Logits: model.LogitsLast}}}
	start := time.Now()
	for i := range toks {
		if i%16 == 0 {
			if err := cancelled(); err != nil {
				return 0, err
			}
		}
		b.Seqs[0].Pos = i
		b.Seqs[0].Tokens = toks[i : i+1]
		if _, err := net.Forward(&b, kv); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

// admit gives sequence 0 a block table covering toks. The blocks are never committed, so they
// are freed, not cached, when the test releases them: every run computes from an empty cache.
func admit(kv *kvcache.Paged, toks []int32) error {
	if _, err := kv.Blocks().Admit(0, toks); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// weightBytes returns the bytes of weight matrices one decode step reads (every layer's
// projections and the output projection; the one embedding row and the norms are negligible)
// and a summary of their types by share of bytes.
func weightBytes(net *model.Model) (int64, string) {
	by := map[gguf.Type]int64{}
	add := func(m *kernel.Matrix) { by[m.Type] += int64(len(m.Data)) }
	for i := range net.Layers {
		l := &net.Layers[i]
		for _, m := range []*kernel.Matrix{&l.Wq, &l.Wk, &l.Wv, &l.Wo, &l.Gate, &l.Up, &l.Down} {
			add(m)
		}
	}
	add(&net.Output)
	var total int64
	types := make([]gguf.Type, 0, len(by))
	for t, n := range by {
		total += n
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return by[types[i]] > by[types[j]] })
	var parts []string
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", t, 100*float64(by[t])/float64(total)))
	}
	return total, strings.Join(parts, " + ")
}

func printBench(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "model: %s (%s), %.1f MB of weights read per token\n", r.Model, r.Types, float64(r.WeightBytes)/1e6)
	if r.MemBWGBs > 0 {
		fmt.Fprintf(w, "read bandwidth: %.1f GB/s\n", r.MemBWGBs)
	}
	fmt.Fprintf(w, "| %-7s | %7s | %-10s | %14s | %8s | %8s | %7s | %6s |\n", "test", "threads", "kernel", "t/s (median)", "min", "max", "GB/s", "% BW")
	fmt.Fprintf(w, "|%s|%s|%s|%s|%s|%s|%s|%s|\n", strings.Repeat("-", 9), strings.Repeat("-", 9), strings.Repeat("-", 12),
		strings.Repeat("-", 16), strings.Repeat("-", 10), strings.Repeat("-", 10), strings.Repeat("-", 9), strings.Repeat("-", 8))
	for _, t := range r.Tests {
		gbs, pct := "", ""
		if t.GBs > 0 {
			gbs = fmt.Sprintf("%.1f", t.GBs)
		}
		if t.PctBW > 0 {
			pct = fmt.Sprintf("%.0f%%", t.PctBW)
		}
		fmt.Fprintf(w, "| %-7s | %7d | %-10s | %14.2f | %8.2f | %8.2f | %7s | %6s |\n", t.Test, r.Threads, r.Impl, t.Median, t.Min, t.Max, gbs, pct)
	}
}

// newBenchCmd is `golem bench`: the model benchmark itself; subcommands (bench serve) may be
// added to it.
func newBenchCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "bench [-m MODEL] [-p 512] [-n 128] [-r 5] [--threads N] [--json] | bench --membw",
		Short: "Measure prefill (pp) and decode (tg) speed like llama-bench, and the machine's read bandwidth",
		Long: `Measure a model's prefill speed (pp: -p tokens in one batch from an empty cache) and decode
speed (tg: -n tokens one at a time), each as tokens per second: median, min and max over -r runs after
one warm-up, as llama-bench reports them. Decode also shows the weight bytes streamed per second
(weight bytes per token × tok/s) and that as a percentage of the machine's read bandwidth, which
--membw measures alone (all threads reading a 1 GiB buffer with 256-bit loads).

Compare with llama.cpp on the same file and thread count in the same session
(../shared/bench/llamacpp_bench.mjs -m FILE -p 512 -n 128 -r 5 -t 2).`,
	}
	addModelBench(c)
	c.AddCommand(newBenchServeCmd())
	return c
}
