package sched_test

import (
	"fmt"

	"github.com/golem-llm/golem/kvcache"
	"github.com/golem-llm/golem/sched"
)

// The engine loop: Schedule → run the plan's tokens through the model → sample → Update.
// Here the "model" always samples token 7; two requests share a 4-token prefix.
func Example() {
	kv, _ := kvcache.NewManager(16, 4)
	s, _ := sched.New(sched.Config{MaxBatchTokens: 8, MaxSeqs: 4}, kv)
	s.Add(sched.Request{ID: 1, Prompt: []int32{1, 2, 3, 4, 5}, MaxTokens: 2})
	s.Add(sched.Request{ID: 2, Prompt: []int32{1, 2, 3, 4, 9}, MaxTokens: 2})
	for step := 1; !s.Idle(); step++ {
		plan := s.Schedule()
		var res []sched.Result
		for _, w := range plan.Work {
			fmt.Printf("step %d: request %d feeds %v at %d (sample %v)\n", step, w.ID, w.Tokens, w.Pos, w.Logits)
			if w.Logits {
				res = append(res, sched.Result{ID: w.ID, Token: 7})
			}
		}
		done, err := s.Update(res)
		if err != nil {
			panic(err)
		}
		for _, f := range done {
			fmt.Printf("step %d: request %d finished (%v): %v\n", step, f.ID, f.Reason, f.Output)
		}
	}
	// Output:
	// step 1: request 1 feeds [1 2 3 4 5] at 0 (sample true)
	// step 2: request 1 feeds [7] at 5 (sample true)
	// step 2: request 2 feeds [9] at 4 (sample true)
	// step 2: request 1 finished (length): [7 7]
	// step 3: request 2 feeds [7] at 5 (sample true)
	// step 3: request 2 finished (length): [7 7]
}
