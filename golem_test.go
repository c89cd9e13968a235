package golem_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/golem-llm/golem"
	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/model"
)

type storiesGolden struct {
	Prompts []struct {
		Prompt    string  `json:"prompt"`
		Tokens    []int32 `json:"tokens"`
		Positions []struct {
			Top5IDs      []int32   `json:"top5_ids"`
			Top5Logprobs []float64 `json:"top5_logprobs"`
		} `json:"positions"`
		Greedy200     []int32 `json:"greedy200"`
		Greedy200Text string  `json:"greedy200_text"`
	} `json:"prompts"`
}

func loadStoriesGolden(t *testing.T) storiesGolden {
	t.Helper()
	raw, err := os.ReadFile("testdata/models/stories260K.golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g storiesGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func logSoftmax(x []float32) []float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	for _, v := range x {
		s += math.Exp(float64(v) - mx)
	}
	ls := math.Log(s) + mx
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - ls
	}
	return out
}

// top5 returns the five highest ids, ties to the lower id.
func top5(x []float32) []int32 {
	var ids []int32
	for len(ids) < 5 {
		best := -1
	next:
		for i, v := range x {
			for _, id := range ids {
				if int(id) == i {
					continue next
				}
			}
			if best < 0 || v > x[best] {
				best = i
			}
		}
		ids = append(ids, int32(best))
	}
	return ids
}

// The embedded stories260K against llama.cpp on real trained weights: the tokenizer gives
// llama.cpp's prompt tokens, every position's top-5 ids match with log-probabilities within
// 1e-3, and the 200 greedy tokens and their streamed text are identical.
func TestStories260KAgreesWithLlamaCpp(t *testing.T) {
	g := loadStoriesGolden(t)
	m, err := golem.LoadDefault(golem.Options{Threads: 2, KVType: "f32"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	net := m.Net()
	var worst float64
	for _, gp := range g.Prompts {
		ids, err := m.Tokenize(gp.Prompt, true, true)
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(ids, gp.Tokens) {
			t.Errorf("%q: tokens %v, llama.cpp %v", gp.Prompt, ids, gp.Tokens)
			continue
		}
		kv := kvcache.NewContiguous(net.NLayer, 512, net.NHeadKV*net.HeadDim, false, net.Pool())
		out, err := net.Forward(&model.Batch{Seqs: []model.Seq{{Tokens: ids, Logits: model.LogitsAll}}}, kv)
		if err != nil {
			t.Fatal(err)
		}
		for i, pos := range gp.Positions {
			lp := logSoftmax(out[i])
			if got := top5(out[i]); !equalIDs(got, pos.Top5IDs) {
				t.Errorf("%q position %d: top-5 %v, llama.cpp %v", gp.Prompt, i, got, pos.Top5IDs)
			}
			for j, id := range pos.Top5IDs {
				d := math.Abs(lp[id] - pos.Top5Logprobs[j])
				worst = math.Max(worst, d)
				if d > 1e-3 {
					t.Errorf("%q position %d: log p(%d) = %.6f, llama.cpp %.6f", gp.Prompt, i, id, lp[id], pos.Top5Logprobs[j])
				}
			}
		}
		var text strings.Builder
		res, err := m.Generate(context.Background(), gp.Prompt, golem.GenerateOptions{MaxTokens: len(gp.Greedy200), IgnoreEOS: true}, func(tk golem.Token) error {
			text.WriteString(tk.Text)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !equalIDs(res.Tokens, gp.Greedy200) {
			t.Errorf("%q: greedy tokens differ from llama.cpp:\n got %v\nwant %v", gp.Prompt, res.Tokens, gp.Greedy200)
		}
		if text.String() != gp.Greedy200Text {
			t.Errorf("%q: streamed text differs from llama.cpp:\n got %q\nwant %q", gp.Prompt, text.String(), gp.Greedy200Text)
		}
		if res.Text != text.String() {
			t.Errorf("%q: Result.Text %q differs from the streamed text %q", gp.Prompt, res.Text, text.String())
		}
	}
	t.Logf("largest top-5 log-probability difference from llama.cpp: %.2e", worst)
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Generations on one Model from several goroutines queue on its engine and each gets the
// text it would get alone; after Close, Generate returns ErrClosed.
func TestConcurrentGenerateAndClose(t *testing.T) {
	g := loadStoriesGolden(t)
	m, err := golem.LoadDefault(golem.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := g.Prompts[0].Greedy200[:30]
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			res, err := m.Generate(context.Background(), g.Prompts[0].Prompt, golem.GenerateOptions{MaxTokens: 30, IgnoreEOS: true}, nil)
			if err == nil && !equalIDs(res.Tokens, want) {
				err = fmt.Errorf("tokens %v, want %v", res.Tokens, want)
			}
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	m.Close()
	if _, err := m.Generate(context.Background(), "x", golem.GenerateOptions{}, nil); !errors.Is(err, golem.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
