package gcp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"github.com/cenkalti/backoff/v5"
	compute "google.golang.org/api/compute/v1"
	"google.golang.org/api/googleapi"

	"github.com/scnlabs/scn/internal/cloud"
)

// maxTries bounds how often one API call is retried on transient failures.
const maxTries = 6

// call runs one API request, retrying what Compute Engine documents as
// transient (5xx, 429, rate-limit reasons) and requests that got no answer, with
// exponential backoff starting at PollInterval. Inserts and deletes carry a
// requestId, so retrying them cannot create or delete twice. A used-up rate
// quota is waited out a whole quota interval: retrying sooner only meets
// the same refusal.
func call[T any](ctx context.Context, p *Provider, do func() (T, error)) (T, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = p.cfg.PollInterval
	b.MaxInterval = 30 * p.cfg.PollInterval
	v, err := backoff.Retry(ctx, func() (T, error) {
		v, err := do()
		switch {
		case err == nil:
		case rateLimited(err):
			return v, &quotaWait{err: err, after: &backoff.RetryAfterError{Duration: p.quotaInterval()}}
		case !transient(err):
			return v, backoff.Permanent(err)
		}
		return v, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(maxTries), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, wait time.Duration) {
			if p.cfg.OnRetry != nil {
				p.cfg.OnRetry(err, wait)
			}
		}))
	var qw *quotaWait
	if errors.As(err, &qw) { // out of tries while rate-limited: Google's own error
		err = qw.err
	}
	return v, err
}

// quotaInterval is how long a rate-limited call waits before its next
// try. Compute Engine counts rate quotas per minute and refills them only
// at the start of the next interval: "If your project exceeds a rate
// quota, you receive a 403 error with the reason rateLimitExceeded. To
// resolve this error, wait a minute then try your request again"
// (cloud.google.com/compute/api-quota). A minute at the default 2 s poll;
// tests poll faster and wait less.
func (p *Provider) quotaInterval() time.Duration { return 30 * p.cfg.PollInterval }

// rateLimited reports a refusal for a used-up rate quota: 403
// rateLimitExceeded (or userRateLimitExceeded), or a 429.
func rateLimited(err error) bool {
	var g *googleapi.Error
	if !errors.As(err, &g) {
		return false
	}
	if g.Code == http.StatusTooManyRequests {
		return true
	}
	for _, e := range g.Errors {
		if e.Reason == "rateLimitExceeded" || e.Reason == "userRateLimitExceeded" {
			return true
		}
	}
	return false
}

// quotaWait is a rate-limit refusal telling the retry loop to wait a quota
// interval before the next try.
type quotaWait struct {
	err   error
	after *backoff.RetryAfterError
}

func (q *quotaWait) Error() string   { return q.err.Error() }
func (q *quotaWait) Unwrap() []error { return []error{q.err, q.after} }

func transient(err error) bool {
	var g *googleapi.Error
	if errors.As(err, &g) {
		switch g.Code {
		case http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		for _, e := range g.Errors {
			// resourceNotReady: the VM is still being created or changed.
			if e.Reason == "resourceNotReady" {
				return true
			}
		}
		return rateLimited(err)
	}
	var a *auth.Error // the token exchange failed: only a server error is worth retrying
	if errors.As(err, &a) {
		return a.Response != nil && a.Response.StatusCode >= 500
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	// No HTTP answer at all: refused, reset, hung up (io.EOF, "server closed
	// idle connection"...), timed out. The token exchange's own refusals
	// were sorted out above.
	var u *url.Error
	return errors.As(err, &u)
}

// waitOp waits until the operation is DONE. zoneOperations.wait returns when
// the operation is DONE or after about two minutes, so it is called in a loop
// bounded by ctx; an operation that ends with errors becomes an
// *operationError.
func (p *Provider) waitOp(ctx context.Context, op *compute.Operation) error {
	for op.Status != "DONE" {
		next, err := call(ctx, p, func() (*compute.Operation, error) {
			return p.svc.ZoneOperations.Wait(p.cfg.Project, p.cfg.Zone, op.Name).Context(ctx).Do()
		})
		if err != nil {
			return err
		}
		op = next
		if op.Status == "DONE" {
			break
		}
		select { // a wait may return at once when the server is loaded: do not spin
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.cfg.PollInterval):
		}
	}
	if op.Error != nil && len(op.Error.Errors) > 0 {
		return &operationError{op: op}
	}
	return nil
}

// operationError is an operation that finished with errors, e.g.
// QUOTA_EXCEEDED or ZONE_RESOURCE_POOL_EXHAUSTED.
type operationError struct{ op *compute.Operation }

func (e *operationError) Error() string {
	var msgs []string
	for _, x := range e.op.Error.Errors {
		msgs = append(msgs, x.Code+": "+x.Message)
	}
	s := strings.Join(msgs, "; ")
	if e.op.HttpErrorStatusCode != 0 {
		s += fmt.Sprintf(" (HTTP %d %s)", e.op.HttpErrorStatusCode, e.op.HttpErrorMessage)
	}
	return s
}

// stockout reports whether the zone has no capacity for the machine: another
// offer (zone, type, or later) may work, this one will not.
func (e *operationError) stockout() bool {
	for _, x := range e.op.Error.Errors {
		if strings.HasPrefix(x.Code, "ZONE_RESOURCE_POOL_EXHAUSTED") || x.Code == "RESOURCE_POOL_EXHAUSTED" {
			return true
		}
	}
	return false
}

// apiError wraps a failed call with what scn was doing, quoting Google's
// message and reasons (quotaExceeded, forbidden, notFound...). Google's
// answers carry no credentials, and the token exchange errors name fields,
// not keys, so the whole text is safe to print.
type apiError struct {
	what string
	err  error
}

func (e *apiError) Unwrap() error { return e.err }

func (e *apiError) Error() string {
	var g *googleapi.Error
	if !errors.As(e.err, &g) {
		return fmt.Sprintf("gcp: %s: %v", e.what, e.err)
	}
	msg := g.Message
	if msg == "" {
		msg = strings.TrimSpace(g.Body)
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
	}
	var reasons []string
	for _, it := range g.Errors {
		if it.Reason != "" {
			reasons = append(reasons, it.Reason)
		}
	}
	s := fmt.Sprintf("gcp: %s: Compute Engine answered %d: %q", e.what, g.Code, msg)
	if len(reasons) > 0 {
		s += " (reason " + strings.Join(reasons, ", ") + ")"
	}
	return s
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return &apiError{what: what, err: err}
}

// isNotFound reports a 404 from Compute Engine.
func isNotFound(err error) bool {
	var g *googleapi.Error
	return errors.As(err, &g) && g.Code == http.StatusNotFound
}

// notFound is the cloud.ErrNotFound error for VM name.
func (p *Provider) notFound(name string) error {
	return fmt.Errorf("gcp: VM %s in %s/%s: %w", name, p.cfg.Project, p.cfg.Zone, cloud.ErrNotFound)
}

// newRequestID returns a random (version 4) UUID for an insert or delete's
// requestId, which makes retrying the request safe.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
