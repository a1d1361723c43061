package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/vilt-vk/vilt-vk/vilt"
)

// Errors of the batcher; the handlers map them to status codes.
var (
	// ErrQueueFull: the queue cannot take the request's examples now (429, Retry-After).
	ErrQueueFull = errors.New("the server is busy: request queue full, retry later")
	// ErrTooManyExamples: one request has more examples than the queue holds (413).
	ErrTooManyExamples = errors.New("request has more image-text pairs than the server's queue holds")
	// ErrClosed: the server is shutting down (503).
	ErrClosed = errors.New("server shutting down")
)

// TextMultiple is the text padding of batched forwards: the batch's text length is rounded
// up to a multiple of it (masked tokens), so few shapes need compiling.
const TextMultiple = 8

// Batcher groups examples from concurrent callers into forwards of up to MaxBatch examples,
// waiting at most MaxWait after the oldest waiting example for others to arrive. Each
// forward goes through the pipeline's model, which splits it across its devices.
//
// Batched examples are padded to the batch's longest text (rounded up to TextMultiple
// tokens) and largest image, as ViltProcessor pads a batch, so outputs equal the unbatched
// ones to float rounding (~1e-6), not bitwise. Batches have 1, 2, 4, ... or MaxBatch
// examples (the rest of the queue goes into the next forward at once), which bounds the
// number of compiled forward shapes.
type Batcher struct {
	p        *vilt.Pipeline
	maxBatch int
	maxWait  time.Duration
	capacity int

	mu     sync.Mutex
	q      []*item // FIFO of waiting examples
	closed bool
	notify chan struct{} // cap 1: something changed in q
	stop   chan struct{}
	wg     sync.WaitGroup

	// observe, when set, is told each forward's size and duration.
	observe func(size int, d time.Duration, err error)
}

type item struct {
	ctx  context.Context
	ex   vilt.Example
	enq  time.Time
	done chan result // buffered 1
}

type result struct {
	out *vilt.Outputs
	err error
}

// NewBatcher starts workers (at least 1) that run batches on p. queue bounds the examples
// waiting.
func NewBatcher(p *vilt.Pipeline, maxBatch int, maxWait time.Duration, queue, workers int) *Batcher {
	b := &Batcher{p: p, maxBatch: max(1, maxBatch), maxWait: max(0, maxWait), capacity: max(1, queue),
		notify: make(chan struct{}, 1), stop: make(chan struct{})}
	for range max(1, workers) {
		b.wg.Add(1)
		go b.worker()
	}
	return b
}

// Depth is the number of examples waiting for a worker.
func (b *Batcher) Depth() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.q)
}

// Capacity is the queue bound.
func (b *Batcher) Capacity() int { return b.capacity }

func (b *Batcher) wake() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// Run queues the examples and waits for their outputs; it is a vilt.RunFunc. When ctx ends
// first, examples not yet started are dropped and Run returns ctx's error.
func (b *Batcher) Run(ctx context.Context, ex []vilt.Example) ([]*vilt.Outputs, error) {
	if len(ex) > b.capacity {
		return nil, fmt.Errorf("%w (%d > %d)", ErrTooManyExamples, len(ex), b.capacity)
	}
	items := make([]*item, len(ex))
	now := time.Now()
	for i := range ex {
		items[i] = &item{ctx: ctx, ex: ex[i], enq: now, done: make(chan result, 1)}
	}
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return nil, ErrClosed
	case len(b.q)+len(items) > b.capacity:
		b.mu.Unlock()
		return nil, ErrQueueFull
	}
	b.q = append(b.q, items...)
	b.mu.Unlock()
	b.wake()
	outs := make([]*vilt.Outputs, len(ex))
	for i, it := range items {
		select {
		case r := <-it.done:
			if r.err != nil {
				return nil, r.err
			}
			outs[i] = r.out
		case <-ctx.Done():
			b.wake() // let a worker drop the cancelled examples now
			return nil, ctx.Err()
		}
	}
	return outs, nil
}

// Close stops the workers after the batch they run; examples still queued fail with
// ErrClosed. Callers should stop sending first (http.Server.Shutdown).
func (b *Batcher) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, it := range b.q {
		it.done <- result{err: ErrClosed}
	}
	b.q = nil
}

// purge answers and removes the waiting examples whose callers went away. b.mu is held.
func (b *Batcher) purge() {
	live := b.q[:0]
	for _, it := range b.q {
		if err := it.ctx.Err(); err != nil {
			it.done <- result{err: err}
			continue
		}
		live = append(live, it)
	}
	for i := len(live); i < len(b.q); i++ {
		b.q[i] = nil
	}
	b.q = live
}

// batchSize is the largest allowed batch size ≤ n: a power of two, or maxBatch.
func (b *Batcher) batchSize(n int) int {
	if n >= b.maxBatch {
		return b.maxBatch
	}
	k := 1
	for k*2 <= n {
		k *= 2
	}
	return k
}

func (b *Batcher) worker() {
	defer b.wg.Done()
	var timer *time.Timer
	for {
		b.mu.Lock()
		b.purge()
		n := len(b.q)
		var wait time.Duration
		if n > 0 && n < b.maxBatch {
			wait = time.Until(b.q[0].enq.Add(b.maxWait))
		}
		var batch []*item
		if n > 0 && wait <= 0 {
			k := b.batchSize(n)
			batch = append(batch, b.q[:k]...)
			b.q = append(b.q[:0:0], b.q[k:]...)
			if len(b.q) > 0 {
				b.wake() // another worker can take the rest
			}
		}
		b.mu.Unlock()
		if batch != nil {
			b.runBatch(batch)
			continue
		}
		var expire <-chan time.Time
		if n > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			expire = timer.C
		}
		select {
		case <-b.stop:
			return
		case <-b.notify:
		case <-expire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (b *Batcher) runBatch(batch []*item) {
	ex := make([]vilt.Example, len(batch))
	for i, it := range batch {
		ex[i] = it.ex
	}
	start := time.Now()
	outs, err := b.p.RunExamplesPadded(context.Background(), ex, TextMultiple)
	if b.observe != nil {
		b.observe(len(batch), time.Since(start), err)
	}
	if err != nil && len(batch) > 1 {
		// One bad example must not fail the others: run them one by one.
		for _, it := range batch {
			o, err := b.p.RunExamplesPadded(it.ctx, []vilt.Example{it.ex}, TextMultiple)
			if err != nil {
				it.done <- result{err: err}
			} else {
				it.done <- result{out: o[0]}
			}
		}
		return
	}
	for i, it := range batch {
		if err != nil {
			it.done <- result{err: err}
		} else {
			it.done <- result{out: outs[i]}
		}
	}
}
