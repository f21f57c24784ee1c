package snapshot

import (
	"io"
	"sync"
)

// Buffered pipes decouple the stages: with io.Pipe every write waits for
// the reader, so hashing, compression and the remote tar take turns; with
// a few MiB between them they run at the same time.
const (
	pipeChunk  = 256 << 10
	pipeChunks = 16 // 4 MiB per pipe
)

// bufPipe is an io.Pipe with pipeChunks×pipeChunk bytes of buffer.
// CloseWithError on either end is seen by the other end (after the
// buffered data, for the writer's end).
type bufPipe struct {
	data chan []byte
	free chan []byte

	mu       sync.Mutex
	rerr     error // set by the reader's close: writes fail with it
	done     chan struct{}
	doneOnce sync.Once
	werr     error  // set by the writer's close: reads end with it
	cur      []byte // the chunk being read
	off      int
}

func newBufPipe() (*bufPipeReader, *bufPipeWriter) {
	p := &bufPipe{data: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks+1), done: make(chan struct{})}
	for i := 0; i < pipeChunks+1; i++ {
		p.free <- make([]byte, 0, pipeChunk)
	}
	return &bufPipeReader{p}, &bufPipeWriter{p: p}
}

type bufPipeReader struct{ p *bufPipe }

type bufPipeWriter struct {
	p      *bufPipe
	closed bool
}

func (r *bufPipeReader) Read(b []byte) (int, error) {
	p := r.p
	if p.cur == nil {
		select {
		case chunk, ok := <-p.data:
			if !ok {
				p.mu.Lock()
				defer p.mu.Unlock()
				if p.werr != nil {
					return 0, p.werr
				}
				return 0, io.EOF
			}
			p.cur, p.off = chunk, 0
		case <-p.done:
			return 0, io.ErrClosedPipe
		}
	}
	n := copy(b, p.cur[p.off:])
	p.off += n
	if p.off == len(p.cur) {
		p.free <- p.cur[:0]
		p.cur = nil
	}
	return n, nil
}

// CloseWithError makes further writes fail with err (io.ErrClosedPipe if nil).
func (r *bufPipeReader) CloseWithError(err error) {
	p := r.p
	p.mu.Lock()
	if p.rerr == nil {
		p.rerr = err
		if err == nil {
			p.rerr = io.ErrClosedPipe
		}
	}
	p.mu.Unlock()
	p.doneOnce.Do(func() { close(p.done) })
}

func (w *bufPipeWriter) Write(b []byte) (int, error) {
	p := w.p
	written := 0
	for len(b) > 0 {
		var chunk []byte
		select {
		case chunk = <-p.free:
		case <-p.done:
			return written, w.readerErr()
		}
		n := copy(chunk[:pipeChunk], b)
		select {
		case p.data <- chunk[:n]:
		case <-p.done:
			return written, w.readerErr()
		}
		written += n
		b = b[n:]
	}
	return written, nil
}

// ReadFrom reads r straight into the pipe's chunks, one read per chunk
// (io.Copy uses it: os/exec's and the SSH session's copy of a command's
// output), saving the copy through io.Copy's own 32 KiB buffer and
// handing over as much as each read gave: a 64 KiB pipe read is one
// hand-over, not two.
func (w *bufPipeWriter) ReadFrom(r io.Reader) (int64, error) {
	p := w.p
	var total int64
	for {
		var chunk []byte
		select {
		case chunk = <-p.free:
		case <-p.done:
			return total, w.readerErr()
		}
		n, err := r.Read(chunk[:pipeChunk])
		total += int64(n)
		if n > 0 {
			select {
			case p.data <- chunk[:n]:
			case <-p.done:
				return total, w.readerErr()
			}
		} else {
			p.free <- chunk
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func (w *bufPipeWriter) readerErr() error {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.rerr
}

// Close ends the stream: the reader sees EOF after the buffered data.
func (w *bufPipeWriter) Close() error { return w.CloseWithError(nil) }

// CloseWithError ends the stream: the reader sees err (EOF if nil) after
// the buffered data. Only the first close counts.
func (w *bufPipeWriter) CloseWithError(err error) error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.p.mu.Lock()
	w.p.werr = err
	w.p.mu.Unlock()
	close(w.p.data)
	return nil
}
