package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/crypto/ssh"
)

// Endpoint is where an SSH server listens and who to log in as.
type Endpoint struct {
	Host string
	Port int
	User string
}

// Addr is host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

func (e Endpoint) String() string { return e.User + "@" + e.Addr() }

// Options tunes connections. Zero values get the defaults documented on
// each field.
type Options struct {
	// Signer authenticates scn (the project key). Required.
	Signer ssh.Signer
	// Pins checks host keys; nil gives the client a pin set of its own.
	Pins *Pins
	// HostKey is the server's key in authorized_keys format when the
	// provider published it; empty means pin on first contact.
	HostKey string
	// ConnectTimeout bounds one attempt: TCP connect plus SSH handshake.
	// Default 15s.
	ConnectTimeout time.Duration
	// RetryFor keeps retrying refused, reset and cut-off connections for
	// this long, the way a host that is still booting behaves. 0 = one
	// attempt.
	RetryFor time.Duration
	// RetryDelay is the first pause between attempts; later pauses grow
	// (with jitter) up to ten times it. Default 1s.
	RetryDelay time.Duration
	// Keepalive is the interval between keepalive@openssh.com requests. A
	// connection that receives nothing — no reply, no data — for three
	// intervals is declared dead and closed. Default 15s; negative
	// disables keepalives.
	Keepalive time.Duration
	// Recheck, when set, is called once after a dial's first failed
	// attempt and before any retry: it asks the provider whether the
	// machine is still there. An error ends the dial at once with it, so
	// a step on a machine that is gone fails within seconds instead of
	// retrying for RetryFor; nil lets the retries go on.
	Recheck func(ctx context.Context) error
	// OnRetry, when set, is told about each failed attempt that will be
	// retried, so the console can show "SSH not up yet (attempt 3)".
	OnRetry func(attempt int, err error)
}

func (o Options) withDefaults() Options {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.Keepalive == 0 {
		o.Keepalive = 15 * time.Second
	}
	if o.Pins == nil {
		o.Pins = NewPins()
	}
	return o
}

// missedKeepalives is how many silent keepalive intervals kill a connection
// (OpenSSH's ServerAliveCountMax default).
const missedKeepalives = 3

// errAttemptTimeout marks an attempt cut off by ConnectTimeout: a booting
// host may drop packets, so it is worth another try.
var errAttemptTimeout = errors.New("no SSH handshake within the connect timeout")

// dial connects to ep, retrying transient failures for o.RetryFor.
func dial(ctx context.Context, ep Endpoint, o Options) (*conn, error) {
	if o.Signer == nil {
		return nil, fmt.Errorf("ssh %s: no key to authenticate with", ep)
	}
	b := &backoff.ExponentialBackOff{
		InitialInterval:     o.RetryDelay,
		RandomizationFactor: 0.5,
		Multiplier:          1.6,
		MaxInterval:         10 * o.RetryDelay,
	}
	attempts := 0
	var last error
	op := func() (*conn, error) {
		attempts++
		c, err := dialOnce(ctx, ep, o)
		if err != nil && !retryable(err) {
			return nil, backoff.Permanent(err)
		}
		if err != nil && attempts == 1 && o.RetryFor > 0 && o.Recheck != nil {
			if rerr := o.Recheck(ctx); rerr != nil {
				return nil, backoff.Permanent(fmt.Errorf("%w (SSH: %w)", rerr, err))
			}
		}
		last = err
		return c, err
	}
	opts := []backoff.RetryOption{backoff.WithBackOff(b), backoff.WithMaxTries(1)}
	if o.RetryFor > 0 {
		opts = []backoff.RetryOption{backoff.WithBackOff(b), backoff.WithMaxElapsedTime(o.RetryFor),
			backoff.WithNotify(func(err error, _ time.Duration) {
				if o.OnRetry != nil {
					o.OnRetry(attempts, err)
				}
			})}
	}
	start := time.Now()
	c, err := backoff.Retry(ctx, op, opts...)
	switch {
	case err == nil:
		return c, nil
	case ctx.Err() != nil && last != nil:
		return nil, fmt.Errorf("ssh %s: %w (after %d attempts, last: %v)", ep, err, attempts, last)
	case attempts > 1:
		return nil, fmt.Errorf("ssh %s: still failing after %d attempts over %s: %w",
			ep, attempts, time.Since(start).Round(time.Millisecond), err)
	}
	return nil, fmt.Errorf("ssh %s: %w", ep, err)
}

// retryable reports whether a failed attempt looks like a host that is not
// up yet (or a proxy that lost its backend) rather than a refusal that will
// not change: bad key, changed host key, unknown host.
func retryable(err error) bool {
	var changed *HostKeyChangedError
	if errors.As(err, &changed) {
		return false
	}
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EHOSTUNREACH, syscall.ENETUNREACH, syscall.EPIPE,
		io.EOF, io.ErrUnexpectedEOF, errAttemptTimeout} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// dialOnce makes one attempt, bounded by o.ConnectTimeout.
func dialOnce(ctx context.Context, ep Endpoint, o Options) (*conn, error) {
	addr := ep.Addr()
	check, err := o.Pins.Callback(addr, o.HostKey)
	if err != nil {
		return nil, err
	}
	cfg := &ssh.ClientConfig{
		User:              ep.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(o.Signer)},
		HostKeyCallback:   check,
		HostKeyAlgorithms: hostKeyAlgorithms(o.HostKey, o.Pins.pinned(addr)),
	}
	actx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(actx, "tcp", addr)
	if err != nil {
		return nil, attemptErr(ctx, actx, err)
	}
	// The handshake takes no context: closing the socket is how to abort it.
	stop := context.AfterFunc(actx, func() { nc.Close() })
	cc := &conn{done: make(chan struct{})}
	sc, chans, reqs, err := ssh.NewClientConn(&readClock{Conn: nc, last: &cc.lastRead}, addr, cfg)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, attemptErr(ctx, actx, err)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	cc.Client = ssh.NewClient(sc, chans, reqs)
	cc.lastRead.Store(time.Now().UnixNano())
	go func() {
		err := cc.Client.Wait()
		cc.setReason(fmt.Errorf("connection closed: %v", err))
		close(cc.done)
	}()
	if o.Keepalive > 0 {
		go cc.keepalive(o.Keepalive)
	}
	return cc, nil
}

// attemptErr says why an attempt was cut off: the caller's context, or the
// per-attempt timeout (retryable).
func attemptErr(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if actx.Err() != nil {
		return fmt.Errorf("%w: %v", errAttemptTimeout, err)
	}
	return err
}

// hostKeyAlgorithms asks the server for the kind of host key scn expects, so
// a server holding several host keys shows the one that was published or
// pinned instead of failing the comparison with another.
func hostKeyAlgorithms(expected string, pinned ssh.PublicKey) []string {
	k := pinned
	if expected != "" {
		if pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(expected)); err == nil {
			k = pk
		}
	}
	if k == nil {
		return nil
	}
	if k.Type() == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{k.Type()}
}

// conn is one SSH connection and what watches it.
type conn struct {
	*ssh.Client
	lastRead  atomic.Int64  // unix nanoseconds of the last byte received
	done      chan struct{} // closed once the connection is gone
	mu        sync.Mutex
	whyClosed error
}

// dead reports whether the connection is gone or going: killed (the reason
// is recorded before closing) or closed under us.
func (c *conn) dead() bool {
	if c.reason() != nil {
		return true
	}
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// lostWait is how long a session that ended without an exit status waits to
// learn whether the whole connection went down with it.
const lostWait = 250 * time.Millisecond

// lost reports whether the connection has ended (or is ending: a session
// can see its end a moment before the connection's watcher does).
func (c *conn) lost() bool {
	if c.reason() != nil {
		return true
	}
	select {
	case <-c.done:
		return true
	case <-time.After(lostWait):
		return false
	}
}

// setReason records why the connection ended; the first reason wins.
func (c *conn) setReason(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.whyClosed == nil {
		c.whyClosed = err
	}
}

func (c *conn) reason() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.whyClosed
}

// kill closes the connection for the given reason.
func (c *conn) kill(err error) {
	c.setReason(err)
	c.Client.Close()
}

// keepalive sends keepalive@openssh.com requests every interval and kills
// the connection when nothing at all has arrived for missedKeepalives
// intervals. Any byte received counts as a sign of life: on a slow proxy a
// reply can queue behind megabytes of stream data, and a transfer that is
// still moving must not be cut off.
func (c *conn) keepalive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	replies := make(chan error, 1)
	pending, missed := false, 0
	seen := c.lastRead.Load()
	for {
		select {
		case <-c.done:
			return
		case err := <-replies:
			pending = false
			if err != nil {
				return // the connection is closing; Wait reports why
			}
			missed = 0
		case <-t.C:
			if now := c.lastRead.Load(); now != seen {
				seen, missed = now, 0
			} else if pending {
				missed++
			}
			if missed >= missedKeepalives {
				c.kill(fmt.Errorf("server silent for %s (%d keepalives unanswered); connection declared dead",
					time.Duration(missedKeepalives)*interval, missedKeepalives))
				return
			}
			if !pending {
				pending = true
				go func() {
					_, _, err := c.SendRequest("keepalive@openssh.com", true, nil)
					replies <- err
				}()
			}
		}
	}
}

// readClock records when bytes last arrived on a connection.
type readClock struct {
	net.Conn
	last *atomic.Int64
}

func (r *readClock) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	if n > 0 {
		r.last.Store(time.Now().UnixNano())
	}
	return n, err
}
