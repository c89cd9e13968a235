package sample

import (
	"slices"
	"strings"
)

// StopMatcher finds stop strings in streamed text. Text that could still
// turn out to be the start of a stop string is held back, so callers never
// stream any part of a stop string, even when it arrives split across
// tokens. It is not safe for concurrent use.
type StopMatcher struct {
	stops   []string
	held    string
	stopped bool
}

// NewStopMatcher returns a matcher for stops; empty strings are ignored.
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push adds the next piece of generated text. It returns the text that is
// now safe to emit and whether a stop string was found. On a stop, emit is
// everything before the earliest stop string (the stop string and what
// follows are dropped, as OpenAI's API does) and later calls return
// ("", true).
func (m *StopMatcher) Push(text string) (emit string, stopped bool) {
	if m.stopped {
		return "", true
	}
	buf := m.held + text
	if cut := m.earliest(buf); cut >= 0 {
		m.held, m.stopped = "", true
		return buf[:cut], true
	}
	keep := m.partialSuffix(buf)
	m.held = buf[len(buf)-keep:]
	return buf[:len(buf)-keep], false
}

// Flush returns the held-back text when generation ends for another reason
// (end-of-generation token, token limit) and clears it. After a stop it
// returns "".
func (m *StopMatcher) Flush() string {
	s := m.held
	m.held = ""
	return s
}

// Stopped reports whether a stop string was found.
func (m *StopMatcher) Stopped() bool { return m.stopped }

// earliest returns the byte offset of the first stop string occurrence in
// s, or -1.
func (m *StopMatcher) earliest(s string) int {
	best := -1
	for _, stop := range m.stops {
		if i := strings.Index(s, stop); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best
}

// partialSuffix returns the length of the longest suffix of s that is a
// proper prefix of some stop string.
func (m *StopMatcher) partialSuffix(s string) int {
	keep := 0
	for _, stop := range m.stops {
		for l := min(len(stop)-1, len(s)); l > keep; l-- {
			if strings.HasSuffix(s, stop[:l]) {
				keep = l
				break
			}
		}
	}
	return keep
}

// FinishReason says why a sequence stopped.
type FinishReason uint8

const (
	NotFinished  FinishReason = iota
	FinishEOG                 // an end-of-generation token (EOS, EOT, …)
	FinishStop                // a stop string
	FinishLength              // the token limit
)

// OpenAI returns the finish_reason string of OpenAI's API: "stop" for an
// end-of-generation token or a stop string, "length" for the token limit,
// "" while not finished.
func (r FinishReason) OpenAI() string {
	switch r {
	case FinishEOG, FinishStop:
		return "stop"
	case FinishLength:
		return "length"
	}
	return ""
}

func (r FinishReason) String() string {
	switch r {
	case FinishEOG:
		return "eog"
	case FinishStop:
		return "stop"
	case FinishLength:
		return "length"
	}
	return "not finished"
}

// Stopper applies all stop conditions of one sequence: end-of-generation
// tokens, stop strings and a token limit.
type Stopper struct {
	eog       []int32
	match     *StopMatcher
	maxTokens int
	n         int
	done      FinishReason
}

// NewStopper returns a Stopper. eog are the vocabulary's end-of-generation
// token ids; maxTokens ≤ 0 means no limit.
func NewStopper(eog []int32, stops []string, maxTokens int) *Stopper {
	return &Stopper{eog: slices.Clone(eog), match: NewStopMatcher(stops), maxTokens: maxTokens}
}

// Next takes a generated token and its decoded text and returns the text
// to stream now and whether (why) the sequence is finished. An EOG token's
// own text is never emitted; what was held back is. At the token limit the
// held-back text is emitted too. Once finished, Next returns ("", reason).
func (s *Stopper) Next(tok int32, text string) (emit string, reason FinishReason) {
	if s.done != NotFinished {
		return "", s.done
	}
	s.n++
	for _, e := range s.eog {
		if tok == e {
			s.done = FinishEOG
			return s.match.Flush(), s.done
		}
	}
	emit, stopped := s.match.Push(text)
	if stopped {
		s.done = FinishStop
		return emit, s.done
	}
	if s.maxTokens > 0 && s.n >= s.maxTokens {
		s.done = FinishLength
		return emit + s.match.Flush(), s.done
	}
	return emit, NotFinished
}

// Tokens returns how many tokens Next has seen.
func (s *Stopper) Tokens() int { return s.n }
