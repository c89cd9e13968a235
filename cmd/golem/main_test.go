package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs golem with args in-process and returns stdout and stderr.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRoot()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

type storiesGolden struct {
	Prompts []struct {
		Prompt    string  `json:"prompt"`
		Tokens    []int32 `json:"tokens"`
		Positions []struct {
			Top5IDs      []int32   `json:"top5_ids"`
			Top5Logprobs []float64 `json:"top5_logprobs"`
		} `json:"positions"`
		Greedy200     []int32 `json:"greedy200"`
		Greedy200Text string  `json:"greedy200_text"`
	} `json:"prompts"`
}

func golden(t *testing.T) storiesGolden {
	raw, err := os.ReadFile("../../testdata/models/stories260K.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g storiesGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// The README's main job: the embedded model's greedy story, exactly llama.cpp's text.
func TestRunDefaultModelStory(t *testing.T) {
	g := golden(t)
	for _, gp := range g.Prompts {
		out, stderr, err := runCLI(t, "", "run", "-p", gp.Prompt, "-n", "200", "--ignore-eos")
		if err != nil {
			t.Fatalf("%q: %v\n%s", gp.Prompt, err, stderr)
		}
		if out != gp.Greedy200Text+"\n" {
			t.Errorf("%q: stdout\n%q\nwant llama.cpp's\n%q", gp.Prompt, out, gp.Greedy200Text)
		}
		if !strings.Contains(stderr, "tok/s") || !strings.Contains(stderr, "prompt: "+itoa(len(gp.Tokens))+" tokens") {
			t.Errorf("%q: stats on stderr: %q", gp.Prompt, stderr)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// The prompt may come on stdin.
func TestRunPromptFromStdin(t *testing.T) {
	a, _, err := runCLI(t, "Once upon a time", "run", "-n", "20")
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := runCLI(t, "", "run", "-p", "Once upon a time", "-n", "20")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || a == "\n" {
		t.Errorf("stdin prompt gave %q, -p gave %q", a, b)
	}
}

type jsonOut struct {
	PromptTokens []int32 `json:"prompt_tokens"`
	Tokens       []int32 `json:"tokens"`
	Text         string  `json:"text"`
	Logprobs     []struct {
		ID      int32   `json:"id"`
		Logprob float64 `json:"logprob"`
		Top     []struct {
			ID      int32   `json:"id"`
			Logprob float64 `json:"logprob"`
		} `json:"top_logprobs"`
	} `json:"logprobs"`
}

// --json logprobs agree with llama.cpp's: generating from the empty prompt (BOS) walks the
// same sequence as the golden prompt "Once upon a time", whose per-position top-5 are known.
func TestRunJSONLogprobsAgreeWithGolden(t *testing.T) {
	g := golden(t)
	// The goldens were made with an F32 K/V cache; golem run defaults to F16 like llama.cpp.
	out, stderr, err := runCLI(t, "", "run", "-p", "", "-n", "5", "--json", "--top-logprobs", "5", "--kv-type", "f32")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	var r jsonOut
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	ref := g.Prompts[0] // "Once upon a time": BOS Once upon a time
	if ref.Prompt != "Once upon a time" || len(r.Logprobs) != 5 {
		t.Fatalf("unexpected golden or output: %q, %d logprobs", ref.Prompt, len(r.Logprobs))
	}
	for i, lp := range r.Logprobs {
		pos := ref.Positions[i]
		if lp.ID != pos.Top5IDs[0] {
			t.Fatalf("token %d: id %d, llama.cpp's greedy %d", i, lp.ID, pos.Top5IDs[0])
		}
		if math.Abs(lp.Logprob-pos.Top5Logprobs[0]) > 1e-3 {
			t.Errorf("token %d: logprob %.6f, llama.cpp %.6f", i, lp.Logprob, pos.Top5Logprobs[0])
		}
		for j, alt := range lp.Top {
			if alt.ID != pos.Top5IDs[j] || math.Abs(alt.Logprob-pos.Top5Logprobs[j]) > 1e-3 {
				t.Errorf("token %d alternative %d: %d %.6f, llama.cpp %d %.6f", i, j, alt.ID, alt.Logprob, pos.Top5IDs[j], pos.Top5Logprobs[j])
			}
		}
	}
	if len(r.PromptTokens) != 1 || r.PromptTokens[0] != 1 {
		t.Errorf("prompt tokens %v, want [1] (BOS)", r.PromptTokens)
	}
}

func runText(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, err := runCLI(t, "", append([]string{"run", "-p", "Once upon a time", "-n", "40"}, args...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	return out
}

// Sampling on real weights: a seed fixes the text; other seeds and the truncation flags
// change it as documented.
func TestRunSampling(t *testing.T) {
	greedy := runText(t)
	a := runText(t, "--temp", "0.8", "--seed", "42")
	if b := runText(t, "--temp", "0.8", "--seed", "42"); a != b {
		t.Errorf("same seed, different text:\n%q\n%q", a, b)
	}
	differ := 0
	for _, s := range []string{"1", "2", "3", "4"} {
		if runText(t, "--temp", "0.8", "--seed", s) != a {
			differ++
		}
	}
	if differ < 3 {
		t.Errorf("only %d of 4 other seeds changed the story", differ)
	}
	// top-k 1 keeps only the most likely token: greedy whatever the temperature and seed.
	if got := runText(t, "--temp", "1.5", "--seed", "9", "--top-k", "1"); got != greedy {
		t.Errorf("--top-k 1 gave %q, want the greedy %q", got, greedy)
	}
	// min-p 1 keeps only tokens as likely as the best: greedy again.
	if got := runText(t, "--temp", "1.5", "--seed", "9", "--min-p", "1"); got != greedy {
		t.Errorf("--min-p 1 gave %q, want the greedy %q", got, greedy)
	}
	// A tiny top-p keeps only the top token too.
	if got := runText(t, "--temp", "1.5", "--seed", "9", "--top-p", "0.01", "--top-k", "0", "--min-p", "0"); got != greedy {
		t.Errorf("--top-p 0.01 gave %q, want the greedy %q", got, greedy)
	}
	// Untruncated at a high temperature, the text changes.
	if got := runText(t, "--temp", "1.5", "--seed", "9", "--top-k", "0", "--top-p", "1", "--min-p", "0"); got == greedy {
		t.Errorf("temperature 1.5 without truncation gave the greedy text")
	}
}

func TestTokenize(t *testing.T) {
	out, _, err := runCLI(t, "", "tokenize", "--json", "Once upon a time", "Lily and Tom went to the park. They saw")
	if err != nil {
		t.Fatal(err)
	}
	g := golden(t)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %q", out)
	}
	for i, line := range lines {
		var r struct {
			Text string  `json:"text"`
			IDs  []int32 `json:"ids"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if r.Text != g.Prompts[i].Prompt || !equal(r.IDs, g.Prompts[i].Tokens) {
			t.Errorf("line %d: %+v, want llama.cpp's %v", i, r, g.Prompts[i].Tokens)
		}
	}
	out, _, err = runCLI(t, "", "tokenize", "--no-bos", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	if out != "403 407 261 378\n" {
		t.Errorf("--no-bos: %q", out)
	}
}

func equal(a, b []int32) bool {
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

// golem inspect on every model and vocabulary file of the test data.
func TestInspectEveryTestFile(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/models/*.gguf")
	vocabs, _ := filepath.Glob("../../tokenizer/testdata/*.gguf")
	if len(files) < 5 || len(vocabs) < 4 {
		t.Fatalf("test files missing: %v %v", files, vocabs)
	}
	for _, f := range append(files, vocabs...) {
		out, _, err := runCLI(t, "", "inspect", f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		model := strings.Contains(f, "/models/")
		if model && !strings.Contains(out, "supported:     yes") {
			t.Errorf("%s: not supported:\n%s", f, out)
		}
		if !model && !strings.Contains(out, "supported:     no: model: tensor \"token_embd.weight\" missing") &&
			!strings.Contains(out, "supported:     no: model: architecture \"gpt2\" is not supported (supported: llama, qwen2, qwen3)") {
			t.Errorf("%s (vocabulary only): want unsupported for the missing tensors:\n%s", f, out)
		}
	}
	out, _, err := runCLI(t, "", "inspect", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Arch    string         `json:"architecture"`
		NParams int64          `json:"n_params"`
		Sup     bool           `json:"supported"`
		HParams map[string]any `json:"hparams"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	// 260K parameters: 512×64 embeddings + 5 blocks of attention and FFN + norms.
	if r.Arch != "llama" || !r.Sup || r.NParams < 200000 || r.NParams > 300000 {
		t.Errorf("embedded model: %+v", r)
	}
	// Hyper-parameters keep their JSON types.
	if r.HParams["block_count"] != 5.0 || r.HParams["attention.layer_norm_rms_epsilon"] != 1e-05 {
		t.Errorf("hparams %v", r.HParams)
	}
	if _, _, err := runCLI(t, "", "inspect", "../../gguf/testdata/corrupt-bad-magic.gguf"); err == nil {
		t.Error("corrupt file: no error")
	}
}

func TestRunErrors(t *testing.T) {
	if _, _, err := runCLI(t, "", "run", "-m", t.TempDir(), "-p", "x"); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory as model: %v", err)
	}
	if _, _, err := runCLI(t, "", "run", "-m", "/nonexistent/model.gguf", "-p", "x"); err == nil || !strings.Contains(err.Error(), "/nonexistent/model.gguf") {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := runCLI(t, "", "run", "--kv-type", "q3", "-p", "x"); err == nil || !strings.Contains(err.Error(), "q3") {
		t.Errorf("bad kv type: %v", err)
	}
}

// golem chat: each line is a user turn rendered with the chat template (ChatML for the
// embedded model) and answered; /reset forgets the conversation; /exit quits.
func TestChatREPL(t *testing.T) {
	in := "Tell me a story.\nAnd then?\n/reset\nTell me a story.\n/exit\nnot read\n"
	out, stderr, err := runCLI(t, in, "chat", "--temp", "0", "-n", "12")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "no chat template; using ChatML") {
		t.Errorf("stderr %q", stderr)
	}
	// One line per answered turn after its "> " prompt; /reset only prints a new prompt.
	lines := strings.Split(out, "\n")
	if len(lines) != 4 || lines[3] != "> " || !strings.HasPrefix(lines[0], "> ") || !strings.HasPrefix(lines[2], "> > ") {
		t.Fatalf("unexpected transcript %q", out)
	}
	first, third := lines[0][2:], lines[2][4:]
	if strings.TrimSpace(first) == "" || strings.TrimSpace(lines[1][2:]) == "" {
		t.Errorf("empty reply: %q", out)
	}
	// After /reset the same question gets the same (greedy) answer as at the start.
	if first != third {
		t.Errorf("after /reset: %q, first turn: %q", third, first)
	}
	if strings.Contains(out, "not read") {
		t.Error("input after /exit was processed")
	}
}

// Flags outside their range are errors naming the flag, not panics or silent defaults.
func TestRunRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--min-p", "2"}, {"--top-p", "-3"}, {"--top-k", "-5"}, {"--temp", "-1"}, {"--temp", "NaN"},
		{"-n", "-5"}, {"--system", "be brief"}, {"--top-logprobs", "21"},
		{"-t", "-5"}, {"-t", "100000"}, {"--ctx", "2000000000"}, {"--ctx", "-3"},
	} {
		_, _, err := runCLI(t, "", append([]string{"run", "-p", "Once"}, args...)...)
		if err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	out, _, err := runCLI(t, "", "run", "-p", "Once", "-n", "0")
	if err != nil || out != "" {
		t.Errorf("-n 0: %q, %v; want no output", out, err)
	}
}
