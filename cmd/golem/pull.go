package main

import (
	"fmt"

	"github.com/golem-llm/golem/hub"
	"github.com/spf13/cobra"
)

func newPullCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "pull REF",
		Short: "Download a model from Hugging Face (org/repo:FILE.gguf or org/repo:Q4_K_M) into the cache",
		Long: `Download a GGUF model into golem's cache ($GOLEM_CACHE, else $XDG_CACHE_HOME/golem, else
~/.cache/golem), resuming a partial download and verifying the sha256 the hub publishes.
HF_ENDPOINT and HF_TOKEN are honoured as the Hugging Face tools do. Prints the local path.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref, err := hub.ParseRef(args[0])
			if err != nil {
				return err
			}
			if ref.IsLocal() {
				return fmt.Errorf("%q is a local path, not a hub reference (org/repo:FILE.gguf)", args[0])
			}
			c := hub.NewClientFromEnv()
			path, err := c.Pull(cmd.Context(), ref)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
}
