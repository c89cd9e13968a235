// Package chat renders a model's chat template (the GGUF key
// tokenizer.chat_template, a Jinja template written for Hugging Face's
// transformers) into the prompt text the model was trained on.
//
// Templates are executed by github.com/ardanlabs/jinja. This package only
// prepares the variables a template expects (messages, add_generation_prompt,
// bos_token, eos_token and the transformers helpers strftime_now and
// raise_exception) and, when a GGUF carries no template, offers ChatML.
package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/ardanlabs/jinja"
)

// Message is one turn of a conversation, shaped as in OpenAI's chat API and
// transformers' apply_chat_template.
type Message struct {
	Role    string // "system", "user", "assistant", "tool", …
	Content string
	// Name is the optional participant or tool name; the template sees it
	// as message.name only when it is not empty.
	Name string
	// ToolCallID is the id a "tool" message answers (message.tool_call_id,
	// only when not empty).
	ToolCallID string
	// ToolCalls are the calls an assistant message makes
	// (message.tool_calls, only when not empty).
	ToolCalls []ToolCall
}

// ToolCall is one function call made by an assistant message. The template
// sees {"id": ID, "type": "function", "function": {"name": Name,
// "arguments": …}}.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is JSON text as in OpenAI's API. Templates (Llama 3.1,
	// Qwen 2.5) expect a mapping, so valid JSON is decoded (key order kept)
	// and anything else is passed on as a string.
	Arguments string
}

// Options are the per-render variables besides the messages.
type Options struct {
	// AddGenerationPrompt appends the header that opens the assistant's
	// reply (add_generation_prompt).
	AddGenerationPrompt bool
	// BOSToken and EOSToken are the texts of the vocabulary's BOS and EOS
	// tokens (bos_token, eos_token).
	BOSToken, EOSToken string
	// Extra are further template variables, e.g. "tools", "date_string",
	// "enable_thinking". Values are nil, bool, int, int64, float64, string,
	// []any, map[string]any (keys then sorted) or json.RawMessage (decoded,
	// key order kept). They cannot replace the variables above.
	Extra map[string]any
	// Now is the time strftime_now formats; the zero value means
	// time.Now(). Set it to make renders that print today's date (Llama
	// 3.2) reproducible.
	Now time.Time
}

// Template is a compiled chat template. It is safe for concurrent use.
type Template struct {
	src  string
	tmpl *jinja.Template
}

// New compiles a Jinja chat template once; Render may then be called any
// number of times. The error wraps the library's scan or parse error.
func New(src string) (*Template, error) {
	t, err := jinja.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("chat: compile template (%d bytes): %w", len(src), err)
	}
	return &Template{src: src, tmpl: t}, nil
}

// Source returns the template text given to New.
func (t *Template) Source() string { return t.src }

// chatMLSource is ChatML as llama.cpp formats it when a model has no
// template (llm_chat_apply_template, LLM_CHAT_TEMPLATE_CHATML).
const chatMLSource = `{%- for message in messages -%}
{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' -}}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}`

var chatML = sync.OnceValue(func() *Template {
	t, err := New(chatMLSource)
	if err != nil {
		panic(err) // a constant template: covered by tests
	}
	return t
})

// ChatML returns the fallback template for GGUFs without
// tokenizer.chat_template: each message as
// "<|im_start|>{role}\n{content}<|im_end|>\n", and with AddGenerationPrompt
// a final "<|im_start|>assistant\n".
func ChatML() *Template { return chatML() }

// Render executes the template for msgs (in conversation order) and opts.
// Errors wrap the template's own failures, e.g. raise_exception("System role
// not supported") from Gemma 2, or an invalid Extra value.
func (t *Template) Render(msgs []Message, opts Options) (string, error) {
	data := make(map[string]jinja.Value, len(opts.Extra)+6)
	for k, v := range opts.Extra {
		val, err := toValue(v)
		if err != nil {
			return "", fmt.Errorf("chat: Extra[%q]: %w", k, err)
		}
		data[k] = val
	}
	list := make([]jinja.Value, len(msgs))
	for i, m := range msgs {
		val, err := messageValue(m)
		if err != nil {
			return "", fmt.Errorf("chat: message %d: %w", i, err)
		}
		list[i] = val
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	data["messages"] = jinja.NewList(list)
	data["add_generation_prompt"] = jinja.NewBool(opts.AddGenerationPrompt)
	data["bos_token"] = jinja.NewString(opts.BOSToken)
	data["eos_token"] = jinja.NewString(opts.EOSToken)
	// Shadow the library's strftime_now: it must use opts.Now, and the
	// library's replacer rewrites literal text that looks like a Go layout.
	data["strftime_now"] = jinja.NewCallable("strftime_now", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		if len(args) != 1 || !args[0].IsString() {
			return jinja.Undefined(), fmt.Errorf("strftime_now: want one string argument, got %d", len(args))
		}
		return jinja.NewString(strftime(now, args[0].AsString())), nil
	})
	data["raise_exception"] = jinja.NewCallable("raise_exception", func(args []jinja.Value, _ map[string]jinja.Value) (jinja.Value, error) {
		msg := "raise_exception called"
		if len(args) > 0 {
			if args[0].IsString() {
				msg = args[0].AsString()
			} else {
				msg = args[0].String()
			}
		}
		return jinja.Undefined(), &TemplateError{Message: msg}
	})
	out, err := t.tmpl.RenderValues(data)
	if err != nil {
		return "", fmt.Errorf("chat: render template: %w", err)
	}
	return out, nil
}

// TemplateError is the error a template raises itself with
// raise_exception(Message); Render wraps it (errors.As finds it).
type TemplateError struct{ Message string }

func (e *TemplateError) Error() string { return "template raised: " + e.Message }

func messageValue(m Message) (jinja.Value, error) {
	v := jinja.NewDict()
	d := v.AsDict()
	d.Set("role", jinja.NewString(m.Role))
	d.Set("content", jinja.NewString(m.Content))
	if m.Name != "" {
		d.Set("name", jinja.NewString(m.Name))
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", jinja.NewString(m.ToolCallID))
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]jinja.Value, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			args := jinja.NewString(tc.Arguments)
			if json.Valid([]byte(tc.Arguments)) {
				a, err := decodeJSON([]byte(tc.Arguments))
				if err != nil {
					return jinja.Value{}, fmt.Errorf("tool call %d arguments: %w", i, err)
				}
				args = a
			}
			fn := jinja.NewDict()
			fn.AsDict().Set("name", jinja.NewString(tc.Name))
			fn.AsDict().Set("arguments", args)
			call := jinja.NewDict()
			if tc.ID != "" {
				call.AsDict().Set("id", jinja.NewString(tc.ID))
			}
			call.AsDict().Set("type", jinja.NewString("function"))
			call.AsDict().Set("function", fn)
			calls[i] = call
		}
		d.Set("tool_calls", jinja.NewList(calls))
	}
	return v, nil
}

// toValue converts an Extra value. json.RawMessage is decoded keeping key
// order; other types go through jinja.FromGoValue, which turns types it does
// not know into undefined, so those are rejected here instead.
func toValue(v any) (jinja.Value, error) {
	switch x := v.(type) {
	case json.RawMessage:
		return decodeJSON(x)
	case jinja.Value:
		return x, nil
	}
	val := jinja.FromGoValue(v)
	if val.IsUndefined() {
		return val, fmt.Errorf("unsupported type %T", v)
	}
	return val, nil
}

// decodeJSON decodes one JSON value into a jinja.Value, keeping object key
// order (templates print tool schemas with tojson, and the model saw them
// in the order written) and integers as integers.
func decodeJSON(b []byte) (jinja.Value, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return jinja.Value{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jinja.Value{}, fmt.Errorf("json: trailing data after value")
	}
	return v, nil
}

// maxJSONDepth bounds recursion on hostile input.
const maxJSONDepth = 512

func decodeValue(dec *json.Decoder, depth int) (jinja.Value, error) {
	if depth > maxJSONDepth {
		return jinja.Value{}, fmt.Errorf("json: nesting deeper than %d", maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return jinja.Value{}, fmt.Errorf("json: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			var items []jinja.Value
			for dec.More() {
				it, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Value{}, err
				}
				items = append(items, it)
			}
			if _, err := dec.Token(); err != nil {
				return jinja.Value{}, fmt.Errorf("json: %w", err)
			}
			return jinja.NewList(items), nil
		case '{':
			obj := jinja.NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jinja.Value{}, fmt.Errorf("json: %w", err)
				}
				key, _ := kt.(string)
				val, err := decodeValue(dec, depth+1)
				if err != nil {
					return jinja.Value{}, err
				}
				obj.AsDict().Set(key, val)
			}
			if _, err := dec.Token(); err != nil {
				return jinja.Value{}, fmt.Errorf("json: %w", err)
			}
			return obj, nil
		}
		return jinja.Value{}, fmt.Errorf("json: unexpected %v", t)
	default:
		return jinja.FromGoValue(t), nil // nil, bool, json.Number, string
	}
}

var (
	monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// strftime formats t with Python's strftime directives (C locale): %Y %y %m
// %d %e %B %b %h %A %a %H %I %M %S %p %j %Z %z %%. Unknown directives are
// kept literally, as glibc does.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			b.WriteByte(c)
			continue
		}
		i++
		switch format[i] {
		case 'Y':
			fmt.Fprintf(&b, "%04d", t.Year())
		case 'y':
			fmt.Fprintf(&b, "%02d", t.Year()%100)
		case 'm':
			fmt.Fprintf(&b, "%02d", int(t.Month()))
		case 'd':
			fmt.Fprintf(&b, "%02d", t.Day())
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'B':
			b.WriteString(monthNames[t.Month()-1])
		case 'b', 'h':
			b.WriteString(monthNames[t.Month()-1][:3])
		case 'A':
			b.WriteString(dayNames[t.Weekday()])
		case 'a':
			b.WriteString(dayNames[t.Weekday()][:3])
		case 'H':
			fmt.Fprintf(&b, "%02d", t.Hour())
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			fmt.Fprintf(&b, "%02d", h)
		case 'M':
			fmt.Fprintf(&b, "%02d", t.Minute())
		case 'S':
			fmt.Fprintf(&b, "%02d", t.Second())
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'j':
			fmt.Fprintf(&b, "%03d", t.YearDay())
		case 'Z':
			name, _ := t.Zone()
			b.WriteString(name)
		case 'z':
			b.WriteString(t.Format("-0700"))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i])
		}
	}
	return b.String()
}
