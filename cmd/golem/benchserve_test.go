package main

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/server"
)

func TestLatencySummary(t *testing.T) {
	// numpy.percentile([1..10], [50, 90, 99]) = 5.5, 9.1, 9.91
	v := []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}
	s := latencySummary(v)
	if s.Mean != 5.5 || s.P50 != 5.5 || abs(s.P90-9.1) > 1e-12 || abs(s.P99-9.91) > 1e-12 || s.Max != 10 {
		t.Fatalf("%+v", s)
	}
	if v[0] != 10 {
		t.Fatal("input was reordered")
	}
	if s := latencySummary([]float64{3}); s.P50 != 3 || s.P99 != 3 || s.Max != 3 {
		t.Fatalf("%+v", s)
	}
	if s := latencySummary(nil); s != (latencyStats{}) {
		t.Fatalf("%+v", s)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestParseCounters(t *testing.T) {
	m := parseCounters(strings.NewReader(`# HELP golem:prompt_tokens_computed_total x
# TYPE golem:prompt_tokens_computed_total counter
golem:prompt_tokens_computed_total{model_name="a"} 100
golem:prompt_tokens_computed_total{model_name="b"} 23
golem:steps 7
garbage line
`))
	if m["golem:prompt_tokens_computed_total"] != 123 || m["golem:steps"] != 7 || len(m) != 2 {
		t.Fatalf("%v", m)
	}
}

func TestParseBytes(t *testing.T) {
	for in, want := range map[string]int64{"2GiB": 2 << 30, "512MiB": 512 << 20, "1.5GB": 1.5e9, "4096": 4096, "64k": 64 << 10, "3 MiB": 3 << 20} {
		if got, err := parseBytes(in); err != nil || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "-1GiB", "0", "12XB", "1e30"} {
		if _, err := parseBytes(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestServedName(t *testing.T) {
	for in, want := range map[string]string{
		"":                               golem.DefaultModelName,
		"/models/Llama-3.2-1B.Q8_0.gguf": "Llama-3.2-1B.Q8_0",
		"bartowski/Qwen2.5-0.5B-Instruct-GGUF:Qwen2.5-0.5B-Instruct-Q4_K_M.gguf": "Qwen2.5-0.5B-Instruct-Q4_K_M",
	} {
		if got := servedName(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestSyntheticPrompts(t *testing.T) {
	ps := syntheticPrompts(rand.New(rand.NewPCG(1, 2)), 5, 40, 7, 32, 100)
	first := ps[0].prompt.([]int32)
	for i, p := range ps {
		ids := p.prompt.([]int32)
		if len(ids) != 40 || p.inputLen != 40 || p.outputLen != 7 {
			t.Fatalf("prompt %d: %d tokens", i, len(ids))
		}
		for k, id := range ids {
			if id < 3 || id >= 100 {
				t.Fatalf("prompt %d token %d = %d outside [3, 100)", i, k, id)
			}
			if k < 32 && id != first[k] {
				t.Fatalf("prompt %d differs from prompt 0 inside the shared prefix at %d", i, k)
			}
		}
		if i > 0 && equalIDs(ids[32:], first[32:]) {
			t.Fatalf("prompt %d has the same tail as prompt 0", i)
		}
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestBenchServeSharedPrefix runs `golem bench serve --burst --shared-prefix-len` against a
// server on the embedded model and checks the report: every request completes, the output
// token count is exact, and the server computed the shared prefix once (plus each tail).
func TestBenchServeSharedPrefix(t *testing.T) {
	m, err := golem.LoadDefault(golem.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	e, err := engine.New(engine.Config{Model: m.Net(), Tokenizer: m.Tokenizer(), Context: 256, MaxSeqs: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	s := server.New(server.Config{APIKey: "k", Logger: slog.New(slog.DiscardHandler)})
	s.SetModel(server.Model{Name: "stories", Backend: e})
	hs := httptest.NewServer(s)
	defer hs.Close()

	out := filepath.Join(t.TempDir(), "bench.json")
	stdout, stderr, err := runCLI(t, "", "bench", "serve", "--base-url", hs.URL, "--api-key", "k", "--num-prompts", "6",
		"--input-len", "48", "--output-len", "5", "--shared-prefix-len", "32", "--burst", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{"Successful requests:               6", "TTFT", "Prompt tokens computed by server:"} {
		if !strings.Contains(stdout, want) {
			t.Fatalf("output lacks %q:\n%s", want, stdout)
		}
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep serveReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Completed != 6 || rep.Errors != 0 || rep.TotalOutputTokens != 30 || rep.TotalInputTokens != 6*48 || rep.Model != "stories" {
		t.Fatalf("%s", raw)
	}
	if rep.TTFT.P50 <= 0 || rep.E2E.Max < rep.TTFT.Max || rep.OutputThroughput <= 0 {
		t.Fatalf("latencies %s", raw)
	}
	// 32 shared tokens (two 16-token blocks) once, then 16 per prompt.
	if rep.ExpectedPrefixCompute != 32+6*16 || rep.PromptTokensComputed == nil || *rep.PromptTokensComputed != float64(rep.ExpectedPrefixCompute) {
		t.Fatalf("prompt tokens computed %v, want %d", rep.PromptTokensComputed, rep.ExpectedPrefixCompute)
	}
}
