package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/gguf"
	"github.com/golem-llm/golem/tokenizer"
	"github.com/spf13/cobra"
)

func newTokenizeCmd() *cobra.Command {
	var (
		modelRef               string
		special, noBOS, asJSON bool
		verbose, idsOnly       bool
	)
	c := &cobra.Command{
		Use:   "tokenize [-m MODEL] [--special] [--no-bos] [--json] TEXT...",
		Short: "Print the token ids of each TEXT, as llama.cpp's llama-tokenize does",
		Long: `Tokenize each TEXT argument with the model's tokenizer (default: the embedded model's
vocabulary). BOS/EOS are added as the model's metadata asks unless --no-bos; special-token
text such as <|im_start|> becomes its token only with --special.

Output: one line of ids per TEXT; --verbose prints "id -> 'piece'" lines instead, and --json
prints one object per line: {"text":…, "ids":[…]} (with "pieces" when --verbose).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var f *gguf.File
			var err error
			if modelRef == "" {
				f, err = gguf.Parse(golem.DefaultModelBytes())
			} else {
				var path string
				if path, err = resolveModel(cmd.Context(), modelRef); err != nil {
					return err
				}
				f, err = gguf.Open(path)
			}
			if err != nil {
				return err
			}
			defer f.Close()
			tok, err := tokenizer.FromGGUF(f)
			if err != nil {
				return err
			}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			for _, text := range args {
				ids, err := tok.Encode(text, !noBOS, special)
				if err != nil {
					return err
				}
				pieces := make([]string, len(ids))
				for i, id := range ids {
					pieces[i] = string(tok.TokenToPiece(id, true))
				}
				switch {
				case asJSON:
					obj := map[string]any{"text": text, "ids": nonNil(ids)}
					if verbose {
						obj["pieces"] = pieces
					}
					b, _ := json.Marshal(obj)
					out.Write(b)
					out.WriteByte('\n')
				case verbose:
					for i, id := range ids {
						fmt.Fprintf(out, "%6d -> '%s'\n", id, pieces[i])
					}
				default:
					s := make([]string, len(ids))
					for i, id := range ids {
						s[i] = fmt.Sprint(id)
					}
					if idsOnly {
						fmt.Fprintf(out, "[%s]\n", strings.Join(s, ", "))
					} else {
						fmt.Fprintln(out, strings.Join(s, " "))
					}
				}
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&modelRef, "model", "m", "", "GGUF file or hub reference (default: the embedded "+golem.DefaultModelName+" vocabulary)")
	f.BoolVar(&special, "special", false, "parse special-token text (e.g. <|im_start|>) into special tokens")
	f.BoolVar(&noBOS, "no-bos", false, "do not add BOS/EOS tokens")
	f.BoolVar(&asJSON, "json", false, `print {"text":…,"ids":[…]} per line`)
	f.BoolVar(&verbose, "verbose", false, "also print each token's piece")
	f.BoolVar(&idsOnly, "ids", false, "print ids as a Python-style list, like llama-tokenize --ids")
	return c
}

func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}
