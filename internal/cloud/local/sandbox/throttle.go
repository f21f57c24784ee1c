package sandbox

import (
	"net"
	"sync"
	"time"
)

// Throttle slows c down to bytesPerSec in each direction, like a congested
// proxy between scn and a GPU host. Idle time earns no credit: a burst after
// a pause is paced like the rest.
func Throttle(c net.Conn, bytesPerSec int64) net.Conn {
	if bytesPerSec <= 0 {
		return c
	}
	return &throttled{Conn: c, in: newPacer(bytesPerSec), out: newPacer(bytesPerSec)}
}

type throttled struct {
	net.Conn
	in, out *pacer
}

func (t *throttled) Read(p []byte) (int, error) {
	if len(p) > t.in.chunk {
		p = p[:t.in.chunk]
	}
	n, err := t.Conn.Read(p)
	t.in.take(n)
	return n, err
}

func (t *throttled) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), t.out.chunk)
		t.out.take(n)
		m, err := t.Conn.Write(p[:n])
		written += m
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// idleReset is how far behind schedule a pacer may fall and still catch up:
// enough to absorb sleep overshoot, too little to let a burst through.
const idleReset = 50 * time.Millisecond

// pacer lets bytes through at a fixed rate.
type pacer struct {
	mu    sync.Mutex
	rate  float64 // bytes per second
	chunk int     // at most ~1/20 s worth of bytes per read or write
	next  time.Time
}

func newPacer(bytesPerSec int64) *pacer {
	return &pacer{rate: float64(bytesPerSec), chunk: int(max(512, bytesPerSec/20))}
}

// take blocks until n more bytes fit in the rate.
func (p *pacer) take(n int) {
	if n <= 0 {
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
