package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golem-llm/golem/chat"
	"github.com/golem-llm/golem/tokenizer"
)

// roles a message may have; "developer" (OpenAI's newer name for system) is rendered as
// "system", which is what chat templates know.
var roles = map[string]string{"system": "system", "developer": "system", "user": "user", "assistant": "assistant", "tool": "tool"}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	f, aerr := s.readBody(w, r)
	if aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	p := &parser{f: f}
	if aerr := checkModel(p, m); aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	msgs := parseMessages(p)
	g := parseGen(p, 0, true)
	for _, k := range []string{"tools", "functions"} {
		if v, ok := p.raw(k); ok && string(v) != "[]" {
			p.fail(k, "%s (function calling) is not supported", k)
		}
	}
	if v, ok := p.raw("response_format"); ok {
		var rf struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(v, &rf) != nil || rf.Type != "text" {
			p.fail("response_format", "response_format: only {\"type\":\"text\"} is supported")
		}
	}
	if p.err != nil {
		s.fail(w, rl, p.err)
		return
	}
	tok := m.Backend.Tokenizer()
	tmpl := m.Template
	if tmpl == nil {
		tmpl = chat.ChatML()
	}
	text, err := tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true, BOSToken: specialText(tok, tok.BOS()), EOSToken: specialText(tok, tok.EOS())})
	if err != nil {
		s.fail(w, rl, badParam("messages", "the model's chat template rejected the messages: "+err.Error()))
		return
	}
	ids, err := encodePrompt(tok, text)
	if err != nil {
		s.fail(w, rl, errInternal("tokenizing the prompt: "+err.Error()))
		return
	}
	if aerr := g.checkContext(len(ids), m.Backend.ContextSize(), "messages"); aerr != nil {
		s.fail(w, rl, aerr)
		return
	}
	rl.id = newID("chatcmpl-")
	rl.model = m.Name
	cf := &chatFormat{id: rl.id, created: time.Now().Unix(), model: m.Name, tok: tok, logprobs: g.logprobs}
	s.run(w, r, m, rl, &job{prompts: [][]int32{ids}, g: g, promptParam: "messages", f: cf})
}

func specialText(tok *tokenizer.Tokenizer, id int32) string {
	if id < 0 {
		return ""
	}
	return tok.Piece(id)
}

// parseMessages reads messages: a non-empty array of {role, content, name?, tool_call_id?,
// tool_calls?}; content is a string, an array of text parts, or null.
func parseMessages(p *parser) []chat.Message {
	v, ok := p.raw("messages")
	if !ok {
		if p.err == nil {
			p.fail("messages", "messages is required")
		}
		return nil
	}
	var raw []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &raw) != nil {
		p.fail("messages", "messages must be an array of message objects, got %s", jsonKind(v))
		return nil
	}
	if len(raw) == 0 {
		p.fail("messages", "messages must not be empty")
		return nil
	}
	out := make([]chat.Message, 0, len(raw))
	for i, rm := range raw {
		at := fmt.Sprintf("messages[%d]", i)
		var mf fields
		if len(rm) == 0 || rm[0] != '{' || json.Unmarshal(rm, &mf) != nil {
			p.fail(at, "%s must be an object, got %s", at, jsonKind(rm))
			return nil
		}
		mp := &parser{f: mf}
		role, ok := mp.str("role")
		if mp.err == nil && !ok {
			mp.fail("role", "role is required")
		}
		canon, known := roles[role]
		if mp.err == nil && !known {
			mp.fail("role", "unknown role %q (expected system, developer, user, assistant or tool)", role)
		}
		msg := chat.Message{Role: canon}
		msg.Content = parseContent(mp, role)
		msg.Name, _ = mp.str("name")
		msg.ToolCallID, _ = mp.str("tool_call_id")
		if tv, ok := mp.raw("tool_calls"); ok {
			var calls []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			}
			if json.Unmarshal(tv, &calls) != nil {
				mp.fail("tool_calls", "tool_calls must be an array of {id, type, function: {name, arguments}}")
			}
			for _, c := range calls {
				msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: c.Function.Arguments})
			}
		}
		if mp.err != nil {
			param := at
			if mp.err.Param != nil {
				param += "." + *mp.err.Param
			}
			mp.err.Param = &param
			mp.err.Message = at + ": " + mp.err.Message
			p.err = mp.err
			return nil
		}
		out = append(out, msg)
	}
	return out
}

// parseContent reads a message's content: a string, an array of {"type":"text","text":…}
// parts (joined with newlines, as vLLM does), or null (assistant messages with tool calls).
func parseContent(mp *parser, role string) string {
	v, ok := mp.raw("content")
	if !ok {
		if mp.err == nil && role != "assistant" {
			mp.fail("content", "content is required")
		}
		return ""
	}
	if s, ok := decodeString(v); ok {
		return s
	}
	var parts []fields
	if v[0] != '[' || json.Unmarshal(v, &parts) != nil {
		mp.fail("content", "content must be a string or an array of content parts, got %s", jsonKind(v))
		return ""
	}
	var texts []string
	for k, part := range parts {
		pp := &parser{f: part}
		typ, _ := pp.str("type")
		text, ok := pp.str("text")
		if pp.err != nil || typ != "text" || !ok {
			mp.fail("content", "content[%d]: only text parts ({\"type\":\"text\",\"text\":…}) are supported", k)
			return ""
		}
		texts = append(texts, text)
	}
	return strings.Join(texts, "\n")
}

// chatFormat renders chat.completion and chat.completion.chunk objects.
type chatFormat struct {
	id       string
	created  int64
	model    string
	tok      *tokenizer.Tokenizer
	logprobs bool
}

type chatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	Usage   *usage        `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int           `json:"index"`
	Delta        chatDelta     `json:"delta"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatLogprobs struct {
	Content []chatTokenLP `json:"content"`
}

type chatTokenLP struct {
	Token       string      `json:"token"`
	Logprob     float64     `json:"logprob"`
	Bytes       []int       `json:"bytes"`
	TopLogprobs []chatTopLP `json:"top_logprobs"`
}

type chatTopLP struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

func (f *chatFormat) chunk(c chunkChoice) chatChunk {
	return chatChunk{ID: f.id, Object: "chat.completion.chunk", Created: f.created, Model: f.model, Choices: []chunkChoice{c}}
}

func (f *chatFormat) first(i int) any {
	empty := ""
	return f.chunk(chunkChoice{Index: i, Delta: chatDelta{Role: "assistant", Content: &empty}})
}

func (f *chatFormat) delta(i int, text string, lp *tokenLP, finish string) any {
	c := chunkChoice{Index: i, Delta: chatDelta{Content: &text}}
	if text == "" && lp == nil {
		c.Delta.Content = nil
	}
	if lp != nil {
		c.Logprobs = &chatLogprobs{Content: []chatTokenLP{f.tokenLP(lp)}}
	}
	if finish != "" {
		c.FinishReason = &finish
	}
	return f.chunk(c)
}

func (f *chatFormat) tokenLP(lp *tokenLP) chatTokenLP {
	t, b := pieceOf(f.tok, lp.id)
	out := chatTokenLP{Token: t, Logprob: finiteLP(lp.logprob), Bytes: b, TopLogprobs: make([]chatTopLP, len(lp.top))}
	for k, a := range lp.top {
		t, b := pieceOf(f.tok, a.ID)
		out.TopLogprobs[k] = chatTopLP{Token: t, Logprob: finiteLP(a.Logprob), Bytes: b}
	}
	return out
}

func (f *chatFormat) usageChunk(u usage) any {
	return chatChunk{ID: f.id, Object: "chat.completion.chunk", Created: f.created, Model: f.model, Choices: []chunkChoice{}, Usage: &u}
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   usage        `json:"usage"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      chatMessage   `json:"message"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

func (f *chatFormat) response(cs []*choice, u usage) any {
	out := chatResponse{ID: f.id, Object: "chat.completion", Created: f.created, Model: f.model, Usage: u, Choices: make([]chatChoice, len(cs))}
	for i, c := range cs {
		ch := chatChoice{Index: i, Message: chatMessage{Role: "assistant", Content: c.text.String()}, FinishReason: c.finish}
		if f.logprobs {
			ch.Logprobs = &chatLogprobs{Content: make([]chatTokenLP, len(c.lps))}
			for k := range c.lps {
				ch.Logprobs.Content[k] = f.tokenLP(&c.lps[k])
			}
		}
		out.Choices[i] = ch
	}
	return out
}
