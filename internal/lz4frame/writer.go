package lz4frame

import (
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"sync/atomic"
)

// BlockSize is the frame's block size: 1 MiB, the format's "BD" value 6.
const BlockSize = 1 << 20

const (
	magic        = 0x184D2204
	flagVersion  = 1 << 6 // FLG: version 01
	flagIndep    = 1 << 5 // blocks do not reference each other
	flagChecksum = 1 << 2 // content checksum follows the end mark
	bd1MiB       = 6 << 4
	rawBit       = 1 << 31 // block size word: stored uncompressed
)

// Writer compresses what is written to it into one LZ4 frame on w. Blocks
// are compressed concurrently and written in order; at most concurrency+1
// blocks (2 MiB each, input and output) are held at once.
type Writer struct {
	w       io.Writer
	filling *block
	free    chan *block
	ordered chan *block // blocks in stream order, to the writing goroutine
	done    chan struct{}
	err     atomic.Pointer[error] // the first error writing to w
	closed  bool
}

type block struct {
	src, dst []byte
	n        int           // compressed size, 0: stored raw
	ready    chan struct{} // closed once compressed
}

var compressors = sync.Pool{New: func() any { return new(compressor) }}

// NewWriter returns a Writer to w compressing concurrency blocks at once
// (at least 1).
func NewWriter(w io.Writer, concurrency int) *Writer {
	concurrency = max(concurrency, 1)
	z := &Writer{w: w, free: make(chan *block, concurrency+1), ordered: make(chan *block, concurrency), done: make(chan struct{})}
	for range cap(z.free) {
		z.free <- &block{}
	}
	go z.writeOut()
	return z
}

// Write implements io.Writer.
func (z *Writer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		b, err := z.block()
		if err != nil {
			return written, err
		}
		k := copy(b.src[len(b.src):BlockSize], p)
		b.src = b.src[:len(b.src)+k]
		p, written = p[k:], written+k
		if len(b.src) == BlockSize {
			z.dispatch()
		}
	}
	return written, nil
}

// ReadFrom reads r to its end straight into the frame's blocks, up to a
// block per read, saving the copy Write makes (io.Copy uses it). It
// returns r's error, or the first error writing the frame.
func (z *Writer) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		b, err := z.block()
		if err != nil {
			return total, err
		}
		n, err := r.Read(b.src[len(b.src):BlockSize])
		b.src = b.src[:len(b.src)+n]
		total += int64(n)
		if len(b.src) == BlockSize {
			z.dispatch()
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// block is the block being filled, taken from the free ones when there is
// none (waiting while all are being compressed or written).
func (z *Writer) block() (*block, error) {
	if z.closed {
		return nil, errors.New("lz4frame: write after Close")
	}
	if err := z.failed(); err != nil {
		return nil, err
	}
	if z.filling == nil {
		z.filling = <-z.free
		if z.filling.src == nil {
			z.filling.src = make([]byte, 0, BlockSize)
			z.filling.dst = make([]byte, BlockSize)
		}
		z.filling.src = z.filling.src[:0]
	}
	return z.filling, nil
}

// dispatch compresses the filling block in the background and queues it.
func (z *Writer) dispatch() {
	b := z.filling
	z.filling = nil
	b.ready = make(chan struct{})
	go func() {
		c := compressors.Get().(*compressor)
		b.n = c.compress(b.src, b.dst)
		compressors.Put(c)
		close(b.ready)
	}()
	z.ordered <- b
}

// Close writes the last block, the end mark and the content checksum. It
// does not close w.
func (z *Writer) Close() error {
	if z.closed {
		return z.failed()
	}
	z.closed = true
	if z.filling != nil && len(z.filling.src) > 0 {
		z.dispatch()
	}
	close(z.ordered)
	<-z.done
	return z.failed()
}

func (z *Writer) failed() error {
	if p := z.err.Load(); p != nil {
		return *p
	}
	return nil
}

// writeOut writes the header, each block in order as it is ready, the
// end mark and the checksum, hashing the input on the way. After an error
// it drains the queue without writing, so Write and Close never block.
func (z *Writer) writeOut() {
	defer close(z.done)
	sum := newXXH32()
	fail := func(err error) {
		z.err.CompareAndSwap(nil, &err)
	}
	hdr := []byte{0, 0, 0, 0, flagVersion | flagIndep | flagChecksum, bd1MiB, 0}
	binary.LittleEndian.PutUint32(hdr, magic)
	h := newXXH32()
	h.Write(hdr[4:6])
	hdr[6] = byte(h.Sum32() >> 8)
	if _, err := z.w.Write(hdr); err != nil {
		fail(err)
	}
	var size [4]byte
	for b := range z.ordered {
		<-b.ready
		if z.failed() == nil {
			sum.Write(b.src)
			data := b.dst[:b.n]
			word := uint32(b.n)
			if b.n == 0 {
				data, word = b.src, uint32(len(b.src))|rawBit
			}
			binary.LittleEndian.PutUint32(size[:], word)
			if _, err := z.w.Write(size[:]); err != nil {
				fail(err)
			} else if _, err := z.w.Write(data); err != nil {
				fail(err)
			}
		}
		z.free <- b
	}
	if z.failed() != nil {
		return
	}
	var tail [8]byte // end mark, content checksum
	binary.LittleEndian.PutUint32(tail[4:], sum.Sum32())
	if _, err := z.w.Write(tail[:]); err != nil {
		fail(err)
	}
}
