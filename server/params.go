package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// fields is a request body decoded one level deep, so that each parameter is checked on its
// own and an error can name it (encoding/json's type errors do not, reliably).
type fields map[string]json.RawMessage

// parseBody checks that body is valid UTF-8 JSON without lone surrogate escapes and is an
// object. encoding/json silently turns both kinds of bad text into U+FFFD; the API rejects them
// instead, so that a client learns its input was mangled.
func parseBody(body []byte) (fields, *apiError) {
	if !utf8.Valid(body) {
		return nil, badRequest("request body is not valid UTF-8", "invalid_utf8")
	}
	if off := loneSurrogate(body); off >= 0 {
		return nil, badRequest(fmt.Sprintf("request body has an unpaired UTF-16 surrogate escape at byte %d (not valid Unicode)", off), "invalid_utf8")
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, badRequest("request body is empty; expected a JSON object", "invalid_json")
	}
	if trimmed[0] != '{' {
		return nil, badRequest("request body must be a JSON object", "invalid_json")
	}
	var f fields
	if err := json.Unmarshal(trimmed, &f); err != nil {
		return nil, badRequest("invalid JSON in request body: "+err.Error(), "invalid_json")
	}
	return f, nil
}

// loneSurrogate returns the offset of the first \uD800–\uDFFF escape inside a JSON string that
// is not part of a high+low pair, or -1. body must be syntactically plausible JSON; anything
// else is left to the JSON decoder.
func loneSurrogate(b []byte) int {
	inStr := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !inStr {
			if c == '"' {
				inStr = true
			}
			continue
		}
		switch c {
		case '"':
			inStr = false
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			if b[i+1] != 'u' {
				i++ // skip the escaped byte
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok {
				return -1
			}
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return i
			case r >= 0xD800 && r <= 0xDBFF:
				if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
					if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 11
						continue
					}
				}
				return i
			}
			i += 5
		}
	}
	return -1
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(v), err == nil
}

// parser reads typed parameters from fields, keeping the first error. A JSON null counts as
// absent (OpenAI's SDKs send null for unset optional parameters).
type parser struct {
	f   fields
	err *apiError
}

func (p *parser) raw(k string) (json.RawMessage, bool) {
	if p.err != nil {
		return nil, false
	}
	v, ok := p.f[k]
	if !ok || string(v) == "null" {
		return nil, false
	}
	return v, true
}

func (p *parser) fail(param, format string, a ...any) {
	if p.err == nil {
		p.err = badParam(param, fmt.Sprintf(format, a...))
	}
}

// jsonKind names the JSON type of v for error messages.
func jsonKind(v json.RawMessage) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func decodeString(v json.RawMessage) (string, bool) {
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

func (p *parser) str(k string) (string, bool) {
	v, ok := p.raw(k)
	if !ok {
		return "", false
	}
	s, ok := decodeString(v)
	if !ok {
		p.fail(k, "%s must be a string, got %s", k, jsonKind(v))
		return "", false
	}
	return s, true
}

func (p *parser) boolean(k string) (bool, bool) {
	v, ok := p.raw(k)
	if !ok {
		return false, false
	}
	switch string(v) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	p.fail(k, "%s must be a boolean, got %s", k, jsonKind(v))
	return false, false
}

// number parses a JSON number; a non-finite or overflowing one is an error.
func number(v json.RawMessage) (float64, bool) {
	if len(v) == 0 || !(v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return 0, false
	}
	x, err := strconv.ParseFloat(string(v), 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, false
	}
	return x, true
}

// num reads a number in [lo, hi] (lo excluded when loOpen).
func (p *parser) num(k string, lo, hi float64, loOpen bool) (float64, bool) {
	v, ok := p.raw(k)
	if !ok {
		return 0, false
	}
	x, ok := number(v)
	if !ok {
		p.fail(k, "%s must be a number, got %s", k, jsonKind(v))
		return 0, false
	}
	if x < lo || loOpen && x == lo || x > hi {
		open := "["
		if loOpen {
			open = "("
		}
		p.fail(k, "%s must be in %s%g, %g], got %g", k, open, lo, hi, x)
		return 0, false
	}
	return x, true
}

// integer reads an integer in [lo, hi].
func (p *parser) integer(k string, lo, hi int64) (int64, bool) {
	v, ok := p.raw(k)
	if !ok {
		return 0, false
	}
	// Plain integers parse exactly (a seed may exceed float64's 53-bit mantissa).
	if n, err := strconv.ParseInt(string(v), 10, 64); err == nil {
		if n < lo || n > hi {
			p.fail(k, "%s must be between %d and %d, got %d", k, lo, hi, n)
			return 0, false
		}
		return n, true
	} else if errors.Is(err, strconv.ErrRange) {
		p.fail(k, "%s must be between %d and %d, got %s", k, lo, hi, string(truncate(v, 40)))
		return 0, false
	}
	x, ok := number(v)
	if !ok || x != math.Trunc(x) {
		p.fail(k, "%s must be an integer, got %s", k, string(truncate(v, 40)))
		return 0, false
	}
	// float64(hi) may round up (MaxInt64 → 2⁶³), so the upper bound is strict there.
	if x < float64(lo) || x > float64(hi) || x >= math.MaxInt64 {
		p.fail(k, "%s must be between %d and %d, got %s", k, lo, hi, string(truncate(v, 40)))
		return 0, false
	}
	return int64(x), true
}

func truncate(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	return append(append([]byte(nil), b[:n]...), "…"...)
}
