package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golem-llm/golem/engine"
)

const testModel = "stories-test"

func newTestServer(t *testing.T, cfg Config, b Backend) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := New(cfg)
	if b != nil {
		s.SetModel(Model{Name: testModel, Backend: b})
	}
	hs := httptest.NewUnstartedServer(s)
	hs.Config = s.HTTPServer("")
	hs.Start()
	t.Cleanup(hs.Close)
	return s, hs
}

type apiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func do(t *testing.T, method, url, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// wantError checks status and the OpenAI error shape (all four keys present), and param.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, param string) apiErr {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, body)
	}
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatalf("error body is not JSON: %s", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := raw["error"][k]; !ok {
			t.Fatalf("error body lacks error.%s: %s", k, body)
		}
	}
	var e apiErr
	json.Unmarshal(body, &e)
	got := ""
	if e.Error.Param != nil {
		got = *e.Error.Param
	}
	if got != param {
		t.Fatalf("param %q, want %q; body %s", got, param, body)
	}
	if e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("empty message or type: %s", body)
	}
	return e
}

func TestHealthStates(t *testing.T) {
	s, hs := newTestServer(t, Config{APIKey: "k"}, nil)
	resp, body := do(t, "GET", hs.URL+"/health", "")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "loading") {
		t.Fatalf("loading: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", hs.URL+"/v1/models", "", "Authorization", "Bearer k")
	wantError(t, resp, body, 503, "")
	s.SetModel(Model{Name: testModel, Backend: newFake(t)})
	resp, body = do(t, "GET", hs.URL+"/health", "") // no key needed
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("ready: %d %s", resp.StatusCode, body)
	}
	if err := s.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, body = do(t, "GET", hs.URL+"/health", "")
	if resp.StatusCode != 503 || !strings.Contains(string(body), "draining") {
		t.Fatalf("draining: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"x"}`, "Authorization", "Bearer k")
	wantError(t, resp, body, 503, "")
	if resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
}

func TestAuth(t *testing.T) {
	_, hs := newTestServer(t, Config{APIKey: "secret"}, newFake(t))
	for _, path := range []string{"/v1/models", "/metrics"} {
		resp, body := do(t, "GET", hs.URL+path, "")
		e := wantError(t, resp, body, 401, "")
		if *e.Error.Code != "invalid_api_key" {
			t.Fatalf("code %v", *e.Error.Code)
		}
		resp, body = do(t, "GET", hs.URL+path, "", "Authorization", "Bearer wrong")
		wantError(t, resp, body, 401, "")
		resp, _ = do(t, "GET", hs.URL+path, "", "Authorization", "Bearer secret")
		if resp.StatusCode != 200 {
			t.Fatalf("%s with key: %d", path, resp.StatusCode)
		}
	}
	resp, body := do(t, "POST", hs.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
	wantError(t, resp, body, 401, "")
}

func TestRoutesAndMethods(t *testing.T) {
	_, hs := newTestServer(t, Config{}, newFake(t))
	resp, body := do(t, "GET", hs.URL+"/v2/nothing", "")
	wantError(t, resp, body, 404, "")
	resp, body = do(t, "GET", hs.URL+"/v1/chat/completions", "")
	wantError(t, resp, body, 405, "")
	if resp.Header.Get("Allow") != "POST" {
		t.Fatalf("Allow %q", resp.Header.Get("Allow"))
	}
	resp, body = do(t, "DELETE", hs.URL+"/v1/models", "")
	wantError(t, resp, body, 405, "")

	resp, body = do(t, "GET", hs.URL+"/v1/models", "")
	var list struct {
		Object string `json:"object"`
		Data   []struct {
			ID, Object, OwnedBy string
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil || resp.StatusCode != 200 || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != testModel || list.Data[0].Object != "model" {
		t.Fatalf("models: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", hs.URL+"/v1/models/"+testModel, "")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"`+testModel+`"`) {
		t.Fatalf("model card: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", hs.URL+"/v1/models/gpt-4o", "")
	wantError(t, resp, body, 404, "model")
}

func TestModelField(t *testing.T) {
	_, hs := newTestServer(t, Config{}, newFake(t))
	for _, m := range []string{`"model":"` + testModel + `",`, `"model":"",`, ``, `"model":null,`} {
		resp, body := do(t, "POST", hs.URL+"/v1/completions", `{`+m+`"prompt":"Once","max_tokens":2}`)
		if resp.StatusCode != 200 {
			t.Fatalf("model %s: %d %s", m, resp.StatusCode, body)
		}
	}
	resp, body := do(t, "POST", hs.URL+"/v1/completions", `{"model":"gpt-4o","prompt":"Once"}`)
	e := wantError(t, resp, body, 404, "model")
	if *e.Error.Code != "model_not_found" {
		t.Fatal(*e.Error.Code)
	}
}

func TestBadRequests(t *testing.T) {
	fake := newFake(t)
	_, hs := newTestServer(t, Config{}, fake)
	msgs := `"messages":[{"role":"user","content":"hi"}]`
	cases := []struct {
		name, path, body, param string
	}{
		{"malformed", "/v1/chat/completions", `{"messages":[`, ""},
		{"not object", "/v1/chat/completions", `[1,2]`, ""},
		{"empty body", "/v1/chat/completions", ``, ""},
		{"invalid utf8", "/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}", ""},
		{"lone surrogate", "/v1/chat/completions", `{"messages":[{"role":"user","content":"a\ud800b"}]}`, ""},
		{"lone low surrogate", "/v1/completions", `{"prompt":"\udc00"}`, ""},
		{"no messages", "/v1/chat/completions", `{}`, "messages"},
		{"empty messages", "/v1/chat/completions", `{"messages":[]}`, "messages"},
		{"messages type", "/v1/chat/completions", `{"messages":"hi"}`, "messages"},
		{"message type", "/v1/chat/completions", `{"messages":[3]}`, "messages[0]"},
		{"unknown role", "/v1/chat/completions", `{"messages":[{"role":"robot","content":"hi"}]}`, "messages[0].role"},
		{"role type", "/v1/chat/completions", `{"messages":[{"role":1,"content":"hi"}]}`, "messages[0].role"},
		{"content type", "/v1/chat/completions", `{"messages":[{"role":"user","content":5}]}`, "messages[0].content"},
		{"image part", "/v1/chat/completions", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}`, "messages[0].content"},
		{"temperature high", "/v1/chat/completions", `{` + msgs + `,"temperature":2.5}`, "temperature"},
		{"temperature negative", "/v1/chat/completions", `{` + msgs + `,"temperature":-0.1}`, "temperature"},
		{"temperature type", "/v1/chat/completions", `{` + msgs + `,"temperature":"hot"}`, "temperature"},
		{"top_p zero", "/v1/chat/completions", `{` + msgs + `,"top_p":0}`, "top_p"},
		{"top_p high", "/v1/chat/completions", `{` + msgs + `,"top_p":1.01}`, "top_p"},
		{"top_k", "/v1/chat/completions", `{` + msgs + `,"top_k":-2}`, "top_k"},
		{"min_p", "/v1/chat/completions", `{` + msgs + `,"min_p":2}`, "min_p"},
		{"n zero", "/v1/chat/completions", `{` + msgs + `,"n":0}`, "n"},
		{"n huge", "/v1/chat/completions", `{` + msgs + `,"n":1000}`, "n"},
		{"n fraction", "/v1/chat/completions", `{` + msgs + `,"n":1.5}`, "n"},
		{"max_tokens negative", "/v1/chat/completions", `{` + msgs + `,"max_tokens":-1}`, "max_tokens"},
		{"max_tokens huge", "/v1/chat/completions", `{` + msgs + `,"max_tokens":1e300}`, "max_tokens"},
		{"max_tokens overflow", "/v1/chat/completions", `{` + msgs + `,"max_tokens":1e999}`, "max_tokens"},
		{"max_completion_tokens", "/v1/chat/completions", `{` + msgs + `,"max_completion_tokens":0}`, "max_completion_tokens"},
		{"presence_penalty", "/v1/chat/completions", `{` + msgs + `,"presence_penalty":3}`, "presence_penalty"},
		{"frequency_penalty", "/v1/chat/completions", `{` + msgs + `,"frequency_penalty":"x"}`, "frequency_penalty"},
		{"seed too big", "/v1/chat/completions", `{` + msgs + `,"seed":9223372036854775808}`, "seed"},
		{"seed too big float", "/v1/chat/completions", `{` + msgs + `,"seed":9.3e18}`, "seed"},
		{"seed 2^63 float", "/v1/chat/completions", `{` + msgs + `,"seed":9223372036854775808.0}`, "seed"},
		{"seed type", "/v1/chat/completions", `{` + msgs + `,"seed":"abc"}`, "seed"},
		{"stop type", "/v1/chat/completions", `{` + msgs + `,"stop":[1,2]}`, "stop"},
		{"stop many", "/v1/chat/completions", `{` + msgs + `,"stop":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}`, "stop"},
		{"stream type", "/v1/chat/completions", `{` + msgs + `,"stream":"yes"}`, "stream"},
		{"stream_options", "/v1/chat/completions", `{` + msgs + `,"stream":true,"stream_options":{"include_usage":1}}`, "stream_options.include_usage"},
		{"top_logprobs alone", "/v1/chat/completions", `{` + msgs + `,"top_logprobs":3}`, "top_logprobs"},
		{"top_logprobs range", "/v1/chat/completions", `{` + msgs + `,"logprobs":true,"top_logprobs":21}`, "top_logprobs"},
		{"priority type", "/v1/chat/completions", `{` + msgs + `,"priority":"high"}`, "priority"},
		{"tools", "/v1/chat/completions", `{` + msgs + `,"tools":[{"type":"function","function":{"name":"f"}}]}`, "tools"},
		{"response_format", "/v1/chat/completions", `{` + msgs + `,"response_format":{"type":"json_object"}}`, "response_format"},
		{"model type", "/v1/chat/completions", `{` + msgs + `,"model":7}`, "model"},
		{"chat too long", "/v1/chat/completions", `{` + msgs + `,"max_tokens":124}`, "max_tokens"},
		{"prompt missing", "/v1/completions", `{}`, "prompt"},
		{"prompt empty array", "/v1/completions", `{"prompt":[]}`, "prompt"},
		{"prompt empty tokens", "/v1/completions", `{"prompt":[[]]}`, "prompt[0]"},
		{"prompt bad token", "/v1/completions", `{"prompt":[1,2,512]}`, "prompt"},
		{"prompt negative token", "/v1/completions", `{"prompt":[-1]}`, "prompt"},
		{"prompt type", "/v1/completions", `{"prompt":{"a":1}}`, "prompt"},
		{"prompt mixed", "/v1/completions", `{"prompt":["a",{"b":1}]}`, "prompt[1]"},
		{"prompt too long", "/v1/completions", `{"prompt":[` + strings.Repeat("1,", 127) + `1]}`, "prompt"},
		{"prompt+max_tokens", "/v1/completions", `{"prompt":[1,2,3,4],"max_tokens":125}`, "max_tokens"},
		{"legacy logprobs", "/v1/completions", `{"prompt":"a","logprobs":21}`, "logprobs"},
		{"echo", "/v1/completions", `{"prompt":"a","echo":true}`, "echo"},
		{"logit_bias", "/v1/completions", `{"prompt":"a","logit_bias":{"432":-100}}`, "logit_bias"},
		{"best_of", "/v1/completions", `{"prompt":"a","best_of":3}`, "best_of"},
		{"input missing", "/v1/embeddings", `{}`, "input"},
		{"input bad", "/v1/embeddings", `{"input":true}`, "input"},
		{"encoding_format", "/v1/embeddings", `{"input":"a","encoding_format":"int8"}`, "encoding_format"},
		{"dimensions", "/v1/embeddings", `{"input":"a","dimensions":2}`, "dimensions"},
		{"input too long", "/v1/embeddings", `{"input":[` + strings.Repeat("1,", 128) + `1]}`, "input"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := do(t, "POST", hs.URL+c.path, c.body)
			wantError(t, resp, body, 400, c.param)
		})
	}
	if n := len(fake.requests()); n != 0 {
		t.Fatalf("%d bad requests reached the engine", n)
	}
	// The server keeps serving after all that.
	resp, body := do(t, "POST", hs.URL+"/v1/chat/completions", `{`+msgs+`,"max_tokens":3}`)
	if resp.StatusCode != 200 {
		t.Fatalf("after bad requests: %d %s", resp.StatusCode, body)
	}
}

func TestContextErrorMessage(t *testing.T) {
	_, hs := newTestServer(t, Config{}, newFake(t))
	resp, body := do(t, "POST", hs.URL+"/v1/completions", `{"prompt":[1,2,3,4],"max_tokens":125}`)
	e := wantError(t, resp, body, 400, "max_tokens")
	if *e.Error.Code != "context_length_exceeded" || !strings.Contains(e.Error.Message, "129 tokens (4 in the prompt, 125 for the completion)") {
		t.Fatalf("%s", body)
	}
	// Exactly at the limit is fine.
	resp, body = do(t, "POST", hs.URL+"/v1/completions", `{"prompt":[1,2,3,4],"max_tokens":124}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
}

func TestBodyLimit(t *testing.T) {
	_, hs := newTestServer(t, Config{MaxBodyBytes: 1 << 10}, newFake(t))
	big := `{"prompt":"` + strings.Repeat("a", 2<<10) + `"}`
	resp, body := do(t, "POST", hs.URL+"/v1/completions", big)
	e := wantError(t, resp, body, 413, "")
	if !strings.Contains(e.Error.Message, "1 KiB") {
		t.Fatal(e.Error.Message)
	}
}

func TestHeaderLimit(t *testing.T) {
	_, hs := newTestServer(t, Config{MaxHeaderBytes: 1 << 10}, newFake(t))
	resp, _ := do(t, "GET", hs.URL+"/health", "", "X-Big", strings.Repeat("a", 8<<10))
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", resp.StatusCode)
	}
}

func TestOverload(t *testing.T) {
	fake := newFake(t)
	_, hs := newTestServer(t, Config{}, fake)
	fake.err = engine.ErrQueueFull
	resp, body := do(t, "POST", hs.URL+"/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`)
	wantError(t, resp, body, 429, "")
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	fake.err = engine.ErrDraining
	resp, body = do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"hi"}`)
	wantError(t, resp, body, 503, "")
	fake.err = engine.ErrTooLong
	resp, body = do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"hi"}`)
	wantError(t, resp, body, 400, "prompt")
	fake.err = errValidation
	resp, body = do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"hi"}`)
	e := wantError(t, resp, body, 400, "")
	if !strings.Contains(e.Error.Message, "top_logprobs 30") {
		t.Fatal(e.Error.Message)
	}
}

// TestParamsReachEngine checks the mapping of every generation parameter.
func TestParamsReachEngine(t *testing.T) {
	fake := newFake(t)
	_, hs := newTestServer(t, Config{}, fake)
	resp, body := do(t, "POST", hs.URL+"/v1/chat/completions", `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"},{"type":"text","text":"there"}]}],
		"temperature":0.7,"top_p":0.9,"top_k":40,"min_p":0.05,"max_tokens":5,"max_completion_tokens":7,"stop":["\n",""],"seed":42,
		"presence_penalty":0.5,"frequency_penalty":-0.25,"logprobs":true,"top_logprobs":2,"n":3,"priority":-4,"ignore_eos":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	reqs := fake.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d engine requests for n=3", len(reqs))
	}
	tok := fake.tok
	want, _ := encodePrompt(tok, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi\nthere<|im_end|>\n<|im_start|>assistant\n")
	seeds := map[uint64]bool{}
	for _, r := range reqs {
		sp := r.Sampling
		if sp.Temperature != 0.7 || sp.TopP != 0.9 || sp.TopK != 40 || sp.MinP != 0.05 || sp.PresencePenalty != 0.5 || sp.FrequencyPenalty != -0.25 || sp.RepeatLastN != -1 {
			t.Fatalf("sampling %+v", sp)
		}
		if r.MaxTokens != 7 || len(r.Stop) != 1 || r.Stop[0] != "\n" || !r.Logprobs || r.TopLogprobs != 2 || r.Priority != -4 || !r.IgnoreEOS {
			t.Fatalf("request %+v", r)
		}
		if !slicesEqual(r.Prompt, want) {
			t.Fatalf("prompt %v, want %v", r.Prompt, want)
		}
		seeds[sp.Seed] = true
	}
	if !seeds[42] || !seeds[43] || !seeds[44] {
		t.Fatalf("seeds %v, want 42, 43, 44", seeds)
	}
	// Seeds beyond float64's mantissa arrive exactly.
	do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"a","max_tokens":1,"seed":9007199254740993}`)
	if r := fake.requests(); r[len(r)-1].Sampling.Seed != 9007199254740993 {
		t.Fatalf("seed %d", r[len(r)-1].Sampling.Seed)
	}
	var out struct {
		Choices []struct {
			Index    int
			Message  struct{ Role, Content string }
			Logprobs struct {
				Content []struct {
					Token       string
					Logprob     float64
					Bytes       []int
					TopLogprobs []struct {
						Token   string
						Logprob float64
					} `json:"top_logprobs"`
				}
			}
			FinishReason string `json:"finish_reason"`
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
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Choices) != 3 {
		t.Fatalf("%d choices", len(out.Choices))
	}
	for i, c := range out.Choices {
		if c.Index != i || c.Message.Role != "assistant" || c.Message.Content != fake.scriptText(7) || c.FinishReason != "length" {
			t.Fatalf("choice %d: %+v", i, c)
		}
		if len(c.Logprobs.Content) != 7 || c.Logprobs.Content[0].Logprob != -0.5 || len(c.Logprobs.Content[0].TopLogprobs) != 2 || c.Logprobs.Content[0].TopLogprobs[1].Logprob != -1.5 {
			t.Fatalf("logprobs %+v", c.Logprobs)
		}
		lp := c.Logprobs.Content[0]
		if string(intsToBytes(lp.Bytes)) != string(tok.TokenToPiece(fake.script[0], true)) || lp.Token != string(tok.TokenToPiece(fake.script[0], true)) {
			t.Fatalf("token %q bytes %v", lp.Token, lp.Bytes)
		}
	}
	u := out.Usage
	if u.PromptTokens != len(want) || u.CompletionTokens != 21 || u.TotalTokens != len(want)+21 || u.PromptTokensDetails.CachedTokens != len(want)/2 {
		t.Fatalf("usage %+v (prompt %d)", u, len(want))
	}
}

func slicesEqual(a, b []int32) bool {
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

func intsToBytes(v []int) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

// sse reads a Server-Sent Events body: the JSON of each data line, and whether [DONE] ended it.
func sse(t *testing.T, r io.Reader) ([]map[string]any, bool) {
	t.Helper()
	var out []map[string]any
	done := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if done {
			t.Fatalf("data after [DONE]: %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(data), &m); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		out = append(out, m)
	}
	return out, done
}

func TestStreamChat(t *testing.T) {
	fake := newFake(t)
	_, hs := newTestServer(t, Config{}, fake)
	resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(
		`{"messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true},"n":2,"max_tokens":9}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	chunks, done := sse(t, resp.Body)
	if !done {
		t.Fatal("no [DONE]")
	}
	text := map[int]string{}
	finish := map[int]string{}
	roles := 0
	var usage map[string]any
	for i, c := range chunks {
		if c["object"] != "chat.completion.chunk" || c["model"] != testModel {
			t.Fatalf("chunk %v", c)
		}
		ch := c["choices"].([]any)
		if len(ch) == 0 {
			if i != len(chunks)-1 || c["usage"] == nil {
				t.Fatalf("empty choices before the end: %v", c)
			}
			usage = c["usage"].(map[string]any)
			continue
		}
		x := ch[0].(map[string]any)
		idx := int(x["index"].(float64))
		d := x["delta"].(map[string]any)
		if d["role"] == "assistant" {
			roles++
		}
		if s, ok := d["content"].(string); ok {
			text[idx] += s
		}
		if f, ok := x["finish_reason"].(string); ok {
			finish[idx] = f
		}
	}
	want := fake.scriptText(9)
	if roles != 2 || text[0] != want || text[1] != want || finish[0] != "length" || finish[1] != "length" {
		t.Fatalf("roles %d text %v finish %v; want %q", roles, text, finish, want)
	}
	if usage == nil || usage["completion_tokens"].(float64) != 18 {
		t.Fatalf("usage %v", usage)
	}
}

func TestStreamCompletionLogprobs(t *testing.T) {
	fake := newFake(t)
	_, hs := newTestServer(t, Config{}, fake)
	resp, body := do(t, "POST", hs.URL+"/v1/completions", `{"prompt":[1,5,6],"max_tokens":4,"logprobs":2,"stream":true}`)
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	chunks, done := sse(t, bytes.NewReader(body))
	if !done || len(chunks) != 5 { // 4 tokens, 1 final
		t.Fatalf("%d chunks, done %v: %s", len(chunks), done, body)
	}
	text := ""
	for _, c := range chunks[:4] {
		x := c["choices"].([]any)[0].(map[string]any)
		text += x["text"].(string)
		lp := x["logprobs"].(map[string]any)
		if len(lp["tokens"].([]any)) != 1 || lp["token_logprobs"].([]any)[0].(float64) != -0.5 || len(lp["top_logprobs"].([]any)[0].(map[string]any)) == 0 {
			t.Fatalf("logprobs %v", lp)
		}
	}
	if text != fake.scriptText(4) {
		t.Fatalf("text %q", text)
	}
	if r := fake.requests()[0]; !slicesEqual(r.Prompt, []int32{1, 5, 6}) || r.MaxTokens != 4 || r.TopLogprobs != 2 {
		t.Fatalf("request %+v", r)
	}
	// Non-streamed legacy logprobs: text offsets are the running byte length of the tokens.
	resp, body = do(t, "POST", hs.URL+"/v1/completions", `{"prompt":["a","b"],"max_tokens":3,"logprobs":1,"n":2}`)
	var out struct {
		Choices []struct {
			Index    int
			Text     string
			Logprobs struct {
				Tokens     []string
				TextOffset []int `json:"text_offset"`
			}
		}
		Usage struct{ PromptTokens, CompletionTokens int }
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Choices) != 4 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	for i, c := range out.Choices {
		off := 0
		for k, tk := range c.Logprobs.Tokens {
			if c.Logprobs.TextOffset[k] != off {
				t.Fatalf("choice %d offsets %v", i, c.Logprobs.TextOffset)
			}
			off += len(tk)
		}
		if c.Index != i || len(c.Logprobs.Tokens) != 3 {
			t.Fatalf("choice %+v", c)
		}
	}
	reqs := fake.requests()[1:]
	a, _ := encodePrompt(fake.tok, "a")
	b, _ := encodePrompt(fake.tok, "b")
	if len(reqs) != 4 || !slicesEqual(reqs[0].Prompt, a) || !slicesEqual(reqs[1].Prompt, a) || !slicesEqual(reqs[2].Prompt, b) || !slicesEqual(reqs[3].Prompt, b) {
		t.Fatalf("batch prompts %v", reqs)
	}
}

func TestEmbeddings(t *testing.T) {
	fake := newFake(t)
	_, hs := newTestServer(t, Config{}, fake)
	resp, body := do(t, "POST", hs.URL+"/v1/embeddings", `{"input":[[1,2,3],[7]]}`)
	var out struct {
		Object string
		Data   []struct {
			Object    string
			Index     int
			Embedding []float32
		}
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
			TotalTokens  int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if len(out.Data) != 2 || out.Data[0].Embedding[3] != 1 || out.Data[1].Embedding[3] != 1 || out.Data[1].Index != 1 || out.Usage.PromptTokens != 4 || out.Usage.TotalTokens != 4 {
		t.Fatalf("%s", body)
	}
	resp, body = do(t, "POST", hs.URL+"/v1/embeddings", `{"input":[6],"encoding_format":"base64"}`)
	var b64 struct {
		Data []struct{ Embedding string }
	}
	if err := json.Unmarshal(body, &b64); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	raw, err := base64.StdEncoding.DecodeString(b64.Data[0].Embedding)
	if err != nil || len(raw) != 16 {
		t.Fatalf("base64 %q: %v", b64.Data[0].Embedding, err)
	}
	for k := 0; k < 4; k++ {
		want := float32(0)
		if k == 2 {
			want = 1
		}
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*k:])); got != want {
			t.Fatalf("component %d = %g", k, got)
		}
	}
}

// TestDisconnectAborts: a client that goes away mid-stream cancels its engine request.
func TestDisconnectAborts(t *testing.T) {
	fake := newFake(t)
	fake.delay = 20 * time.Millisecond
	var buf syncBuffer
	_, hs := newTestServer(t, Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, fake)
	for _, stream := range []bool{true, false} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", hs.URL+"/v1/completions", strings.NewReader(`{"prompt":"x","max_tokens":100,"stream":`+strconv.FormatBool(stream)+`}`))
		go func() { time.Sleep(70 * time.Millisecond); cancel() }()
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		deadline := time.Now().Add(2 * time.Second)
		for {
			fake.mu.Lock()
			ab := fake.aborted
			fake.mu.Unlock()
			if ab == map[bool]int{true: 1, false: 2}[stream] {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stream=%v: engine request not aborted after the client left", stream)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// The log says the client left: 499 for the non-streamed request (nothing was written),
	// 200 with the stream's bytes for the streamed one; both marked client_closed.
	deadline := time.Now().Add(2 * time.Second)
	for strings.Count(buf.String(), "\n") < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines: %s", len(lines), buf.String())
	}
	for _, line := range lines {
		var l map[string]any
		json.Unmarshal([]byte(line), &l)
		want := map[any]float64{true: 200, false: 499}[l["stream"]]
		if l["status"] != want || l["client_closed"] != true || l["finish_reason"] != "abort" {
			t.Errorf("log line %v: want status %v, client_closed, finish_reason abort", l, want)
		}
	}
}

// TestStreamOutlivesWriteTimeout: a stream longer than WriteTimeout is not cut, because the
// deadline is extended per chunk; a non-streamed response that took longer still arrives; and
// ReadTimeout (which net/http would turn into a cancelled request context once it passes
// during the response) is lifted after the body is read.
func TestStreamOutlivesWriteTimeout(t *testing.T) {
	fake := newFake(t)
	fake.delay = 40 * time.Millisecond // 11 tokens: ~450 ms
	_, hs := newTestServer(t, Config{WriteTimeout: 150 * time.Millisecond, ReadTimeout: 100 * time.Millisecond}, fake)
	for _, stream := range []string{"true", "false"} {
		resp, body := do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"x","max_tokens":100,"stream":`+stream+`}`)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if stream == "true" {
			if _, done := sse(t, bytes.NewReader(body)); !done {
				t.Fatalf("stream cut: %s", body)
			}
		} else if !strings.Contains(string(body), `"finish_reason":"stop"`) {
			t.Fatalf("body %s", body)
		}
	}
}

func TestMetrics(t *testing.T) {
	fake := newFake(t)
	fake.stats = engine.Stats{Running: 3, Waiting: 2, KVBlocksUsed: 25, KVBlocks: 100, PrefixQueries: 640, PrefixHits: 320, Preemptions: 4, PromptTokens: 1234, PromptTokensComputed: 890, GenerationTokens: 567}
	_, hs := newTestServer(t, Config{}, fake)
	for range 2 {
		do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"x","max_tokens":5}`)
	}
	resp, body := do(t, "GET", hs.URL+"/metrics", "")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	vals := map[string]float64{}
	types := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			p := strings.Fields(f)
			types[p[0]] = p[1]
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("line %q", line)
		}
		vals[line[:i]] = v
	}
	lbl := `{model_name="` + testModel + `"}`
	want := map[string]float64{
		"golem:num_requests_running": 3, "golem:num_requests_waiting": 2, "golem:kv_cache_usage_perc": 0.25,
		"golem:kv_cache_blocks_used": 25, "golem:kv_cache_blocks_total": 100,
		"golem:prefix_cache_queries_total": 640, "golem:prefix_cache_hits_total": 320, "golem:num_preemptions_total": 4,
		"golem:prompt_tokens_total": 1234, "golem:prompt_tokens_computed_total": 890, "golem:generation_tokens_total": 567,
		"golem:e2e_request_latency_seconds_count": 2, "golem:time_to_first_token_seconds_count": 2,
		"golem:request_queue_time_seconds_count": 2, "golem:time_per_output_token_seconds_count": 2,
		"golem:inter_token_latency_seconds_count": 8, // 4 gaps per 5-token request
	}
	for k, v := range want {
		if got, ok := vals[k+lbl]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if got := vals[`golem:request_success_total{finished_reason="length",model_name="`+testModel+`"}`]; got != 2 {
		t.Errorf("request_success_total{length} = %v", got)
	}
	if got := vals[`golem:time_to_first_token_seconds_bucket{model_name="`+testModel+`",le="+Inf"}`]; got != 2 {
		t.Errorf("ttft +Inf bucket = %v", got)
	}
	if types["golem:time_to_first_token_seconds"] != "histogram" || types["golem:num_requests_running"] != "gauge" || types["golem:prompt_tokens_total"] != "counter" {
		t.Errorf("types %v", types)
	}
}

// Histogram buckets count values ≤ their bound (Prometheus' le), cumulatively.
func TestHistogramBuckets(t *testing.T) {
	m := newMetrics(New(Config{}))
	for _, v := range []float64{0.005, 0.01, 0.5, 1, 3000} {
		m.ttft.WithLabelValues("x").Observe(v)
	}
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[float64]uint64{0.001: 0, 0.005: 1, 0.01: 2, 0.5: 3, 1: 4, 2560: 4}
	found := false
	for _, mf := range mfs {
		if mf.GetName() != "golem:time_to_first_token_seconds" {
			continue
		}
		found = true
		h := mf.GetMetric()[0].GetHistogram()
		for _, b := range h.GetBucket() {
			if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
				t.Errorf("le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
			}
		}
		if h.GetSampleCount() != 5 || h.GetSampleSum() != 3001.515 {
			t.Errorf("count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
		}
	}
	if !found {
		t.Fatal("ttft histogram not gathered")
	}
}

func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	fake := newFake(t)
	_, hs := newTestServer(t, Config{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}, fake)
	do(t, "POST", hs.URL+"/v1/completions", `{"prompt":[1,2,3],"max_tokens":4}`)
	do(t, "POST", hs.URL+"/v1/completions", `{"prompt":"x","temperature":9}`)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines: %s", len(lines), buf.String())
	}
	var ok, bad map[string]any
	json.Unmarshal([]byte(lines[0]), &ok)
	json.Unmarshal([]byte(lines[1]), &bad)
	if ok["status"] != 200.0 || ok["prompt_tokens"] != 3.0 || ok["completion_tokens"] != 4.0 || ok["finish_reason"] != "length" || ok["ttft_ms"] == nil || ok["path"] != "/v1/completions" {
		t.Fatalf("log %v", ok)
	}
	if bad["status"] != 400.0 || !strings.Contains(bad["error"].(string), "temperature") {
		t.Fatalf("log %v", bad)
	}
}

func TestSurrogateScanner(t *testing.T) {
	for s, want := range map[string]int{
		`{"a":"\ud83d\ude00"}`: -1, // a valid pair (😀)
		`{"a":"\\ud800"}`:      -1, // an escaped backslash, then plain text
		`{"a":"x\ud800"}`:      7,
		`{"a":"\ude00"}`:       6,
		`{"a":"\ud800\u0041"}`: 6,
		`{"\ud800":1}`:         2,
		`{"a":"\u00e9"}`:       -1,
	} {
		if got := loneSurrogate([]byte(s)); got != want {
			t.Errorf("%s: %d, want %d", s, got, want)
		}
	}
}
