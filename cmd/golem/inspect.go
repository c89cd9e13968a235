package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/kernel"
	"github.com/golem-llm/golem/model"
	"github.com/golem-llm/golem/tokenizer"
	"github.com/spf13/cobra"
)

func newInspectCmd() *cobra.Command {
	var asJSON, showTensors bool
	c := &cobra.Command{
		Use:   "inspect [FILE|REF]",
		Short: "Show a GGUF model's architecture, hyper-parameters, tokenizer, tensor types, size and whether golem supports it",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f *gguf.File
			var err error
			name := golem.DefaultModelName + " (embedded)"
			if len(args) == 0 {
				f, err = gguf.Parse(golem.DefaultModelBytes())
			} else {
				var path string
				if path, err = resolveModel(cmd.Context(), args[0]); err != nil {
					return err
				}
				name = path
				f, err = gguf.Open(path)
			}
			if err != nil {
				return err
			}
			defer f.Close()
			info := inspect(f, name)
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			info.print(cmd.OutOrStdout(), showTensors, f)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	c.Flags().BoolVar(&showTensors, "tensors", false, "list every tensor")
	return c
}

type inspectInfo struct {
	File          string         `json:"file"`
	Version       uint32         `json:"gguf_version"`
	Name          string         `json:"name,omitempty"`
	Arch          string         `json:"architecture"`
	Params        map[string]any `json:"hparams"`
	Tokenizer     map[string]any `json:"tokenizer"`
	ChatTemplate  bool           `json:"chat_template"`
	TensorTypes   map[string]int `json:"tensor_types"`
	NTensors      int            `json:"n_tensors"`
	NParams       int64          `json:"n_params"`
	SizeBytes     int64          `json:"tensor_bytes"`
	Supported     bool           `json:"supported"`
	Unsupported   string         `json:"unsupported_reason,omitempty"`
	MetadataCount int            `json:"n_metadata"`
}

func inspect(f *gguf.File, file string) *inspectInfo {
	in := &inspectInfo{File: file, Version: f.Version, Params: map[string]any{}, Tokenizer: map[string]any{}, TensorTypes: map[string]int{}, MetadataCount: len(f.KVs)}
	in.Name, _ = f.String("general.name")
	in.Arch, _ = f.String("general.architecture")
	for _, kv := range f.KVs {
		if strings.HasPrefix(kv.Key, in.Arch+".") && in.Arch != "" {
			k := strings.TrimPrefix(kv.Key, in.Arch+".")
			in.Params[k] = jsonValue(kv.Value)
		}
	}
	if s, ok := f.String("tokenizer.ggml.model"); ok {
		in.Tokenizer["model"] = s
	}
	if s, ok := f.String("tokenizer.ggml.pre"); ok {
		in.Tokenizer["pre"] = s
	}
	if v, ok := f.Lookup("tokenizer.ggml.tokens"); ok {
		in.Tokenizer["n_vocab"] = v.Len()
	}
	for _, k := range []string{"bos_token_id", "eos_token_id", "eot_token_id", "add_bos_token", "add_eos_token"} {
		if v, ok := f.Lookup("tokenizer.ggml." + k); ok {
			in.Tokenizer[k] = jsonValue(v)
		}
	}
	_, in.ChatTemplate = f.String("tokenizer.chat_template")
	in.NTensors = len(f.Tensors)
	for i := range f.Tensors {
		t := &f.Tensors[i]
		in.TensorTypes[t.Type.String()]++
		in.NParams += t.NumElements()
		in.SizeBytes += t.Size
	}
	in.Supported, in.Unsupported = true, ""
	if _, err := tokenizer.FromGGUF(f); err != nil {
		in.Supported, in.Unsupported = false, err.Error()
	} else if m, err := model.Load(f, model.Options{Threads: 1, CheckOnly: true}); err != nil {
		in.Supported, in.Unsupported = false, err.Error()
	} else {
		m.Close()
	}
	return in
}

func (in *inspectInfo) print(w io.Writer, tensors bool, f *gguf.File) {
	fmt.Fprintf(w, "file:          %s (GGUF v%d)\n", in.File, in.Version)
	if in.Name != "" {
		fmt.Fprintf(w, "name:          %s\n", in.Name)
	}
	fmt.Fprintf(w, "architecture:  %s\n", in.Arch)
	keys := make([]string, 0, len(in.Params))
	for k := range in.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-34s %v\n", k, in.Params[k])
	}
	fmt.Fprintf(w, "tokenizer:    ")
	for _, k := range []string{"model", "pre", "n_vocab", "bos_token_id", "eos_token_id", "eot_token_id", "add_bos_token", "add_eos_token"} {
		if v, ok := in.Tokenizer[k]; ok {
			fmt.Fprintf(w, " %s=%v", k, v)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "chat template: %v\n", in.ChatTemplate)
	types := make([]string, 0, len(in.TensorTypes))
	for t, n := range in.TensorTypes {
		types = append(types, fmt.Sprintf("%s×%d", t, n))
	}
	sort.Strings(types)
	fmt.Fprintf(w, "tensors:       %d (%s)\n", in.NTensors, strings.Join(types, ", "))
	fmt.Fprintf(w, "parameters:    %s\n", humanCount(in.NParams))
	fmt.Fprintf(w, "size:          %s (%.2f bits per weight)\n", humanBytes(in.SizeBytes), float64(in.SizeBytes)*8/float64(max(in.NParams, 1)))
	if in.Supported {
		fmt.Fprintf(w, "supported:     yes (kernels: %s)\n", kernel.Impl())
	} else {
		fmt.Fprintf(w, "supported:     no: %s\n", in.Unsupported)
	}
	if tensors {
		for i := range f.Tensors {
			t := &f.Tensors[i]
			fmt.Fprintf(w, "  %-32s %-6s %v\n", t.Name, t.Type, t.Dims)
		}
	}
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// jsonValue gives a metadata value its JSON type: numbers, booleans and strings as such,
// arrays as "array[N]" (a vocabulary would swamp the output).
func jsonValue(v gguf.Value) any {
	switch v.Type() {
	case gguf.Array:
		return fmt.Sprintf("array[%d]", v.Len())
	case gguf.Bool:
		b, _ := v.AsBool()
		return b
	case gguf.String:
		s, _ := v.AsString()
		return s
	case gguf.Float32, gguf.Float64:
		f, _ := v.AsFloat()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return v.String() // JSON has no NaN or infinities
		}
		bits := 64
		if v.Type() == gguf.Float32 {
			bits = 32 // 1e-05, not 9.999999747378752e-06
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, bits))
	case gguf.Uint64:
		u, _ := v.AsUint()
		return u
	}
	if i, ok := v.AsInt(); ok {
		return i
	}
	return v.String()
}
