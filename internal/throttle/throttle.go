// Package throttle paces bytes to a fixed rate, the way a congested link
// would: the local sandboxes' link_bytes_per_sec fault slows their SSH
// connections with it, and scn's agent on such a sandbox its own store
// traffic (the same link, as on a real machine).
package throttle

import (
	"io"
	"net"
	"sync"
	"time"
)

// Conn slows c down to bytesPerSec in each direction. Idle time earns no
// credit: a burst after a pause is paced like the rest.
func Conn(c net.Conn, bytesPerSec int64) net.Conn {
	if bytesPerSec <= 0 {
		return c
	}
	return &conn{Conn: c, in: NewPacer(bytesPerSec), out: NewPacer(bytesPerSec)}
}

type conn struct {
	net.Conn
	in, out *Pacer
}

func (t *conn) Read(p []byte) (int, error) { return read(t.Conn, t.in, p) }

func (t *conn) Write(p []byte) (int, error) { return write(t.Conn, t.out, p) }

// Reader paces reads from r with p (nil: not paced).
func Reader(r io.Reader, p *Pacer) io.Reader {
	if p == nil {
		return r
	}
	return readerFunc(func(b []byte) (int, error) { return read(r, p, b) })
}

// Writer paces writes to w with p (nil: not paced).
func Writer(w io.Writer, p *Pacer) io.Writer {
	if p == nil {
		return w
	}
	return writerFunc(func(b []byte) (int, error) { return write(w, p, b) })
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(b []byte) (int, error) { return f(b) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func read(r io.Reader, p *Pacer, b []byte) (int, error) {
	if len(b) > p.chunk {
		b = b[:p.chunk]
	}
	n, err := r.Read(b)
	p.Take(n)
	return n, err
}

func write(w io.Writer, p *Pacer, b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), p.chunk)
		p.Take(n)
		m, err := w.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// idleReset is how far behind schedule a pacer may fall and still catch up:
// enough to absorb sleep overshoot, too little to let a burst through.
const idleReset = 50 * time.Millisecond

// Pacer lets bytes through at a fixed rate; it may be shared by several
// streams, which then share the rate.
type Pacer struct {
	mu    sync.Mutex
	rate  float64 // bytes per second
	chunk int     // at most ~1/20 s worth of bytes per read or write
	next  time.Time
}

// NewPacer paces at bytesPerSec; nil when bytesPerSec <= 0 (no limit).
func NewPacer(bytesPerSec int64) *Pacer {
	if bytesPerSec <= 0 {
		return nil
	}
	return &Pacer{rate: float64(bytesPerSec), chunk: int(max(512, bytesPerSec/20))}
}

// Take blocks until n more bytes fit in the rate.
func (p *Pacer) Take(n int) {
	if p == nil || n <= 0 {
		return
	}
	p.mu.Lock()
	now := time.Now()
	if now.Sub(p.next) > idleReset {
		p.next = now // idle: no credit for the pause
	}
	p.next = p.next.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	wait := p.next.Sub(now)
	p.mu.Unlock()
	time.Sleep(wait)
}

// EnvLinkRate is the variable a local sandbox sets in its commands'
// environment when its link is throttled (link_bytes_per_sec): the agent
// paces its store traffic to it, as the machine's one link would.
const EnvLinkRate = "SCN_LINK_BYTES_PER_SEC"

// SharedConn paces c with in and out, which other connections may share:
// the machine's one link, however many connections cross it. Nil pacers
// leave that direction alone.
func SharedConn(c net.Conn, in, out *Pacer) net.Conn {
	if in == nil && out == nil {
		return c
	}
	return &sharedConn{Conn: c, in: in, out: out}
}

type sharedConn struct {
	net.Conn
	in, out *Pacer
}

func (t *sharedConn) Read(p []byte) (int, error) {
	if t.in == nil {
		return t.Conn.Read(p)
	}
	return read(t.Conn, t.in, p)
}

func (t *sharedConn) Write(p []byte) (int, error) {
	if t.out == nil {
		return t.Conn.Write(p)
	}
	return write(t.Conn, t.out, p)
}
