package main

import (
	"crypto/md5"
	"errors"
	"io"
	"os"
	"sync"

	"github.com/rclone/gofakes3"
)

// chunkSize is the unit objects are stored in.
const chunkSize = 1 << 20

// pool hands out chunks and takes them back, never giving memory back to
// the OS. On VMs whose balloon reclaims freed guest pages (this project's
// build machines), touching a fresh page costs a trip to the hypervisor:
// 50–100 MB/s, slower than the clients being measured. A server that
// allocated for each upload would make every tool pay that, and multipart
// uploads twice; with a pool warmed once at start (prefault) and objects
// stored as chunk lists (no reassembly copy), storing a byte is one copy
// into memory that is already there.
type pool struct {
	mu   sync.Mutex
	free [][]byte
}

func (p *pool) get() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		c := p.free[n-1]
		p.free = p.free[:n-1]
		return c
	}
	return make([]byte, chunkSize)
}

func (p *pool) put(b blob) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range b {
		p.free = append(p.free, s[:chunkSize])
	}
}

// prefault adds n bytes of chunks to the pool, each page written from Go
// and then by the kernel (read(2) from /dev/zero). Received bytes are
// written into the chunks by the kernel (the socket's read), and on the
// build VM this was measured on (a PVM guest: its hypervisor shadows the
// guest's page tables) that first kernel write costs one more trip to the
// hypervisor per page even after the process has touched it: with pages
// only written from Go, the first upload after start cost the server
// 2.7–3.2 CPU-s per 900 MB against ~1.5 for every later one (aws s3 cp,
// three in a row), and the bench charged it to whichever tool uploaded
// first. Only both writes, in this order, made the first upload cost what
// the others do; the kernel's alone did not (measured each way).
func (p *pool) prefault(n int64) error {
	zero, err := os.Open("/dev/zero")
	if err != nil {
		return err
	}
	defer zero.Close()
	var b blob
	for ; n > 0; n -= chunkSize {
		c := make([]byte, chunkSize)
		for i := 0; i < len(c); i += 4096 {
			c[i] = 1
		}
		if _, err := io.ReadFull(zero, c); err != nil {
			return err
		}
		b = append(b, c)
	}
	p.put(b)
	return nil
}

// blob is content as a list of pieces, each the start of its own chunk.
type blob [][]byte

func (b blob) size() int64 {
	var n int64
	for _, s := range b {
		n += int64(len(s))
	}
	return n
}

// readBlob reads r into chunks from p: exactly size bytes (io.EOF before
// that is ErrIncompleteBody; more is ignored, as gofakes3 limits the
// reader), or everything when size < 0. It also returns the MD5 the ETag
// is made of, as S3 does for every object and part.
func readBlob(p *pool, r io.Reader, size int64) (blob, []byte, error) {
	var b blob
	h := md5.New()
	for size != 0 {
		c := p.get()
		want := int64(chunkSize)
		if size > 0 {
			want = min(want, size)
		}
		n, err := io.ReadFull(r, c[:want])
		if n > 0 {
			b = append(b, c[:n])
			h.Write(c[:n])
		} else {
			p.put(blob{c})
		}
		if size > 0 {
			size -= int64(n)
		}
		switch {
		case err == nil:
		case size < 0 && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
			return b, h.Sum(nil), nil
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			p.put(b)
			return nil, nil, gofakes3.ErrIncompleteBody
		default:
			p.put(b)
			return nil, nil, err
		}
	}
	return b, h.Sum(nil), nil
}

// blobReader reads length bytes of a blob from start. It writes pieces
// straight to the response (WriterTo), with no buffer in between.
type blobReader struct {
	b     blob
	skip  int64 // bytes of b[0] still to skip
	left  int64
	close func()
	once  sync.Once
}

func newBlobReader(b blob, start, length int64, close func()) *blobReader {
	for len(b) > 0 && start >= int64(len(b[0])) {
		start -= int64(len(b[0]))
		b = b[1:]
	}
	return &blobReader{b: b, skip: start, left: length, close: close}
}

func (r *blobReader) next() []byte {
	for len(r.b) > 0 && r.left > 0 {
		s := r.b[0][r.skip:]
		if len(s) == 0 {
			r.b, r.skip = r.b[1:], 0
			continue
		}
		return s[:min(int64(len(s)), r.left)]
	}
	return nil
}

func (r *blobReader) consume(n int) {
	r.skip += int64(n)
	r.left -= int64(n)
}

func (r *blobReader) Read(p []byte) (int, error) {
	s := r.next()
	if s == nil {
		return 0, io.EOF
	}
	n := copy(p, s)
	r.consume(n)
	return n, nil
}

func (r *blobReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for s := r.next(); s != nil; s = r.next() {
		n, err := w.Write(s)
		total += int64(n)
		r.consume(n)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Close lets the object's chunks go back to the pool once it is deleted.
func (r *blobReader) Close() error {
	r.once.Do(r.close)
	return nil
}
