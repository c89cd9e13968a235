package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/chat"
	"github.com/golem-llm/golem/engine"
)

// realServer serves model path ("" = the embedded stories260K) with the real engine.
func realServer(t *testing.T, path string) (*engine.Engine, *golem.Model, *httptest.Server) {
	t.Helper()
	var m *golem.Model
	var err error
	if path == "" {
		m, err = golem.LoadDefault(golem.Options{Threads: 2})
	} else {
		m, err = golem.Load(path, golem.Options{Threads: 2})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	e, err := engine.New(engine.Config{Model: m.Net(), Tokenizer: m.Tokenizer(), Context: 256, KVType: "f32", MaxSeqs: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	s := New(Config{Logger: slog.New(slog.DiscardHandler)})
	s.SetModel(Model{Name: testModel, Backend: e, Template: m.Template()})
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return e, m, hs
}

type completion struct {
	Choices []struct {
		Index        int
		Text         string
		Message      struct{ Content string }
		FinishReason string `json:"finish_reason"`
		Logprobs     json.RawMessage
	}
	Usage struct {
		PromptTokens        int `json:"prompt_tokens"`
		CompletionTokens    int `json:"completion_tokens"`
		TotalTokens         int `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
}

func post(t *testing.T, url, body string) completion {
	t.Helper()
	resp, b := do(t, "POST", url, body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	var c completion
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return c
}

// streamed returns the concatenated text per choice and the usage chunk.
func streamed(t *testing.T, url, body, field string) (map[int]string, map[int]string, map[string]any) {
	t.Helper()
	resp, b := do(t, "POST", url, body)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	chunks, done := sse(t, strings.NewReader(string(b)))
	if !done {
		t.Fatalf("no [DONE]: %s", b)
	}
	text, finish := map[int]string{}, map[int]string{}
	var usage map[string]any
	for _, c := range chunks {
		if u, ok := c["usage"].(map[string]any); ok {
			usage = u
		}
		for _, x := range c["choices"].([]any) {
			ch := x.(map[string]any)
			i := int(ch["index"].(float64))
			var s any
			if field == "delta" {
				s = ch["delta"].(map[string]any)["content"]
			} else {
				s = ch["text"]
			}
			if s, ok := s.(string); ok {
				text[i] += s
			}
			if f, ok := ch["finish_reason"].(string); ok {
				finish[i] = f
			}
		}
	}
	return text, finish, usage
}

// TestEngineChatStreamEqualsWhole: greedy streamed chunks concatenate to the non-streamed text,
// which is what the engine gives for the rendered and tokenized prompt; usage is right.
func TestEngineChatStreamEqualsWhole(t *testing.T) {
	for _, path := range []string{"", "../testdata/models/tiny-llama-q4_0.gguf"} {
		t.Run(strings.TrimPrefix(path, "../testdata/models/"), func(t *testing.T) {
			e, m, hs := realServer(t, path)
			body := `{"messages":[{"role":"system","content":"You tell stories."},{"role":"user","content":"Once upon a time"}],"temperature":0,"max_tokens":24`
			whole := post(t, hs.URL+"/v1/chat/completions", body+`}`)
			text, finish, usage := streamed(t, hs.URL+"/v1/chat/completions", body+`,"stream":true,"stream_options":{"include_usage":true}}`, "delta")
			if len(whole.Choices) != 1 || text[0] != whole.Choices[0].Message.Content || finish[0] != whole.Choices[0].FinishReason {
				t.Fatalf("streamed %q (%s) != whole %q (%s)", text[0], finish[0], whole.Choices[0].Message.Content, whole.Choices[0].FinishReason)
			}
			// The same through the engine directly.
			prompt, err := m.RenderChat(chatMsgs("You tell stories.", "Once upon a time"), true)
			if err != nil {
				t.Fatal(err)
			}
			ids, err := encodePrompt(m.Tokenizer(), prompt)
			if err != nil {
				t.Fatal(err)
			}
			ch, err := e.Submit(context.Background(), engine.Request{Prompt: ids, MaxTokens: 24})
			if err != nil {
				t.Fatal(err)
			}
			direct, n := "", 0
			for ev := range ch {
				direct += ev.Text
				if !ev.Done {
					n++
				}
			}
			if direct != whole.Choices[0].Message.Content || whole.Choices[0].Message.Content == "" {
				t.Fatalf("server %q != engine %q", whole.Choices[0].Message.Content, direct)
			}
			u := whole.Usage
			if u.PromptTokens != len(ids) || u.CompletionTokens != n || u.TotalTokens != len(ids)+n {
				t.Fatalf("usage %+v, want prompt %d completion %d", u, len(ids), n)
			}
			if usage["prompt_tokens"].(float64) != float64(len(ids)) || usage["completion_tokens"].(float64) != float64(n) {
				t.Fatalf("stream usage %v", usage)
			}
			// The third identical prompt finds its full blocks in the prefix cache.
			if whole2 := post(t, hs.URL+"/v1/chat/completions", body+`}`); whole2.Usage.PromptTokensDetails.CachedTokens == 0 && len(ids) >= 16 {
				t.Fatalf("no cached tokens on a repeated %d-token prompt: %+v", len(ids), whole2.Usage)
			}
		})
	}
}

func TestEngineCompletionsN(t *testing.T) {
	_, m, hs := realServer(t, "")
	ids, _ := m.Tokenize("Once upon a time, there was", true, false)
	js, _ := json.Marshal(ids)
	// Greedy n=2: two identical choices; the stream agrees.
	c := post(t, hs.URL+"/v1/completions", `{"prompt":`+string(js)+`,"max_tokens":20,"temperature":0,"n":2}`)
	if len(c.Choices) != 2 || c.Choices[0].Text != c.Choices[1].Text || c.Choices[0].Text == "" || c.Choices[1].Index != 1 {
		t.Fatalf("%+v", c.Choices)
	}
	if c.Usage.PromptTokens != len(ids) || c.Usage.CompletionTokens != 40 {
		t.Fatalf("usage %+v", c.Usage)
	}
	text, _, _ := streamed(t, hs.URL+"/v1/completions", `{"prompt":`+string(js)+`,"max_tokens":20,"temperature":0,"n":2,"stream":true}`, "text")
	if text[0] != c.Choices[0].Text || text[1] != c.Choices[0].Text {
		t.Fatalf("stream %v vs %q", text, c.Choices[0].Text)
	}
	// Seeded sampling is reproducible, and copies differ from one another (seed+i).
	body := `{"prompt":"Once upon a time","max_tokens":30,"temperature":1,"seed":7,"n":2}`
	a, b := post(t, hs.URL+"/v1/completions", body), post(t, hs.URL+"/v1/completions", body)
	if a.Choices[0].Text != b.Choices[0].Text || a.Choices[1].Text != b.Choices[1].Text {
		t.Fatalf("seeded runs differ: %+v / %+v", a.Choices, b.Choices)
	}
	if a.Choices[0].Text == a.Choices[1].Text {
		t.Fatalf("n=2 seeded copies are identical: %q", a.Choices[0].Text)
	}
	// Legacy logprobs: greedy picks the most likely token, so it heads top_logprobs.
	lp := post(t, hs.URL+"/v1/completions", `{"prompt":"Once","max_tokens":5,"temperature":0,"logprobs":3}`)
	var l legacyLogprob
	if err := json.Unmarshal(lp.Choices[0].Logprobs, &l); err != nil || len(l.Tokens) != 5 {
		t.Fatalf("%v %s", err, lp.Choices[0].Logprobs)
	}
	for k := range l.Tokens {
		best := math.Inf(-1)
		for _, v := range l.TopLogprobs[k] {
			best = math.Max(best, v)
		}
		if l.TokenLogprobs[k] > 0 || math.Abs(l.TokenLogprobs[k]-best) > 1e-6 {
			t.Fatalf("token %d: logprob %g, best alternative %g", k, l.TokenLogprobs[k], best)
		}
	}
}

func TestEngineDisconnectFreesBlocks(t *testing.T) {
	e, _, hs := realServer(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/completions", strings.NewReader(`{"prompt":"Once upon a time","max_tokens":200,"ignore_eos":true,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := io.ReadAtLeast(resp.Body, buf, 10); err != nil { // a first chunk arrived
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	// The engine ends the request with "abort" (counted by the server's metrics).
	deadline := time.Now().Add(3 * time.Second)
	for {
		_, mb := do(t, "GET", hs.URL+"/metrics", "")
		if strings.Contains(string(mb), "golem:request_aborted_total{model_name=\""+testModel+"\"} 1\n") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no abort recorded after the client left:\n%s", mb)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Engine.Stats is refreshed by a step: run one more request, then every block is free
	// and the aborted request did not run to its 200 tokens.
	post(t, hs.URL+"/v1/completions", `{"prompt":[1,2],"max_tokens":1}`)
	st := e.Stats()
	if st.Running != 0 || st.Waiting != 0 || st.KVBlocksUsed != 0 {
		t.Fatalf("resources held after the client left: %+v", st)
	}
	if st.GenerationTokens >= 200 {
		t.Fatalf("the request ran to the end (%d tokens) instead of being aborted", st.GenerationTokens)
	}
}

func TestEngineEmbeddings(t *testing.T) {
	_, m, hs := realServer(t, "")
	resp, b := do(t, "POST", hs.URL+"/v1/embeddings", `{"input":["Once upon a time","Once upon a time","A dog"]}`)
	var out struct {
		Data []struct{ Embedding []float64 }
	}
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != 200 || len(out.Data) != 3 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	for i, d := range out.Data {
		if len(d.Embedding) != m.Net().NEmbd {
			t.Fatalf("embedding %d has %d dims, want n_embd %d", i, len(d.Embedding), m.Net().NEmbd)
		}
		var n2 float64
		for _, x := range d.Embedding {
			n2 += x * x
		}
		if math.Abs(n2-1) > 1e-4 {
			t.Fatalf("embedding %d has squared norm %g", i, n2)
		}
	}
	same, diff := true, false
	for k := range out.Data[0].Embedding {
		same = same && out.Data[0].Embedding[k] == out.Data[1].Embedding[k]
		diff = diff || out.Data[0].Embedding[k] != out.Data[2].Embedding[k]
	}
	if !same || !diff {
		t.Fatalf("same input equal: %v, different input differs: %v", same, diff)
	}
}

func chatMsgs(system, user string) []chat.Message {
	return []chat.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}
}
