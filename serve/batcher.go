package serve

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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

// Batcher groups examples from concurrent callers into forwards of up to MaxBatch examples,
// waiting at most MaxWait after the oldest waiting example for others to arrive. Each
// forward goes through the pipeline's model, which splits it across its devices. Batched
// examples are padded to the batch's longest text and largest image (as ViltProcessor pads
// a batch), so outputs equal the unbatched ones to float rounding (~1e-6), not bitwise.
type Batcher struct {
	p        *vilt.Pipeline
	maxBatch int
	maxWait  time.Duration
	queue    chan *item
	reserved atomic.Int64 // examples queued, not yet taken by a worker
	stop     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool

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
	b := &Batcher{p: p, maxBatch: max(1, maxBatch), maxWait: max(0, maxWait), queue: make(chan *item, max(1, queue)), stop: make(chan struct{})}
	for range max(1, workers) {
		b.wg.Add(1)
		go b.worker()
	}
	return b
}

// Depth is the number of examples waiting for a worker.
func (b *Batcher) Depth() int { return int(b.reserved.Load()) }

// Capacity is the queue bound.
func (b *Batcher) Capacity() int { return cap(b.queue) }

// Run queues the examples and waits for their outputs; it is a vilt.RunFunc. When ctx ends
// first, examples not yet started are dropped and Run returns ctx's error.
func (b *Batcher) Run(ctx context.Context, ex []vilt.Example) ([]*vilt.Outputs, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	k := int64(len(ex))
	if k > int64(cap(b.queue)) {
		return nil, fmt.Errorf("%w (%d > %d)", ErrTooManyExamples, k, cap(b.queue))
	}
	if n := b.reserved.Add(k); n > int64(cap(b.queue)) {
		b.reserved.Add(-k)
		return nil, ErrQueueFull
	}
	items := make([]*item, len(ex))
	now := time.Now()
	for i := range ex {
		items[i] = &item{ctx: ctx, ex: ex[i], enq: now, done: make(chan result, 1)}
		b.queue <- items[i] // never blocks: the reservation guarantees room
	}
	outs := make([]*vilt.Outputs, len(ex))
	for i, it := range items {
		select {
		case r := <-it.done:
			if r.err != nil {
				return nil, r.err
			}
			outs[i] = r.out
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return outs, nil
}

// Close stops the workers after the batch they run; examples still queued fail with
// ErrClosed. Callers should stop sending first (http.Server.Shutdown).
func (b *Batcher) Close() {
	if b.closed.Swap(true) {
		return
	}
	close(b.stop)
	b.wg.Wait()
	for {
		select {
		case it := <-b.queue:
			b.reserved.Add(-1)
			it.done <- result{err: ErrClosed}
		default:
			return
		}
	}
}

// live accounts for an item taken off the queue and reports whether its caller still
// wants it (a cancelled one is answered with its context's error).
func (b *Batcher) live(it *item) bool {
	b.reserved.Add(-1)
	if err := it.ctx.Err(); err != nil {
		it.done <- result{err: err}
		return false
	}
	return true
}

func (b *Batcher) worker() {
	defer b.wg.Done()
	for {
		var first *item
		select {
		case <-b.stop:
			return
		case first = <-b.queue:
		}
		if !b.live(first) {
			continue
		}
		batch := []*item{first}
		wait := time.Until(first.enq.Add(b.maxWait))
		var timer <-chan time.Time
		var t *time.Timer
		if wait > 0 {
			t = time.NewTimer(wait)
			timer = t.C
		}
	collect:
		for len(batch) < b.maxBatch {
			if timer == nil { // the oldest example has waited enough: take only what is there
				select {
				case it := <-b.queue:
					if b.live(it) {
						batch = append(batch, it)
					}
					continue
				default:
					break collect
				}
			}
			select {
			case it := <-b.queue:
				if b.live(it) {
					batch = append(batch, it)
				}
			case <-timer:
				timer = nil
			case <-b.stop:
				break collect
			}
		}
		if t != nil {
			t.Stop()
		}
		b.runBatch(batch)
	}
}

func (b *Batcher) runBatch(batch []*item) {
	ex := make([]vilt.Example, len(batch))
	for i, it := range batch {
		ex[i] = it.ex
	}
	start := time.Now()
	outs, err := b.p.RunExamples(context.Background(), ex)
	if b.observe != nil {
		b.observe(len(batch), time.Since(start), err)
	}
	if err != nil && len(batch) > 1 {
		// One bad example must not fail the others: run them one by one.
		for _, it := range batch {
			o, err := b.p.RunExamples(it.ctx, []vilt.Example{it.ex})
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
