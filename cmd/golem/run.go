package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/chat"
	"github.com/golem-llm/golem/sample"
	"github.com/spf13/cobra"
)

// samplingFlags are shared by run and chat.
type samplingFlags struct {
	temp, topP, minP, repeatPenalty, presence, frequency float32
	topK, repeatLastN                                    int
	seed                                                 int64
	stop                                                 []string
}

func (s *samplingFlags) add(c *cobra.Command, defTemp float32) {
	f := c.Flags()
	f.Float32Var(&s.temp, "temp", defTemp, "temperature; 0 = greedy")
	f.IntVar(&s.topK, "top-k", 40, "keep the k most likely tokens (0 or -1 = off; applies when --temp > 0)")
	f.Float32Var(&s.topP, "top-p", 0.95, "keep the most likely tokens up to this cumulative probability (0 or 1 = off)")
	f.Float32Var(&s.minP, "min-p", 0.05, "drop tokens less likely than this fraction of the most likely (0 = off)")
	f.Float32Var(&s.repeatPenalty, "repeat-penalty", 1, "penalise tokens seen in the last --repeat-last-n tokens (1 = off)")
	f.Float32Var(&s.presence, "presence-penalty", 0, "subtract from the logit of every token already seen")
	f.Float32Var(&s.frequency, "frequency-penalty", 0, "subtract per occurrence of a token already seen")
	f.IntVar(&s.repeatLastN, "repeat-last-n", 64, "window of the penalties in tokens (-1 = all)")
	f.Int64Var(&s.seed, "seed", -1, "random seed (-1 = a random one); the same seed gives the same text")
	f.StringArrayVar(&s.stop, "stop", nil, "stop when this text is generated (repeatable)")
}

func (s *samplingFlags) params() (sample.Params, error) {
	seed := uint64(s.seed)
	if s.seed < 0 {
		seed = rand.Uint64() & 0xffffffff
	}
	p := sample.Params{
		Temperature: s.temp, TopK: s.topK, TopP: s.topP, MinP: s.minP,
		RepeatPenalty: s.repeatPenalty, PresencePenalty: s.presence, FrequencyPenalty: s.frequency,
		RepeatLastN: s.repeatLastN, Seed: seed,
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("sampling flags: %w", err)
	}
	return p, nil
}

func newRunCmd() *cobra.Command {
	var (
		mf       modelFlags
		sf       samplingFlags
		prompt   string
		n        int
		asChat   bool
		system   string
		asJSON   bool
		topN     int
		noBOS    bool
		ignoreEO bool
	)
	c := &cobra.Command{
		Use:   "run [-m MODEL] [-p PROMPT]",
		Short: "Generate text from a prompt (-p, or standard input) and stream it to standard output",
		Long: `Generate text from a prompt and stream only the generated text to standard output;
statistics (prompt tokens, prefill and decode speed) go to standard error.

Without -m, golem uses the embedded stories260K model (a tiny story model that works offline).
Decoding is greedy by default (--temp 0), so the same prompt gives the same text.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			params, err := sf.params()
			if err != nil {
				return err
			}
			switch {
			case n < -1:
				return fmt.Errorf("-n %d: want a token count, 0, or -1 for until the context is full", n)
			case system != "" && !asChat:
				return fmt.Errorf("--system needs --chat")
			case topN < 0 || topN > 20:
				return fmt.Errorf("--top-logprobs %d: want 0 to 20", topN)
			}
			if !cmd.Flags().Changed("prompt") {
				in := cmd.InOrStdin()
				if f, ok := in.(*os.File); ok {
					if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
						in = nil // a terminal: no prompt given
					}
				}
				if in != nil {
					b, err := io.ReadAll(io.LimitReader(in, 64<<20))
					if err != nil {
						return fmt.Errorf("reading the prompt from standard input: %w", err)
					}
					prompt = string(b)
				}
			}
			m, err := mf.load(ctx)
			if err != nil {
				return err
			}
			defer m.Close()
			if asChat {
				var msgs []chat.Message
				if system != "" {
					msgs = append(msgs, chat.Message{Role: "system", Content: system})
				}
				msgs = append(msgs, chat.Message{Role: "user", Content: prompt})
				if prompt, err = m.RenderChat(msgs, true); err != nil {
					return err
				}
			}
			if n == 0 {
				return nil // llama.cpp's -n 0: nothing to generate
			}
			maxTok := n
			if n < 0 {
				maxTok = 0 // until the context is full
			}
			opt := golem.GenerateOptions{MaxTokens: maxTok, Sampling: params, Stop: sf.stop, Logprobs: topN, NoBOS: noBOS, IgnoreEOS: ignoreEO}
			out := bufio.NewWriter(cmd.OutOrStdout())
			defer out.Flush()
			var toks []jsonToken
			res, err := m.Generate(ctx, prompt, opt, func(t golem.Token) error {
				if asJSON {
					if t.ID >= 0 {
						toks = append(toks, newJSONToken(m, t))
					}
					return nil
				}
				out.WriteString(t.Text)
				return out.Flush()
			})
			interrupted := err != nil && ctx.Err() != nil && res != nil
			if err != nil && !interrupted {
				return err
			}
			if interrupted {
				res.FinishReason = "abort"
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(jsonResult{
					Model: m.Name, PromptTokens: res.Prompt, Tokens: res.Tokens, Text: res.Text,
					FinishReason: res.FinishReason, Logprobs: toks,
					PrefillTokS: res.PrefillTokensPerSecond(), DecodeTokS: res.DecodeTokensPerSecond(),
				}); err != nil {
					return err
				}
			} else if res.Text == "" || res.Text[len(res.Text)-1] != '\n' {
				out.WriteString("\n")
			}
			out.Flush()
			fmt.Fprintf(cmd.ErrOrStderr(), "prompt: %d tokens, %.1f tok/s | generated: %d tokens, %.1f tok/s | finish: %s\n",
				len(res.Prompt), res.PrefillTokensPerSecond(), len(res.Tokens), res.DecodeTokensPerSecond(), res.FinishReason)
			if interrupted {
				return errInterrupted
			}
			return nil
		},
	}
	mf.add(c)
	sf.add(c, 0)
	f := c.Flags()
	f.StringVarP(&prompt, "prompt", "p", "", "the prompt (default: read standard input when it is not a terminal)")
	f.IntVarP(&n, "n-predict", "n", 256, "maximum number of tokens to generate (0 = none, -1 = until the context is full)")
	f.BoolVar(&asChat, "chat", false, "wrap the prompt as a user message in the model's chat template")
	f.StringVar(&system, "system", "", "system message (with --chat)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object with token ids, text and per-token logprobs instead of streaming")
	f.IntVar(&topN, "top-logprobs", 0, "with --json, also list this many most likely alternatives per token")
	f.BoolVar(&noBOS, "no-bos", false, "do not add the BOS token")
	f.BoolVar(&ignoreEO, "ignore-eos", false, "keep generating after end-of-generation tokens")
	return c
}

type jsonToken struct {
	ID      int32     `json:"id"`
	Token   string    `json:"token"`
	Logprob float32   `json:"logprob"`
	Top     []jsonAlt `json:"top_logprobs,omitempty"`
}

type jsonAlt struct {
	ID      int32   `json:"id"`
	Token   string  `json:"token"`
	Logprob float32 `json:"logprob"`
}

func newJSONToken(m *golem.Model, t golem.Token) jsonToken {
	jt := jsonToken{ID: t.ID, Token: string(m.Tokenizer().TokenToPiece(t.ID, true)), Logprob: t.Logprob}
	for _, a := range t.Top {
		jt.Top = append(jt.Top, jsonAlt{ID: a.ID, Token: string(m.Tokenizer().TokenToPiece(a.ID, true)), Logprob: a.Logprob})
	}
	return jt
}

type jsonResult struct {
	Model        string      `json:"model"`
	PromptTokens []int32     `json:"prompt_tokens"`
	Tokens       []int32     `json:"tokens"`
	Text         string      `json:"text"`
	FinishReason string      `json:"finish_reason"`
	Logprobs     []jsonToken `json:"logprobs"`
	PrefillTokS  float64     `json:"prefill_tok_s"`
	DecodeTokS   float64     `json:"decode_tok_s"`
}
