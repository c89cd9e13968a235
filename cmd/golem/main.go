// Command golem runs GGUF language models: generate text, chat, serve an OpenAI-compatible
// API, inspect and download models, and benchmark.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, errInterrupted) {
			os.Exit(130) // as a shell reports SIGINT
		}
		if !errors.Is(err, errSilent) {
			msg := err.Error()
			if !strings.HasPrefix(msg, "golem: ") {
				msg = "golem: " + msg
			}
			fmt.Fprintln(os.Stderr, msg)
		}
		os.Exit(1)
	}
}

// errSilent marks an error already reported to the user; errInterrupted a command stopped
// by SIGINT/SIGTERM after printing what it had.
var (
	errSilent      = errors.New("reported")
	errInterrupted = errors.New("interrupted")
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "golem",
		Short:         "Run GGUF language models on the CPU: generate, chat, serve, inspect, benchmark",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newRunCmd(), newChatCmd(), newServeCmd(), newInspectCmd(), newTokenizeCmd(),
		newPullCmd(), newBenchCmd())
	return root
}
