package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/chat"
	"github.com/spf13/cobra"
)

func newChatCmd() *cobra.Command {
	var (
		mf     modelFlags
		sf     samplingFlags
		system string
		n      int
	)
	c := &cobra.Command{
		Use:   "chat [-m MODEL]",
		Short: "Chat with a model in the terminal (multi-turn, using its chat template)",
		Long: `An interactive multi-turn chat: each line you type is a user message; the model's reply
streams back. The conversation is rendered with the model's chat template (ChatML when the
file has none). Commands: /reset clears the conversation, /exit (or Ctrl-D) quits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			m, err := mf.load(ctx)
			if err != nil {
				return err
			}
			defer m.Close()
			return chatLoop(cmd, m, cmd.InOrStdin(), cmd.OutOrStdout(), system, n, &sf)
		},
	}
	mf.add(c)
	sf.add(c, 0.8)
	c.Flags().StringVar(&system, "system", "", "system message")
	c.Flags().IntVarP(&n, "n-predict", "n", 1024, "maximum tokens per reply")
	return c
}

func chatLoop(cmd *cobra.Command, m *golem.Model, in io.Reader, out io.Writer, system string, n int, sf *samplingFlags) error {
	ctx := cmd.Context()
	params, err := sf.params()
	if err != nil {
		return err
	}
	var msgs []chat.Message
	reset := func() {
		msgs = msgs[:0]
		if system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: system})
		}
	}
	reset()
	if !m.HasTemplate() {
		fmt.Fprintln(cmd.ErrOrStderr(), "golem: the model has no chat template; using ChatML")
	}
	// Ctrl-C stops the reply being generated and returns to the prompt; at the prompt it
	// quits (as llama-cli). The root context's own SIGINT handling is replaced here.
	interrupts := make(chan os.Signal, 1)
	signal.Reset(os.Interrupt)
	signal.Notify(interrupts, os.Interrupt)
	defer signal.Stop(interrupts)
	lines := make(chan string)
	scanErr := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(in)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		scanErr <- sc.Err()
		close(lines)
	}()
	for {
		fmt.Fprint(out, "> ")
		var line string
		select {
		case l, ok := <-lines:
			if !ok {
				fmt.Fprintln(out)
				return <-scanErr
			}
			line = strings.TrimSpace(l)
		case <-interrupts:
			fmt.Fprintln(out)
			return nil
		case <-ctx.Done():
			fmt.Fprintln(out)
			return nil
		}
		switch line {
		case "":
			continue
		case "/exit", "/quit":
			return nil
		case "/reset":
			reset()
			continue
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: line})
		prompt, err := fitContext(m, &msgs, system != "", n)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "golem: %v\n", err)
			msgs = msgs[:len(msgs)-1]
			continue
		}
		turnCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-interrupts:
				cancel()
			case <-turnCtx.Done():
			}
		}()
		var reply strings.Builder
		_, err = m.Generate(turnCtx, prompt, golem.GenerateOptions{MaxTokens: n, Sampling: params, Stop: sf.stop}, func(t golem.Token) error {
			reply.WriteString(t.Text)
			_, err := io.WriteString(out, t.Text)
			return err
		})
		stopped := turnCtx.Err() != nil
		cancel()
		if err != nil && !stopped {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		params.Seed++ // a new stream per turn, still reproducible from --seed
		fmt.Fprintln(out)
		msgs = append(msgs, chat.Message{Role: "assistant", Content: strings.TrimSpace(reply.String())})
	}
}

// fitContext renders the conversation for the next reply, dropping the oldest exchanges
// (never the system message or the new user message) until the prompt and a reply of up to
// n tokens fit the context.
func fitContext(m *golem.Model, msgs *[]chat.Message, hasSystem bool, n int) (string, error) {
	first := 0
	if hasSystem {
		first = 1
	}
	for {
		prompt, err := m.RenderChat(*msgs, true)
		if err != nil {
			return "", err
		}
		ids, err := m.Tokenize(prompt, true, true)
		if err != nil {
			return "", err
		}
		if len(ids)+min(n, 64) < m.ContextSize() {
			return prompt, nil
		}
		if len(*msgs)-first <= 1 {
			return "", fmt.Errorf("message of %d tokens does not fit the context of %d tokens (--ctx)", len(ids), m.ContextSize())
		}
		// Drop the oldest user message and the reply that followed it.
		drop := 1
		if len(*msgs)-first > 2 && (*msgs)[first+1].Role == "assistant" {
			drop = 2
		}
		*msgs = append((*msgs)[:first], (*msgs)[first+drop:]...)
	}
}
