// Package server serves a model over HTTP with OpenAI's API, on top of package engine
// (continuous batching over a paged, prefix-sharing KV cache).
//
// Routes:
//
//	POST /v1/chat/completions   chat (messages rendered with the model's chat template), SSE streaming
//	POST /v1/completions        text completion; prompt as a string, token ids, or a batch of either
//	POST /v1/embeddings         last-token pooling: the final-norm hidden state of the last prompt
//	                            token, L2-normalized (as llama.cpp's --pooling last); float or base64
//	GET  /v1/models             the served model (and GET /v1/models/{id})
//	GET  /health                200 {"status":"ok"}; 503 while the model loads or the server drains
//	GET  /metrics               Prometheus text format, vLLM-style names under "golem:"
//
// Errors have OpenAI's shape {"error":{"message","type","param","code"}}: 400 names the bad
// parameter (a prompt that does not fit the context with max_tokens is a 400, never a silent
// truncation), 401 without the API key, 404 for an unknown model or route, 405 for a wrong
// method, 413 for a body over the limit, 429 with Retry-After when the engine's waiting queue
// is full, 503 while loading or draining. A client that disconnects cancels its request: the
// engine aborts it at its next step.
//
// Extensions beyond OpenAI's parameters (as vLLM): top_k, min_p, repetition_penalty,
// ignore_eos and priority (lower runs first).
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golem-llm/golem/chat"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/tokenizer"
)

// Backend is what the server needs of an engine; *engine.Engine implements it.
type Backend interface {
	// Submit starts a generation; the stream ends with one event with Done set. Cancelling
	// ctx aborts it. Errors: engine.ErrQueueFull, ErrDraining, ErrTooLong, ErrEmptyPrompt or a
	// validation error.
	Submit(ctx context.Context, r engine.Request) (<-chan engine.Event, error)
	// Embed returns the L2-normalized final hidden state of the last token of tokens.
	Embed(ctx context.Context, tokens []int32) ([]float32, error)
	Tokenizer() *tokenizer.Tokenizer
	ContextSize() int
	Stats() engine.Stats
}

// Drainer is implemented by backends that can stop accepting work and wait for in-flight
// requests (engine.Engine.Drain); when ctx ends the rest are aborted.
type Drainer interface {
	Drain(ctx context.Context) error
}

// Config configures a Server. Zero values take the defaults in brackets.
type Config struct {
	APIKey            string        // when set, every route but /health needs "Authorization: Bearer <key>"
	MaxBodyBytes      int64         // request body limit [4 MiB]; larger bodies get 413
	MaxHeaderBytes    int           // [64 KiB]
	ReadHeaderTimeout time.Duration // [10s]
	ReadTimeout       time.Duration // whole request, body included [60s]
	WriteTimeout      time.Duration // per write: extended before each SSE chunk and before a final response [60s]
	IdleTimeout       time.Duration // keep-alive [120s]
	Logger            *slog.Logger  // one line per request [slog.Default()]
}

// Model is what is served: the backend, the name clients use, and the chat template.
type Model struct {
	Name     string
	Backend  Backend
	Template *chat.Template // nil means ChatML
	Created  time.Time      // reported by /v1/models [load time]
}

// Server is an http.Handler for the API. It starts in the loading state (every route but
// /health and /metrics answers 503) until SetModel.
type Server struct {
	cfg      Config
	log      *slog.Logger
	model    atomic.Pointer[Model]
	draining atomic.Bool
	metrics  *metrics
	routes   map[string]route
}

type route struct {
	method string
	h      func(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog)
	open   bool // no API key needed
	ready  bool // needs a model
}

// New returns a Server in the loading state.
func New(cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	if cfg.MaxHeaderBytes <= 0 {
		cfg.MaxHeaderBytes = 64 << 10
	}
	if cfg.ReadHeaderTimeout <= 0 {
		cfg.ReadHeaderTimeout = 10 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 60 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 60 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 120 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.metrics = newMetrics(s)
	s.routes = map[string]route{
		"/v1/chat/completions": {method: http.MethodPost, h: s.chatCompletions, ready: true},
		"/v1/completions":      {method: http.MethodPost, h: s.completions, ready: true},
		"/v1/embeddings":       {method: http.MethodPost, h: s.embeddings, ready: true},
		"/v1/models":           {method: http.MethodGet, h: s.models, ready: true},
		"/health":              {method: http.MethodGet, h: s.health, open: true},
		"/metrics":             {method: http.MethodGet, h: s.serveMetrics},
	}
	return s
}

// SetModel makes the server ready to serve m.
func (s *Server) SetModel(m Model) {
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	s.model.Store(&m)
}

// StartDrain makes /health and new requests answer 503; in-flight requests continue.
func (s *Server) StartDrain() { s.draining.Store(true) }

// Drain stops accepting requests and waits for in-flight ones through the backend's Drain
// (when it has one); when ctx ends the backend aborts the rest.
func (s *Server) Drain(ctx context.Context) error {
	s.StartDrain()
	if m := s.model.Load(); m != nil {
		if d, ok := m.Backend.(Drainer); ok {
			return d.Drain(ctx)
		}
	}
	return nil
}

// HTTPServer returns an http.Server for addr with the configured header limit and timeouts.
// Streamed responses are not cut by WriteTimeout: the handlers extend the write deadline
// before each chunk.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		MaxHeaderBytes:    s.cfg.MaxHeaderBytes,
		ReadHeaderTimeout: s.cfg.ReadHeaderTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

// ServeHTTP routes a request: authentication, state checks, then the handler; it logs one
// line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rl := &reqLog{}
	sw := &statusWriter{ResponseWriter: w}
	defer func() { s.logRequest(r, sw, rl, time.Since(start)) }()
	sw.Header().Set("X-Request-Id", newID(""))

	path := r.URL.Path
	var modelID string
	if rest, ok := strings.CutPrefix(path, "/v1/models/"); ok && rest != "" {
		path, modelID = "/v1/models", rest
	}
	rt, ok := s.routes[path]
	if !ok {
		writeError(sw, errNotFound("Unknown route "+r.Method+" "+r.URL.Path+"."))
		return
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		sw.Header().Set("Allow", rt.method)
		e := &apiError{Status: http.StatusMethodNotAllowed, Message: "Method " + r.Method + " is not allowed for " + path + "; use " + rt.method + ".",
			Type: "invalid_request_error", Code: strp("method_not_allowed")}
		writeError(sw, e)
		return
	}
	if !rt.open && !s.authorized(r) {
		sw.Header().Set("WWW-Authenticate", `Bearer realm="golem"`)
		writeError(sw, &apiError{Status: http.StatusUnauthorized, Message: "Missing or invalid API key: send \"Authorization: Bearer <key>\".",
			Type: "invalid_request_error", Code: strp("invalid_api_key")})
		return
	}
	m := s.model.Load()
	if rt.ready {
		if m == nil {
			writeError(sw, errUnavailable("The model is still loading."))
			return
		}
		if s.draining.Load() {
			writeError(sw, errUnavailable("The server is shutting down."))
			return
		}
	}
	if modelID != "" {
		if m.Name != modelID {
			writeError(sw, errModelNotFound(modelID))
			return
		}
		rl.model = modelID
	}
	rt.h(sw, r, m, rl)
}

func (s *Server) authorized(r *http.Request) bool {
	if s.cfg.APIKey == "" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.APIKey)) == 1
}

// readBody reads the request body under the size limit and parses it as a JSON object.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (fields, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return nil, &apiError{Status: http.StatusRequestEntityTooLarge, Message: "Request body is larger than the limit of " + byteSize(mb.Limit) + ".",
				Type: "invalid_request_error", Code: strp("request_too_large")}
		}
		return nil, badRequest("reading the request body: "+err.Error(), "invalid_body")
	}
	return parseBody(body)
}

// checkModel accepts the served model's name or an empty/omitted model.
func checkModel(p *parser, m *Model) *apiError {
	name, ok := p.str("model")
	if p.err != nil {
		return p.err
	}
	if ok && name != "" && name != m.Name {
		return errModelNotFound(name)
	}
	return nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case m == nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"loading"}`+"\n")
	case s.draining.Load():
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"draining"}`+"\n")
	default:
		io.WriteString(w, `{"status":"ok"}`+"\n")
	}
}

func (s *Server) models(w http.ResponseWriter, r *http.Request, m *Model, rl *reqLog) {
	card := map[string]any{"id": m.Name, "object": "model", "created": m.Created.Unix(), "owned_by": "golem",
		"max_model_len": m.Backend.ContextSize()}
	if rl.model != "" {
		s.writeJSON(w, card)
		return
	}
	s.writeJSON(w, map[string]any{"object": "list", "data": []any{card}})
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return itoa(n>>10) + " KiB"
	}
	return itoa(n) + " bytes"
}
