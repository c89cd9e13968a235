package kernel

import (
	"runtime"
	"sync/atomic"
	"time"
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
//
// A forward pass makes a few hundred Parallel calls separated by microseconds of serial work,
// so waking a parked goroutine (several µs through the scheduler and a futex) for each would
// cost a noticeable share of a decode step. Workers therefore spin on a generation counter for
// up to spinFor after their last job before parking; the caller spins for the workers to finish.
type Pool struct {
	n       int
	gen     atomic.Uint64 // bumped once per Parallel call (and by Close)
	pending atomic.Int32  // workers still running the current call
	closed  atomic.Bool
	task    Task
	// callerSleeping is 1 while Parallel is parked on done, waiting for the last worker.
	callerSleeping atomic.Int32
	done           chan struct{}
	bounds         [][2]int // item range per thread for the current call
	workers        []worker

	// scratch owned by the calling goroutine, reused across calls
	mm       matmulTask
	qt       quantTask
	actBuf   []byte
	act16Buf []uint16
	packBuf  []byte // packed activations (packed.go)
}

type worker struct {
	sleeping atomic.Int32  // 1 while parked (or about to park) on wake
	wake     chan struct{} // capacity 1: the dispatcher never blocks
	_        [48]byte      // keep workers' flags on separate cache lines
}

// spinFor is how long an idle worker polls for the next job before parking; callerSpinFor
// how long Parallel polls for its workers to finish before parking.
const (
	spinFor       = 200 * time.Microsecond
	callerSpinFor = 100 * time.Microsecond
)

// NewPool starts a pool of n threads (n ≤ 0 means runtime.NumCPU()).
func NewPool(n int) *Pool {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	p := &Pool{n: n, bounds: make([][2]int, n), workers: make([]worker, n), done: make(chan struct{}, 1)}
	for i := 1; i < n; i++ {
		p.workers[i].wake = make(chan struct{}, 1)
		go p.work(i)
	}
	return p
}

func (p *Pool) work(i int) {
	w := &p.workers[i]
	var seen uint64 // the generation at NewPool: a job posted before this goroutine runs is still seen
	for {
		seen = p.waitGen(w, seen)
		if p.closed.Load() {
			return
		}
		if b := p.bounds[i]; b[0] < b[1] {
			p.task.Run(i, b[0], b[1])
		}
		if p.pending.Add(-1) == 0 && p.callerSleeping.CompareAndSwap(1, 0) {
			p.done <- struct{}{}
		}
	}
}

// waitGen returns once the generation differs from seen: first spinning, then parked on
// w.wake. The parking handshake: the worker announces sleeping = 1 and then re-reads gen; the
// dispatcher bumps gen and then claims sleeping 1 → 0 and sends. Whichever claims the flag
// decides whether a wake-up is sent, so none is lost and none is left over.
func (p *Pool) waitGen(w *worker, seen uint64) uint64 {
	start := time.Now()
	for spins := 0; ; spins++ {
		if g := p.gen.Load(); g != seen {
			return g
		}
		if spins&1023 != 1023 {
			continue
		}
		if time.Since(start) < spinFor {
			runtime.Gosched() // let other goroutines of this process have the P now and then
			continue
		}
		w.sleeping.Store(1)
		if g := p.gen.Load(); g != seen {
			if w.sleeping.CompareAndSwap(1, 0) {
				return g
			}
			<-w.wake // the dispatcher claimed the flag: its send is on the way
			return g
		}
		<-w.wake
		spins, start = 0, time.Now()
	}
}

// Threads returns the number of threads, the caller included.
func (p *Pool) Threads() int { return p.n }

// Close stops the workers. The pool must not be used afterwards.
func (p *Pool) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.gen.Add(1)
	p.wakeAll()
}

func (p *Pool) wakeAll() {
	for i := 1; i < p.n; i++ {
		if w := &p.workers[i]; w.sleeping.CompareAndSwap(1, 0) {
			w.wake <- struct{}{}
		}
	}
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
	threads := min(p.n, chunks)
	if threads <= 1 {
		t.Run(0, 0, n)
		return
	}
	per, extra := chunks/threads, chunks%threads
	lo := 0
	for i := 0; i < p.n; i++ {
		c := 0
		if i < threads {
			c = per
			if i < extra {
				c++
			}
		}
		hi := min(lo+c*grain, n)
		p.bounds[i] = [2]int{lo, hi}
		lo = hi
	}
	p.task = t
	p.pending.Store(int32(p.n - 1))
	p.gen.Add(1)
	p.wakeAll()
	t.Run(0, p.bounds[0][0], p.bounds[0][1])
	p.waitDone()
	p.task = nil
}

// waitDone returns when every worker has finished the current call: spinning first (the
// common case on an idle machine, where workers finish within microseconds), then parked on
// p.done so that a worker descheduled by a busy OS does not cost the caller its CPU time.
// The handshake mirrors waitGen's: whoever claims callerSleeping 1 → 0 decides whether a
// wake-up is sent.
func (p *Pool) waitDone() {
	start := time.Now()
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins&255 != 255 {
			continue
		}
		if time.Since(start) < callerSpinFor {
			runtime.Gosched()
			continue
		}
		p.callerSleeping.Store(1)
		if p.pending.Load() == 0 && p.callerSleeping.CompareAndSwap(1, 0) {
			return
		}
		// A worker claimed the flag and sends. It may be the last worker of the previous
		// call, which decremented pending (letting that call return by spinning) but had
		// not yet claimed the flag: so the loop checks pending again after every wake-up.
		<-p.done
	}
}
