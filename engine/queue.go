package engine

import "sync"

// eventQueue delivers a request's events in order without ever blocking the engine
// goroutine on a slow reader: push appends to a list, a forwarding goroutine feeds the
// channel. Its memory is bounded by the request's max tokens.
type eventQueue struct {
	ch     chan Event
	mu     sync.Mutex
	buf    []Event
	closed bool
	wake   chan struct{}
}

func newEventQueue() *eventQueue {
	q := &eventQueue{ch: make(chan Event, 16), wake: make(chan struct{}, 1)}
	go q.forward()
	return q
}

func (q *eventQueue) push(ev Event) {
	q.mu.Lock()
	q.buf = append(q.buf, ev)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) forward() {
	defer close(q.ch)
	for {
		q.mu.Lock()
		evs, closed := q.buf, q.closed
		q.buf = nil
		q.mu.Unlock()
		for _, ev := range evs {
			q.ch <- ev
		}
		if closed && len(evs) == 0 {
			return
		}
		if !closed {
			<-q.wake
		}
	}
}
