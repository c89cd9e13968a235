package kernel

import (
	"testing"
	"time"
)

type countTask struct{ hits []int32 }

func (c *countTask) Run(_, lo, hi int) {
	for i := lo; i < hi; i++ {
		c.hits[i]++
	}
}

// TestPoolCoversEveryItemOnce runs Parallel right after NewPool (before the workers have
// started), back to back (spinning workers) and after pauses longer than spinFor (parked
// workers), checking each item is run exactly once per call.
func TestPoolCoversEveryItemOnce(t *testing.T) {
	for _, threads := range []int{1, 2, 3, 5} {
		p := NewPool(threads)
		for call := 0; call < 200; call++ {
			n := 1 + call%37
			c := &countTask{hits: make([]int32, n)}
			p.Parallel(n, 1+call%5, c)
			for i, h := range c.hits {
				if h != 1 {
					t.Fatalf("threads=%d call=%d n=%d: item %d run %d times", threads, call, n, i, h)
				}
			}
			if call%50 == 49 {
				time.Sleep(2 * spinFor)
			}
		}
		p.Close()
		p.Close() // idempotent
	}
}

func TestPoolParallelAllocatesNothing(t *testing.T) {
	p := NewPool(2)
	defer p.Close()
	c := &countTask{hits: make([]int32, 64)}
	if a := testing.AllocsPerRun(100, func() { p.Parallel(64, 4, c) }); a != 0 {
		t.Errorf("Parallel: %v allocations per call, want 0", a)
	}
}
