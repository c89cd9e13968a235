package main

import (
	"bufio"
	"fmt"
	"io"
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
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	params := sf.params()
	for {
		fmt.Fprint(out, "> ")
		if !sc.Scan() {
			fmt.Fprintln(out)
			return sc.Err()
		}
		line := strings.TrimSpace(sc.Text())
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
		prompt, err := m.RenderChat(msgs, true)
		if err != nil {
			return err
		}
		var reply strings.Builder
		res, err := m.Generate(ctx, prompt, golem.GenerateOptions{MaxTokens: n, Sampling: params, Stop: sf.stop}, func(t golem.Token) error {
			reply.WriteString(t.Text)
			_, err := io.WriteString(out, t.Text)
			return err
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		params.Seed++ // a new stream per turn, still reproducible from --seed
		fmt.Fprintln(out)
		_ = res
		msgs = append(msgs, chat.Message{Role: "assistant", Content: strings.TrimSpace(reply.String())})
	}
}
