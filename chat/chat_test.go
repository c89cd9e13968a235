package chat

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goldenLine is one line of testdata/chat-template-golden.jsonl, rendered by
// @huggingface/jinja 0.5.11 (see /work/shared/bench/make-testdata.mjs).
type goldenLine struct {
	Template            string    `json:"template"`
	Conversation        int       `json:"conversation"`
	Messages            []Message `json:"messages"`
	AddGenerationPrompt bool      `json:"add_generation_prompt"`
	BOSToken            string    `json:"bos_token"`
	EOSToken            string    `json:"eos_token"`
	Expected            *string   `json:"expected"`
	Error               *string   `json:"error"`
}

// goldenDate is the day the goldens were rendered: Llama 3.2's template
// prints strftime_now("%d %b %Y"), which @huggingface/jinja took from the
// clock ("Today Date: 29 Nov 2026").
var goldenDate = time.Date(2026, time.November, 29, 12, 0, 0, 0, time.UTC)

func TestGoldens(t *testing.T) {
	f, err := os.Open("testdata/chat-template-golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	compiled := map[string]*Template{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, nErr := 0, 0
	for sc.Scan() {
		n++
		var g goldenLine
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if (g.Expected == nil) == (g.Error == nil) {
			t.Fatalf("line %d: want exactly one of expected/error", n)
		}
		tmpl := compiled[g.Template]
		if tmpl == nil {
			src, err := os.ReadFile(filepath.Join("testdata", g.Template))
			if err != nil {
				t.Fatal(err)
			}
			tmpl, err = New(string(src))
			if err != nil {
				t.Fatalf("line %d: %s: %v", n, g.Template, err)
			}
			compiled[g.Template] = tmpl
		}
		name := fmt.Sprintf("line%d/%s/conv%d/agp=%v", n, g.Template, g.Conversation, g.AddGenerationPrompt)
		got, err := tmpl.Render(g.Messages, Options{
			AddGenerationPrompt: g.AddGenerationPrompt,
			BOSToken:            g.BOSToken,
			EOSToken:            g.EOSToken,
			Now:                 goldenDate,
		})
		if g.Error != nil {
			nErr++
			if err == nil {
				t.Errorf("%s: rendered %q, want error %q", name, got, *g.Error)
				continue
			}
			var te *TemplateError
			if !errors.As(err, &te) || te.Message != *g.Error {
				t.Errorf("%s: error %v, want template error %q", name, err, *g.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got != *g.Expected {
			t.Errorf("%s:\n got %q\nwant %q", name, got, *g.Expected)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 72 || nErr != 4 || len(compiled) != 9 {
		t.Fatalf("read %d lines (%d errors) over %d templates, want 72 (4) over 9", n, nErr, len(compiled))
	}
}

func TestChatML(t *testing.T) {
	msgs := []Message{
		{Role: "system", Content: "Be brief."},
		{Role: "user", Content: "Hi\nthere"},
	}
	got, err := ChatML().Render(msgs, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi\nthere<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	got, err = ChatML().Render(msgs[1:], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<|im_start|>user\nHi\nthere<|im_end|>\n"; got != want {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	got, err = ChatML().Render(nil, Options{AddGenerationPrompt: true})
	if err != nil || got != "<|im_start|>assistant\n" {
		t.Fatalf("empty conversation: %q, %v", got, err)
	}
}

func TestStrftime(t *testing.T) {
	tm := time.Date(2024, time.July, 6, 15, 4, 5, 0, time.UTC) // a Saturday
	for _, c := range []struct{ f, want string }{
		{"%d %b %Y", "06 Jul 2024"},
		{"%A, %B %e, %y", "Saturday, July  6, 24"},
		{"%H:%M:%S %p %I", "15:04:05 PM 03"},
		{"%j %a %% %Q Mon 2006", "188 Sat % %Q Mon 2006"}, // literal Go layout words stay
		{"trailing %", "trailing %"},
	} {
		if got := strftime(tm, c.f); got != c.want {
			t.Errorf("strftime(%q) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestCompileError(t *testing.T) {
	_, err := New("{% if x %}unterminated")
	if err == nil || !strings.HasPrefix(err.Error(), "chat: compile template") {
		t.Fatalf("err = %v, want a compile error", err)
	}
}

// TestToolCallsAndExtra checks the variables beyond role/content: tools and
// tool calls reach the template with their JSON key order, and Extra cannot
// replace messages.
func TestToolCallsAndExtra(t *testing.T) {
	tmpl, err := New(`{{ tools | tojson }}|{% for m in messages %}{{ m.role }}:{% for c in m.tool_calls %}{{ c.id }} {{ c.type }} {{ c.function.name }} {{ c.function.arguments | tojson }} {{ c.function.arguments.b }}{% endfor %}{% if m.name is defined %}[{{ m.name }}]{% endif %};{% endfor %}{{ date_string }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]Message{
		{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Name: "f", Arguments: `{"z": 1, "b": "x"}`}}},
		{Role: "tool", Name: "f", Content: "ok"},
	}, Options{Extra: map[string]any{
		"tools":       json.RawMessage(`[{"type":"function","function":{"name":"f","parameters":{"z":{},"a":[1,2.5,null,true]}}}]`),
		"date_string": "1 Jan 2000",
		"messages":    "ignored",
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"type": "function", "function": {"name": "f", "parameters": {"z": {}, "a": [1, 2.5, null, true]}}}]|assistant:c1 function f {"z": 1, "b": "x"} x;tool:[f];1 Jan 2000`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if _, err := tmpl.Render(nil, Options{Extra: map[string]any{"tools": struct{}{}}}); err == nil {
		t.Fatal("unsupported Extra type: want error")
	}
	if _, err := tmpl.Render(nil, Options{Extra: map[string]any{"tools": json.RawMessage(`{"a":`)}}); err == nil {
		t.Fatal("truncated JSON in Extra: want error")
	}
}
