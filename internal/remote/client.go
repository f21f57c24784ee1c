package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Client is an SSH connection to one machine that runs commands (it is an
// Execer). Many commands may run at once, each in its own session on the
// same connection. When the connection dies (keepalive silence, proxy
// restart) the next Exec dials again; a command that had already started is
// never re-run, its Exec fails instead.
type Client struct {
	ep   Endpoint
	opts Options

	mu      sync.Mutex
	cur     *conn
	dialing chan struct{} // closed when the dial in progress ends
	closed  bool
}

var _ Execer = (*Client)(nil)

// Dial connects to ep and returns a Client, retrying as o.RetryFor allows.
func Dial(ctx context.Context, ep Endpoint, o Options) (*Client, error) {
	c := newClient(ep, o)
	if _, err := c.connection(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func newClient(ep Endpoint, o Options) *Client {
	return &Client{ep: ep, opts: o.withDefaults()}
}

// Endpoint is where the client connects.
func (c *Client) Endpoint() Endpoint { return c.ep }

// Close closes the connection; commands still running fail.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.cur != nil {
		c.cur.kill(errors.New("client closed"))
		c.cur = nil
	}
	return nil
}

// connection returns the live connection, dialing when there is none. One
// dial at a time: concurrent callers wait for it instead of opening more.
func (c *Client) connection(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, fmt.Errorf("ssh %s: client closed", c.ep)
		}
		if c.cur != nil && !c.cur.dead() {
			cur := c.cur
			c.mu.Unlock()
			return cur, nil
		}
		if wait := c.dialing; wait != nil {
			c.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("ssh %s: %w", c.ep, context.Cause(ctx))
			}
		}
		wait := make(chan struct{})
		c.dialing = wait
		c.mu.Unlock()

		cn, err := dial(ctx, c.ep, c.opts)

		c.mu.Lock()
		c.dialing = nil
		close(wait)
		if err == nil && c.closed {
			cn.kill(errors.New("client closed"))
			err = fmt.Errorf("ssh %s: client closed", c.ep)
		}
		if err == nil {
			c.cur = cn
		}
		c.mu.Unlock()
		return cn, err
	}
}

// started is a session whose command is running.
type started struct {
	sess  *ssh.Session
	stdin io.WriteCloser
	conn  *conn
}

// start opens a session and starts cmd in it. If opening the session fails
// because the connection just died, nothing has run yet, so it redials once.
func (c *Client) start(ctx context.Context, cmd string, stdout, stderr io.Writer) (*started, error) {
	for try := 0; ; try++ {
		cn, err := c.connection(ctx)
		if err != nil {
			return nil, err
		}
		type result struct {
			s       *started
			err     error
			channel bool // the session could not be opened
		}
		done := make(chan result, 1)
		go func() {
			sess, err := cn.NewSession()
			if err != nil {
				done <- result{err: err, channel: true}
				return
			}
			sess.Stdout, sess.Stderr = stdout, stderr
			in, err := sess.StdinPipe()
			if err == nil {
				err = sess.Start(cmd)
			}
			if err != nil {
				sess.Close()
				done <- result{err: err}
				return
			}
			done <- result{s: &started{sess: sess, stdin: in, conn: cn}}
		}()
		select {
		case <-ctx.Done():
			// The server may still answer; whatever it opened is closed then.
			go func() {
				if r := <-done; r.s != nil {
					r.s.sess.Close()
				}
			}()
			return nil, fmt.Errorf("ssh %s: start %q: %w", c.ep, short(cmd), context.Cause(ctx))
		case r := <-done:
			var refused *ssh.OpenChannelError
			if r.err != nil && r.channel && !errors.As(r.err, &refused) && try == 0 {
				cn.kill(fmt.Errorf("opening a session failed: %w", r.err))
				continue
			}
			if r.err != nil {
				return nil, fmt.Errorf("ssh %s: start %q: %w", c.ep, short(cmd), r.err)
			}
			return r.s, nil
		}
	}
}

// sessionCloseGrace is how long a cancelled Exec waits for the server to
// acknowledge the session's end before returning anyway.
const sessionCloseGrace = 2 * time.Second

// Exec implements Execer. stdin is streamed to the command and closed when
// the reader ends, so the command sees EOF; if reading stdin fails, the
// command is cut off instead (a clean EOF would make a truncated stream
// look whole). Cancelling ctx closes the session — SSH signals are not used,
// proxies drop them — and Exec returns at once with the context's error.
// Exec returns only when no write to stdout or stderr is in progress, and
// none happens afterwards. A stdin reader blocked in Read when the command
// ends is left to return on its own (close it to release it), as os/exec does.
func (c *Client) Exec(parent context.Context, cmd string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	outs := [2]*gate{{w: stdout, what: "stdout", fail: cancel}, {w: stderr, what: "stderr", fail: cancel}}
	defer outs[0].detach()
	defer outs[1].detach()

	s, err := c.start(ctx, cmd, outs[0], outs[1])
	if err != nil {
		return -1, err
	}
	defer s.sess.Close()
	go feed(s.stdin, stdin, cancel)

	done := make(chan error, 1)
	go func() { done <- s.sess.Wait() }()
	var werr error
	select {
	case werr = <-done:
	case <-ctx.Done():
		s.sess.Close()
		select {
		case <-done:
		case <-time.After(sessionCloseGrace):
		}
		return -1, fmt.Errorf("ssh %s: %q cut off: %w", c.ep, short(cmd), context.Cause(ctx))
	}
	if cause := context.Cause(ctx); cause != nil && parent.Err() == nil {
		// A stream failed although the command finished: its output is incomplete.
		return -1, fmt.Errorf("ssh %s: %q: %w", c.ep, short(cmd), cause)
	}
	var exit *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case werr == nil:
		return 0, nil
	case errors.As(werr, &exit):
		return exit.ExitStatus(), nil
	case s.conn.lost():
		return -1, fmt.Errorf("ssh %s: connection lost while running %q: %v", c.ep, short(cmd), s.conn.reason())
	case errors.As(werr, &missing):
		return -1, fmt.Errorf("ssh %s: %q ended without an exit status (session closed by the server)", c.ep, short(cmd))
	}
	return -1, fmt.Errorf("ssh %s: %q: %w", c.ep, short(cmd), werr)
}

// feed copies stdin to the session and closes it. A failed read cancels the
// command rather than letting the far side see EOF; a failed write only
// means the command ended without reading everything, which its exit
// status tells.
func feed(dst io.WriteCloser, src io.Reader, cancel context.CancelCauseFunc) {
	if src != nil {
		r := &readErr{r: src}
		if _, err := io.Copy(dst, r); err != nil && r.err != nil {
			cancel(fmt.Errorf("read stdin for the remote command: %w", r.err))
			return
		}
	}
	dst.Close()
}

type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// errDetached stops the SSH library's copy loop once Exec has returned.
var errDetached = errors.New("remote command output no longer wanted")

// gate passes a session's output to the caller's writer until detached. A
// failing writer cancels the command: nobody would read the rest, and the
// server would block on a full window forever.
type gate struct {
	mu   sync.Mutex
	w    io.Writer // nil discards
	what string
	fail context.CancelCauseFunc
	off  bool
}

func (g *gate) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off {
		return 0, errDetached
	}
	if g.w == nil {
		return len(p), nil
	}
	n, err := g.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		g.off = true
		g.fail(fmt.Errorf("write %s of the remote command: %w", g.what, err))
	}
	return n, err
}

func (g *gate) detach() {
	g.mu.Lock()
	g.off = true
	g.mu.Unlock()
}
