package s3store

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxRangeSize caps a Get's ranges: 4 ranges of 8 MiB in flight already
// keep a 100 ms, 300 MB/s link full, and halve Get's memory next to
// 16 MiB upload parts.
const maxRangeSize = 8 << 20

// rangeReader is the body of an S3 Get: a producer hands out byte ranges of
// rsize, each fetched by its own goroutine into a buffer, and Read
// returns them in order. At most concurrency+1 buffers exist, so memory is
// bounded and downloads run ahead of a slow reader by at most that much.
//
// (The transfer manager's own GetObject reader busy-waits between parts and
// only fetches while Read is running, so downloading would not overlap with
// decompression and extraction; this reader keeps the pipe full.)
type rangeReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	s      *Store
	key    string
	size   int64
	etag   string
	rsize  int64 // bytes per range

	parts chan *rangePart // dispatched ranges, in object order
	free  chan []byte     // buffers handed back by Read
	wg    sync.WaitGroup

	cur    *rangePart
	off    int
	read   int64
	err    error
	closed atomic.Bool
}

type rangePart struct {
	start int64
	buf   []byte
	done  chan struct{} // closed once buf is filled or err set
	err   error
}

func newRangeReader(ctx context.Context, s *Store, key string, size int64, etag string) *rangeReader {
	ctx, cancel := context.WithCancel(ctx)
	r := &rangeReader{
		ctx: ctx, cancel: cancel, s: s, key: key, size: size, etag: etag, rsize: min(s.partSize, maxRangeSize),
		parts: make(chan *rangePart, s.concurrency),
		free:  make(chan []byte, s.concurrency+1),
	}
	r.wg.Add(1)
	go r.dispatch()
	return r
}

func (r *rangeReader) dispatch() {
	defer r.wg.Done()
	defer close(r.parts)
	allocated := 0
	for start := int64(0); start < r.size; start += r.rsize {
		n := min(r.rsize, r.size-start)
		var buf []byte
		select {
		case buf = <-r.free:
		default:
			if allocated <= r.s.concurrency {
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
		p := &rangePart{start: start, buf: buf[:n], done: make(chan struct{})}
		select {
		case r.parts <- p:
		case <-r.ctx.Done():
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			p.err = r.fetch(p)
			close(p.done)
		}()
	}
}

// fetch fills p.buf. The SDK retries failed requests; a body that breaks
// off mid-way is fetched again here, up to the same number of attempts.
func (r *rangeReader) fetch(p *rangePart) error {
	end := p.start + int64(len(p.buf)) - 1
	for attempt := 1; ; attempt++ {
		out, err := r.s.client.GetObject(r.ctx, &s3.GetObjectInput{
			Bucket: aws.String(r.s.bucket),
			Key:    aws.String(r.s.fullKey(r.key)),
			Range:  aws.String(fmt.Sprintf("bytes=%d-%d", p.start, end)),
		})
		if err != nil {
			return r.s.fail("get", r.key, err)
		}
		if got := aws.ToString(out.ETag); r.etag != "" && got != "" && got != r.etag {
			out.Body.Close()
			return fmt.Errorf("s3 get %q in %s: the object changed while being read (ETag %s, was %s)", r.key, r.s, got, r.etag)
		}
		if got := aws.ToInt64(out.ContentLength); got != int64(len(p.buf)) {
			out.Body.Close()
			return fmt.Errorf("s3 get %q in %s: asked for bytes %d-%d, server sent %d bytes", r.key, r.s, p.start, end, got)
		}
		_, err = io.ReadFull(out.Body, p.buf)
		out.Body.Close()
		if err == nil {
			return nil
		}
		if r.ctx.Err() != nil {
			return r.ctx.Err()
		}
		if attempt >= r.s.maxAttempts {
			return fmt.Errorf("s3 get %q in %s: bytes %d-%d: %w (after %d attempts)", r.key, r.s, p.start, end, err, attempt)
		}
		delay := min(r.s.maxBackoff, 100*time.Millisecond<<attempt)
		select {
		case <-time.After(delay):
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
}

// Read implements io.Reader.
func (r *rangeReader) Read(b []byte) (int, error) {
	if r.closed.Load() {
		return 0, fmt.Errorf("s3 get %q in %s: read after close", r.key, r.s)
	}
	if r.err != nil {
		return 0, r.err
	}
	if r.cur == nil {
		p, ok := <-r.parts
		if !ok {
			r.err = io.EOF
			if r.read != r.size {
				r.err = fmt.Errorf("s3 get %q in %s: stopped after %d of %d bytes: %w", r.key, r.s, r.read, r.size, context.Cause(r.ctx))
			}
			return 0, r.err
		}
		<-p.done
		if p.err != nil {
			r.err = p.err
			r.cancel()
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
// after (or during) Close fails: the dispatcher stops handing out parts.
func (r *rangeReader) Close() error {
	r.closed.Store(true)
	r.cancel()
	r.wg.Wait()
	return nil
}
