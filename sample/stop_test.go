package sample

import (
	"strings"
	"testing"
)

// push feeds pieces and returns everything emitted, the flush, and
// whether a stop was seen.
func push(m *StopMatcher, pieces ...string) (emitted []string, stopped bool) {
	for _, p := range pieces {
		e, s := m.Push(p)
		emitted = append(emitted, e)
		stopped = stopped || s
	}
	return emitted, stopped
}

func TestStopMatcher(t *testing.T) {
	cases := []struct {
		name    string
		stops   []string
		pieces  []string
		emitted []string // per Push
		stopped bool
		flush   string
	}{
		{"split across three tokens", []string{"</s>", "STOP"}, []string{"Hello <", "/", "s>more"},
			[]string{"Hello ", "", ""}, true, ""},
		{"false start released", []string{"</s>"}, []string{"a<", "/b", "c"},
			[]string{"a", "</b", "c"}, false, ""},
		{"overlapping prefix", []string{"abc"}, []string{"aab", "c"},
			[]string{"a", ""}, true, ""},
		{"earliest of two", []string{"</s>", "STOP"}, []string{"xxSTOPyy</s>"},
			[]string{"xx"}, true, ""},
		{"earliest across held text", []string{"Xyz", "yq"}, []string{"aXy", "q"},
			// "aXyq": "yq" starts at 2, "Xyz" never completes.
			[]string{"a", "X"}, true, ""},
		{"held at end, flushed", []string{"\n\nUser:"}, []string{"answer\n", "\nUs"},
			[]string{"answer", ""}, false, "\n\nUs"},
		{"no stops", nil, []string{"a", "b"}, []string{"a", "b"}, false, ""},
		{"empty stop ignored", []string{""}, []string{"abc"}, []string{"abc"}, false, ""},
		{"unicode", []string{"日本"}, []string{"x日", "本y"}, []string{"x", ""}, true, ""},
		{"after stop", []string{"."}, []string{"a.b", "more"}, []string{"a", ""}, true, ""},
	}
	for _, c := range cases {
		m := NewStopMatcher(c.stops)
		got, stopped := push(m, c.pieces...)
		if strings.Join(got, "|") != strings.Join(c.emitted, "|") || stopped != c.stopped {
			t.Errorf("%s: emitted %q stopped %v, want %q %v", c.name, got, stopped, c.emitted, c.stopped)
		}
		if f := m.Flush(); f != c.flush {
			t.Errorf("%s: flush %q, want %q", c.name, f, c.flush)
		}
		// Invariant: emitted text never contains a stop string.
		for _, s := range c.stops {
			if s != "" && strings.Contains(strings.Join(got, ""), s) {
				t.Errorf("%s: emitted text contains stop %q", c.name, s)
			}
		}
	}
}

// TestStopMatcherBytewise streams a text one byte at a time: the emitted
// text must equal the text before the stop, whatever the split.
func TestStopMatcherBytewise(t *testing.T) {
	text := "The answer is 42.<|im_end|>ignored"
	for step := 1; step <= 7; step++ {
		m := NewStopMatcher([]string{"<|im_end|>", "<|endoftext|>"})
		var out strings.Builder
		stopped := false
		for i := 0; i < len(text) && !stopped; i += step {
			e, s := m.Push(text[i:min(i+step, len(text))])
			out.WriteString(e)
			stopped = s
		}
		if !stopped || out.String() != "The answer is 42." {
			t.Fatalf("step %d: %q stopped %v", step, out.String(), stopped)
		}
	}
}

func TestStopper(t *testing.T) {
	// EOG: its own text is not emitted, held text is.
	s := NewStopper([]int32{2, 128009}, []string{"###"}, 0)
	var out []string
	for _, tk := range []struct {
		id   int32
		text string
	}{{10, "Hi"}, {11, " #"}, {128009, "<|eot_id|>"}} {
		e, r := s.Next(tk.id, tk.text)
		out = append(out, e)
		if tk.id == 128009 && r != FinishEOG {
			t.Fatalf("EOG token: reason %v", r)
		}
		if tk.id != 128009 && r != NotFinished {
			t.Fatalf("token %d: reason %v", tk.id, r)
		}
	}
	if strings.Join(out, "|") != "Hi| |#" {
		t.Fatalf("EOG stream %q", out)
	}
	if e, r := s.Next(5, "x"); e != "" || r != FinishEOG || r.OpenAI() != "stop" {
		t.Fatalf("after finish: %q %v", e, r)
	}

	// Token limit: the third token finishes and releases held text.
	s = NewStopper(nil, []string{"###"}, 3)
	var got strings.Builder
	var r FinishReason
	for i, txt := range []string{"a", "b", "c#"} {
		var e string
		e, r = s.Next(int32(i), txt)
		got.WriteString(e)
	}
	if got.String() != "abc#" || r != FinishLength || r.OpenAI() != "length" || s.Tokens() != 3 {
		t.Fatalf("length: %q %v after %d tokens", got.String(), r, s.Tokens())
	}

	// Stop string beats the limit on the same token.
	s = NewStopper(nil, []string{"END"}, 2)
	s.Next(0, "x")
	if e, r := s.Next(1, "yEND"); e != "y" || r != FinishStop || r.OpenAI() != "stop" {
		t.Fatalf("stop at limit: %q %v", e, r)
	}
	if NotFinished.OpenAI() != "" || FinishStop.String() != "stop" {
		t.Fatal("reason strings")
	}
}
