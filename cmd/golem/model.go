package main

import (
	"context"
	"fmt"
	"os"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/hub"
	"github.com/spf13/cobra"
)

// modelFlags are the flags every model-loading command shares.
type modelFlags struct {
	model   string
	threads int
	ctx     int
	kvType  string
}

func (f *modelFlags) add(c *cobra.Command) {
	c.Flags().StringVarP(&f.model, "model", "m", "", "GGUF file or Hugging Face reference (org/repo:FILE.gguf or org/repo:Q4_K_M); default: the embedded "+golem.DefaultModelName)
	c.Flags().IntVarP(&f.threads, "threads", "t", 0, "compute threads (default: number of cores)")
	c.Flags().IntVarP(&f.ctx, "ctx", "c", 0, "context size in tokens (default: the model's, at most 4096)")
	c.Flags().StringVar(&f.kvType, "kv-type", "f16", "K/V cache type: f16 (llama.cpp's default), f32 or q8_0")
}

func (f *modelFlags) options() golem.Options {
	return golem.Options{Threads: f.threads, Context: f.ctx, KVType: f.kvType}
}

// resolveModel turns -m into a local path, downloading a hub reference into the cache.
// "" means the embedded default model.
func resolveModel(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	r, err := hub.ParseRef(ref)
	if err != nil {
		return "", err
	}
	if r.IsLocal() {
		return r.Path, nil
	}
	c := hub.NewClientFromEnv()
	return c.Pull(ctx, r)
}

func (f *modelFlags) load(ctx context.Context) (*golem.Model, error) {
	path, err := resolveModel(ctx, f.model)
	if err != nil {
		return nil, err
	}
	if path == "" {
		return golem.LoadDefault(f.options())
	}
	if fi, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	} else if fi.IsDir() {
		return nil, fmt.Errorf("model file %s is a directory, not a GGUF file", path)
	}
	return golem.Load(path, f.options())
}
