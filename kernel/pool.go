package kernel

import (
	"runtime"
	"sync"
)

// Task is work a Pool splits across its workers: Run(thread, lo, hi) handles items
// [lo, hi) on thread (0 ≤ thread < Threads(), for per-thread scratch buffers).
// Tasks are interfaces rather than closures so a caller can keep one task value and
// reuse it every step, which keeps the decode loop free of heap allocations.
type Task interface {
	Run(thread, lo, hi int)
}

// Pool is a persistent set of worker goroutines (one per thread, the caller being
// thread 0). One Pool runs one Parallel call at a time; it is meant to be owned by the
// single goroutine that runs the model.
type Pool struct {
	n     int
	start []chan job
	wg    sync.WaitGroup
	once  sync.Once

	// scratch owned by the calling goroutine, reused across calls
	mm       matmulTask
	actBuf   []byte
	act16Buf []uint16
}

type job struct {
	t              Task
	thread, lo, hi int
}

// NewPool starts a pool of n threads (n ≤ 0 means runtime.NumCPU()).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, start: make([]chan job, n-1)}
	for i := range p.start {
		ch := make(chan job, 1)
		p.start[i] = ch
		go func() {
			for j := range ch {
				j.t.Run(j.thread, j.lo, j.hi)
				p.wg.Done()
			}
		}()
	}
	return p
}

// Threads returns the number of threads, the caller included.
func (p *Pool) Threads() int { return p.n }

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	p.once.Do(func() {
		for _, ch := range p.start {
			close(ch)
		}
	})
}

// Parallel runs t over items [0, n) split into contiguous ranges, one per thread, with
// range boundaries rounded to multiples of grain (grain ≤ 0 means 1). It returns when all
// ranges are done. The split depends only on n, grain and the thread count, so results
// are deterministic for a given thread count (each item is computed by exactly one thread
// in a fixed order).
func (p *Pool) Parallel(n, grain int, t Task) {
	if n <= 0 {
		return
	}
	if grain <= 0 {
		grain = 1
	}
	chunks := (n + grain - 1) / grain
	threads := p.n
	if threads > chunks {
		threads = chunks
	}
	if threads <= 1 {
		t.Run(0, 0, n)
		return
	}
	per := chunks / threads
	extra := chunks % threads
	lo := 0
	bounds := func(i int) (int, int) {
		c := per
		if i < extra {
			c++
		}
		a := lo
		b := a + c*grain
		if b > n {
			b = n
		}
		lo = b
		return a, b
	}
	a0, b0 := bounds(0)
	p.wg.Add(threads - 1)
	for i := 1; i < threads; i++ {
		a, b := bounds(i)
		p.start[i-1] <- job{t, i, a, b}
	}
	t.Run(0, a0, b0)
	p.wg.Wait()
}
