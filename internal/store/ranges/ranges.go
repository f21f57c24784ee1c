// Package ranges reads an object of known size as consecutive byte ranges
// fetched in parallel and handed back in order. The S3 store reads with it
// through the SDK and scn's agent through presigned URLs, so both keep the
// pipe full with the same bounded memory; it links no cloud SDK.
package ranges

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Fetch fills buf with the object's bytes [start, start+len(buf)), retrying
// as the transport allows; it returns an error only when it gave up.
type Fetch func(ctx context.Context, start int64, buf []byte) error

// Reader is the object's byte stream: a producer hands out ranges, each
// fetched by its own goroutine into a buffer, and Read returns them in
// order. At most concurrency+1 buffers of rangeSize exist, so memory is
// bounded and downloads run ahead of a slow reader by at most that much.
type Reader struct {
	ctx         context.Context
	cancel      context.CancelCauseFunc
	fetch       Fetch
	what        string
	size        int64
	rsize       int64
	concurrency int

	parts chan *part // dispatched ranges, in object order
	free  chan []byte
	wg    sync.WaitGroup

	cur    *part
	off    int
	read   int64
	err    error
	closed atomic.Bool
}

type part struct {
	start int64
	buf   []byte
	done  chan struct{} // closed once buf is filled or err set
	err   error
}

// NewReader starts reading size bytes of what (named in errors) in ranges
// of rangeSize, concurrency at a time. Close it to stop.
func NewReader(ctx context.Context, what string, size, rangeSize int64, concurrency int, fetch Fetch) *Reader {
	ctx, cancel := context.WithCancelCause(ctx)
	concurrency = max(concurrency, 1)
	r := &Reader{
		ctx: ctx, cancel: cancel, fetch: fetch, what: what, size: size, rsize: max(rangeSize, 1), concurrency: concurrency,
		parts: make(chan *part, concurrency),
		free:  make(chan []byte, concurrency+1),
	}
	r.wg.Add(1)
	go r.dispatch()
	return r
}

func (r *Reader) dispatch() {
	defer r.wg.Done()
	defer close(r.parts)
	allocated := 0
	for start := int64(0); start < r.size; start += r.rsize {
		n := min(r.rsize, r.size-start)
		var buf []byte
		select {
		case buf = <-r.free:
		default:
			if allocated <= r.concurrency {
				buf = make([]byte, min(r.rsize, r.size))
				allocated++
				break
			}
			select {
			case buf = <-r.free:
			case <-r.ctx.Done():
				return
			}
		}
		p := &part{start: start, buf: buf[:n], done: make(chan struct{})}
		select {
		case r.parts <- p:
		case <-r.ctx.Done():
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			p.err = r.fetch(r.ctx, p.start, p.buf)
			close(p.done)
		}()
	}
}

// Read implements io.Reader.
func (r *Reader) Read(b []byte) (int, error) {
	if r.closed.Load() {
		return 0, fmt.Errorf("reading %s: read after close", r.what)
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.cur == nil {
		p, ok := <-r.parts
		if !ok {
			r.err = io.EOF
			if r.read != r.size {
				r.err = fmt.Errorf("reading %s: stopped after %d of %d bytes: %w", r.what, r.read, r.size, context.Cause(r.ctx))
			}
			return 0, r.err
		}
		<-p.done
		if p.err != nil {
			r.err = p.err
			r.cancel(p.err)
			return 0, r.err
		}
		r.cur, r.off = p, 0
	}
	n := copy(b, r.cur.buf[r.off:])
	r.off += n
	r.read += int64(n)
	if r.off == len(r.cur.buf) {
		r.free <- r.cur.buf[:cap(r.cur.buf)]
		r.cur = nil
	}
	return n, nil
}

// Close stops any download in flight and waits for its goroutines. A Read
// after (or during) Close fails: the dispatcher stops handing out ranges.
func (r *Reader) Close() error {
	r.closed.Store(true)
	r.cancel(fmt.Errorf("reading %s: closed", r.what))
	r.wg.Wait()
	return nil
}
