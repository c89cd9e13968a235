package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// reqLog collects what the request log line reports beyond status and duration.
type reqLog struct {
	model            string
	id               string
	stream           bool
	choices          int
	promptTokens     int
	completionTokens int
	cachedTokens     int
	ttft             time.Duration
	finish           string
	errMsg           string
}

// statusWriter records the status and size of a response. Unwrap lets http.ResponseController
// reach the connection (Flush, SetWriteDeadline).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusClientClosed is nginx's "client closed request", logged (never sent) for a request whose
// client left before any of the response was written.
const statusClientClosed = 499

func (s *Server) logRequest(r *http.Request, w *statusWriter, rl *reqLog, d time.Duration) {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	// The client went away before the handler finished (the request context is cancelled only
	// then, or after ServeHTTP returns): nginx's 499 when it got no answer at all.
	clientClosed := r.Context().Err() != nil
	if clientClosed && w.bytes == 0 {
		status = statusClientClosed
	}
	level := slog.LevelInfo
	switch {
	case r.URL.Path == "/health" || r.URL.Path == "/metrics":
		level = slog.LevelDebug // probes would drown the log
	case status == http.StatusServiceUnavailable:
		level = slog.LevelWarn // loading or draining: expected
	case status >= 500:
		level = slog.LevelError
	}
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status),
		slog.Float64("duration_ms", ms(d)), slog.Int64("bytes", w.bytes), slog.String("remote", r.RemoteAddr),
		slog.String("request_id", w.Header().Get("X-Request-Id")),
	}
	if clientClosed {
		attrs = append(attrs, slog.Bool("client_closed", true))
	}
	if rl.id != "" {
		attrs = append(attrs, slog.String("id", rl.id), slog.Bool("stream", rl.stream), slog.Int("choices", rl.choices),
			slog.Int("prompt_tokens", rl.promptTokens), slog.Int("cached_tokens", rl.cachedTokens),
			slog.Int("completion_tokens", rl.completionTokens))
		if rl.ttft > 0 {
			attrs = append(attrs, slog.Float64("ttft_ms", ms(rl.ttft)))
		}
		if rl.finish != "" {
			attrs = append(attrs, slog.String("finish_reason", rl.finish))
		}
	}
	if rl.errMsg != "" {
		attrs = append(attrs, slog.String("error", rl.errMsg))
	}
	s.log.LogAttrs(context.Background(), level, "request", attrs...)
}

// fail writes e and notes it for the log line.
func (s *Server) fail(w http.ResponseWriter, rl *reqLog, e *apiError) {
	rl.errMsg = e.Message
	writeError(w, e)
}

// writeJSON writes v as a 200 JSON response, first extending the write deadline (generation
// may have taken longer than WriteTimeout).
func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errInternal("encoding the response: "+err.Error()))
		return
	}
	s.extendWrite(w)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// extendWrite moves the connection's write deadline WriteTimeout ahead.
func (s *Server) extendWrite(w http.ResponseWriter) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
}

// ms is d in milliseconds, rounded to microseconds.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
