package kernel

import (
	"sync/atomic"
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

// sleepyTask makes threads finish at very different times, so Parallel's caller both spins
// and parks on the last worker; every item must run exactly once per call.
type sleepyTask struct{ hits []atomic.Int32 }

func (s *sleepyTask) Run(thread, lo, hi int) {
	if thread == 1 && lo%3 == 0 {
		time.Sleep(time.Duration(lo%7) * 60 * time.Microsecond)
	}
	for i := lo; i < hi; i++ {
		s.hits[i].Add(1)
	}
}

func TestPoolCallerParksAndWakes(t *testing.T) {
	p := NewPool(3)
	defer p.Close()
	task := &sleepyTask{hits: make([]atomic.Int32, 64)}
	for call := 1; call <= 400; call++ {
		n := 1 + call%64
		p.Parallel(n, 1, task)
		for i := 0; i < n; i++ {
			if got := task.hits[i].Load(); got != 1 {
				t.Fatalf("call %d: item %d ran %d times", call, i, got)
			}
			task.hits[i].Store(0)
		}
	}
}
