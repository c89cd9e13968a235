package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/engine"
	"github.com/golem-llm/golem/server"
	"github.com/spf13/cobra"
)

type serveFlags struct {
	mf             modelFlags
	host           string
	port           int
	apiKey         string
	name           string
	kvMemory       string
	blockSize      int
	maxBatchTokens int
	maxSeqs        int
	maxWaiting     int
	maxBody        string
	drainTimeout   time.Duration
	logFormat      string
	logLevel       string
}

func newServeCmd() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Serve a model with an OpenAI-compatible API (continuous batching, paged KV cache with prefix sharing)",
		Long: `Serve a model over HTTP with OpenAI's API:
  POST /v1/chat/completions, POST /v1/completions, POST /v1/embeddings (last-token pooling,
  L2-normalized), GET /v1/models, GET /health, GET /metrics (Prometheus, golem:* names).

Binds 127.0.0.1 unless --host says otherwise. With --api-key (or GOLEM_API_KEY) every route but
/health needs "Authorization: Bearer <key>". SIGINT/SIGTERM drain: new requests get 503, running
ones finish for up to --drain-timeout and are then cancelled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), cmd, &f) },
	}
	f.mf.add(c)
	fl := c.Flags()
	fl.StringVar(&f.host, "host", "127.0.0.1", "address to listen on (0.0.0.0 for every interface)")
	fl.IntVar(&f.port, "port", 8080, "TCP port (0 picks a free one)")
	fl.StringVar(&f.apiKey, "api-key", "", "require this Bearer key (default: $GOLEM_API_KEY; none when both are empty)")
	fl.StringVar(&f.name, "served-model-name", "", "model name clients send (default: the file name without .gguf)")
	fl.StringVar(&f.kvMemory, "kv-memory", "", "KV cache budget, e.g. 2GiB or 512MiB, reserved (resident) at start (default: a fifth of RAM, capped to what --ctx × --max-seqs can use)")
	fl.IntVar(&f.blockSize, "block-size", 16, "KV cache block size in tokens")
	fl.IntVar(&f.maxBatchTokens, "max-batch-tokens", 0, "tokens per engine step, prompt chunks included (default: the engine's, 512); at least --max-seqs")
	fl.IntVar(&f.maxSeqs, "max-seqs", 0, "most sequences running at once (default: the engine's, 64, or --max-batch-tokens if smaller)")
	fl.IntVar(&f.maxWaiting, "max-waiting", 0, "waiting-queue limit; beyond it requests get 429 (default: the engine's, 1024)")
	fl.StringVar(&f.maxBody, "max-body", "4MiB", "request body limit")
	fl.DurationVar(&f.drainTimeout, "drain-timeout", 30*time.Second, "on SIGINT/SIGTERM, how long running requests may finish before they are cancelled")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fl.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return c
}

// parseBytes reads a size such as 2GiB, 512MiB, 1.5GB, 4096 (bytes).
func parseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		mul    float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}}
	mul := 1.0
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, mul = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.mul
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*mul > 1<<50 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KiB, MiB, GiB, KB, MB, GB)", s)
	}
	return int64(v * mul), nil
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func runServe(ctx context.Context, cmd *cobra.Command, f *serveFlags) error {
	log, err := newLogger(f.logFormat, f.logLevel)
	if err != nil {
		return err
	}
	kvType := f.mf.kvType
	switch kvType {
	case "f16", "f32", "q8_0":
	default:
		return fmt.Errorf("--kv-type %q: want f16, f32 or q8_0", kvType)
	}
	var kvMem int64
	if f.kvMemory != "" {
		if kvMem, err = parseBytes(f.kvMemory); err != nil {
			return fmt.Errorf("--kv-memory: %w", err)
		}
	}
	maxBody, err := parseBytes(f.maxBody)
	if err != nil {
		return fmt.Errorf("--max-body: %w", err)
	}
	for name, v := range map[string]int{"--block-size": f.blockSize, "--max-batch-tokens": f.maxBatchTokens, "--max-seqs": f.maxSeqs, "--max-waiting": f.maxWaiting} {
		if v < 0 {
			return fmt.Errorf("%s must not be negative (got %d)", name, v)
		}
	}
	if f.maxBatchTokens > 0 && f.maxSeqs > f.maxBatchTokens {
		return fmt.Errorf("--max-batch-tokens %d is below --max-seqs %d: every running sequence needs a token of each step", f.maxBatchTokens, f.maxSeqs)
	}
	if f.apiKey == "" {
		f.apiKey = os.Getenv("GOLEM_API_KEY")
	}

	srv := server.New(server.Config{APIKey: f.apiKey, MaxBodyBytes: maxBody, Logger: log})
	// Listen first so that /health answers 503 while the model loads.
	addr := net.JoinHostPort(f.host, strconv.Itoa(f.port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := srv.HTTPServer(addr)
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "auth", f.apiKey != "")

	m, err := f.mf.load(ctx)
	if err != nil {
		hs.Close()
		return err
	}
	defer m.Close()
	eng, err := engine.New(engine.Config{
		Model: m.Net(), Tokenizer: m.Tokenizer(), Context: m.ContextSize(), BlockSize: f.blockSize, KVMemory: kvMem,
		KVType: kvType, MaxBatchTokens: f.maxBatchTokens, MaxSeqs: f.maxSeqs, MaxWaiting: f.maxWaiting,
	})
	if err != nil {
		hs.Close()
		return err
	}
	defer eng.Close()
	name := f.name
	if name == "" {
		name = servedName(f.mf.model)
	}
	srv.SetModel(server.Model{Name: name, Backend: eng, Template: m.Template()})
	st := eng.Stats()
	log.Info("ready", "model", name, "context", eng.ContextSize(), "kv_blocks", st.KVBlocks, "kv_type", kvType, "chat_template", m.HasTemplate())
	fmt.Fprintf(cmd.ErrOrStderr(), "golem: serving %s on http://%s\n", name, ln.Addr())

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// Drain: stop accepting, let running requests finish (up to the timeout; the engine then
	// aborts the rest), then close connections once their handlers have written the end.
	log.Info("draining", "timeout", f.drainTimeout.String(), "running", eng.Stats().Running, "waiting", eng.Stats().Waiting)
	dctx, cancel := context.WithTimeout(context.Background(), f.drainTimeout)
	defer cancel()
	if err := srv.Drain(dctx); err != nil {
		log.Warn("drain timed out; running requests were cancelled", "err", err)
	}
	sctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		hs.Close()
	}
	log.Info("stopped")
	return nil
}

// servedName is the name clients use for the model: the file name without .gguf, or the
// embedded model's name.
func servedName(ref string) string {
	if ref == "" {
		return golem.DefaultModelName
	}
	base := ref
	if i := strings.LastIndex(base, ":"); i >= 0 && !strings.Contains(base[i:], string(filepath.Separator)) && !filepath.IsAbs(base) && !fileExists(base) {
		base = base[i+1:] // org/repo:FILE.gguf → FILE.gguf
	}
	return strings.TrimSuffix(filepath.Base(base), ".gguf")
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
