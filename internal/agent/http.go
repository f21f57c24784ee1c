package agent

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scnlabs/scn/internal/agent/wire"
)

// do sends a presigned request with its signed headers plus extra. Errors
// never carry the URL's query: its signature is a credential until it
// expires, and errors end up in scn's journal. The bodies it sends and
// the response bodies read count on the session's network totals (every
// try: each crossed the machine's link).
func (a *agent) do(ctx context.Context, r *wire.Request, body []byte, extra http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("a presigned request from scn is malformed: %v", redact(err))
	}
	switch {
	case body != nil && len(body) == 0:
		// An empty part (an empty stream's only one) is sent with
		// Content-Length: 0; an empty Body of another type would go
		// chunked, which S3 and B2 refuse on a presigned PUT.
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	case body != nil:
		req.GetBody = func() (io.ReadCloser, error) {
			return io.NopCloser(&netCounter{r: bytes.NewReader(body), n: &a.s.netSent}), nil
		}
		req.Body, _ = req.GetBody()
		req.ContentLength = int64(len(body))
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return nil, redact(err)
	}
	resp.Body = &netCounter{r: resp.Body, n: &a.s.netReceived, c: resp.Body}
	return resp, nil
}

// netCounter counts the bytes read through it into n: what net/http took
// of a request's body to send, or read of a response's.
type netCounter struct {
	r io.Reader
	n *atomic.Int64
	c io.Closer // a response body's
}

func (c *netCounter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

func (c *netCounter) Close() error { return c.c.Close() }

// redact drops the query (the signature) from URLs in err.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, perr := url.Parse(ue.URL)
		if perr == nil {
			u.RawQuery = ""
			return fmt.Errorf("%s %s: %w", ue.Op, u.Redacted(), ue.Err)
		}
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// s3Error is what S3 and B2 say in an error response.
func s3Error(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Code    string
		Message string
	}
	if xml.Unmarshal(b, &e) == nil && e.Code != "" {
		return fmt.Sprintf("%s (%s: %s)", resp.Status, e.Code, e.Message)
	}
	return resp.Status
}

// urlHolder keeps the URL for part n (0: the GET) and mints a new one with
// scn when it expires or is refused. Several ranges share the GET URL: the
// first to find it stale asks, the others wait for that answer.
type urlHolder struct {
	a *agent
	n int

	mu       sync.Mutex
	req      *wire.Request
	deadline time.Time // by this machine's clock, with a margin
	version  int       // bumped on every new URL
	pending  <-chan wire.Msg
}

// prefetch asks for the URL before it is needed (a part asks while it is
// still being filled, so the round trip to scn costs no time).
func (u *urlHolder) prefetch() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.req != nil || u.pending != nil {
		return nil
	}
	ch, err := u.a.s.need(u.n, false)
	u.pending = ch
	return err
}

// get returns a URL younger than its expiry, and its version; stale is
// the version the caller found refused (-1: none), which forces a new one.
func (u *urlHolder) get(ctx context.Context, stale int) (*wire.Request, int, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for {
		if u.req != nil && u.version != stale && time.Now().Before(u.deadline) {
			return u.req, u.version, nil
		}
		if u.pending == nil {
			ch, err := u.a.s.need(u.n, u.req != nil)
			if err != nil {
				return nil, 0, err
			}
			u.pending = ch
		}
		var m wire.Msg
		var ok bool
		select {
		case m, ok = <-u.pending:
		case <-ctx.Done():
			return nil, 0, context.Cause(ctx)
		}
		u.pending = nil
		if !ok {
			return nil, 0, errSCNGone
		}
		if m.Error != "" || m.Request == nil {
			return nil, 0, fmt.Errorf("scn could not presign the request: %s", m.Error)
		}
		valid := time.Duration(m.Request.ValidFor * float64(time.Second))
		u.req, u.version, u.deadline = m.Request, u.version+1, time.Now().Add(valid-min(valid/10, 30*time.Second))
	}
}

// retryable says whether a failed attempt may be tried again, and whether
// the URL must be renewed first.
type attemptErr struct {
	err   error
	renew bool // 403: expired (or otherwise refused) URL
	final bool // a 4xx that another try will not fix
}

func (e *attemptErr) Error() string { return e.err.Error() }

// classify turns a response into nil (ok) or an attemptErr.
func classify(resp *http.Response, ok ...int) error {
	for _, code := range ok {
		if resp.StatusCode == code {
			return nil
		}
	}
	msg := s3Error(resp)
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return &attemptErr{err: fmt.Errorf("the store refused the URL: %s", msg), renew: true}
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return &attemptErr{err: fmt.Errorf("the store answered %s", msg)}
	}
	return &attemptErr{err: fmt.Errorf("the store answered %s", msg), final: true}
}

// retry runs attempt until it succeeds, fails finally, or a.acc.Attempts
// are spent, renewing the URL after a 403 and backing off after other
// failures. what names the request in the error.
func (a *agent) retry(ctx context.Context, what string, u *urlHolder, attempt func(*wire.Request) error) error {
	stale := -1
	var last error
	for n := 1; ; n++ {
		req, version, err := u.get(ctx, stale)
		if err != nil {
			last = err // scn could not mint it: a failed attempt too
		} else if err = attempt(req); err == nil {
			return nil
		} else {
			last = err
			var ae *attemptErr
			if errors.As(err, &ae) {
				if ae.final {
					return fmt.Errorf("%s: %w", what, err)
				}
				if ae.renew {
					stale = version
				}
			}
		}
		if cause := context.Cause(ctx); cause != nil {
			return cause
		}
		if n >= a.acc.Attempts {
			return fmt.Errorf("%s: %w (after %d attempts)", what, last, n)
		}
		select {
		case <-time.After(min(5*time.Second, 100*time.Millisecond<<n)):
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}
