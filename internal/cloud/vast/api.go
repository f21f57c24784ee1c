package vast

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/cenkalti/backoff/v5"
)

// APIError is an answer from the VAST API that is not a success. It quotes
// the API's own words (its "error" code and "msg"), never the request's key.
type APIError struct {
	Method string
	Path   string
	Status int    // HTTP status
	Code   string // the API's "error" field, e.g. no_such_ask
	Msg    string // the API's "msg" / "detail", or the start of a text body
	// fromAPI: the body was a JSON object, as VAST documents its errors
	// (vast-ai/docs api-reference/openapi; only 429s are often text). A
	// 404 page from a proxy or a wrong base URL is not VAST saying an
	// instance is gone.
	fromAPI bool
}

// notFound reports whether VAST itself answered 404.
func (e *APIError) notFound() bool { return e.Status == http.StatusNotFound && e.fromAPI }

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "VAST API %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Msg != "" && e.Msg != e.Code {
		b.WriteString(": " + e.Msg)
	}
	return b.String()
}

// retryable reports whether a later identical request may succeed.
func (e *APIError) retryable() bool {
	return e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// request is one API call.
type request struct {
	method string
	path   string // under the base URL, e.g. /api/v0/instances/42/
	query  url.Values
	body   any // JSON-encoded when not nil
	out    any // JSON-decoded from a 2xx answer when not nil
	// idempotent requests are also retried after 5xx answers and transport
	// errors. Renting is not: a lost answer may hide a new instance, and a
	// second PUT could rent a second one.
	idempotent bool
	// detached requests, once sent, are not cut off by ctx (the HTTP
	// client's timeout still bounds them): cancelling a rent half-way would
	// leave an instance whose id nobody learnt. ctx still stops retries.
	detached bool
}

const (
	maxBody      = 8 << 20 // a generous bound on any JSON answer
	maxErrorBody = 2048    // enough of an error body to quote
)

// do sends r, retrying 429s (and, for idempotent requests, 5xx and transport
// errors) with jittered exponential backoff between RetryBase and RetryCap.
func (p *Provider) do(ctx context.Context, r request) error {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return fmt.Errorf("encoding %s %s: %w", r.method, r.path, err)
		}
	}
	eb := &backoff.ExponentialBackOff{
		InitialInterval:     p.cfg.RetryBase,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         p.cfg.RetryCap,
	}
	tries := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		tries++
		return struct{}{}, p.once(ctx, r, payload)
	}, backoff.WithBackOff(eb), backoff.WithMaxTries(uint(p.cfg.MaxRetries)+1), backoff.WithMaxElapsedTime(0))
	var ae *APIError
	if err != nil && tries > 1 && errors.As(err, &ae) && ae.retryable() {
		return fmt.Errorf("%w (gave up after %d tries)", err, tries)
	}
	return err
}

// once sends r a single time. Errors that retrying cannot fix are wrapped
// in backoff.Permanent.
func (p *Provider) once(ctx context.Context, r request, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return backoff.Permanent(err) // nothing is sent once the caller gave up
	}
	u := p.base + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	reqCtx := ctx
	if r.detached {
		reqCtx = context.WithoutCancel(ctx)
	}
	req, err := http.NewRequestWithContext(reqCtx, r.method, u, body)
	if err != nil {
		return backoff.Permanent(fmt.Errorf("building %s %s: %w", r.method, r.path, err))
	}
	req.Header.Set("Authorization", "Bearer "+p.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		if reqCtx.Err() != nil {
			return backoff.Permanent(reqCtx.Err())
		}
		err = fmt.Errorf("VAST API %s %s: %w", r.method, r.path, unwrapURLError(err))
		if r.idempotent {
			return err
		}
		return backoff.Permanent(&AmbiguousError{Err: err})
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		ae := parseAPIError(r.method, r.path, resp.StatusCode, raw)
		switch {
		case ae.Status == http.StatusTooManyRequests:
			return ae // the request was refused before it was looked at
		case ae.Status >= 500 && r.idempotent:
			return ae
		case ae.Status >= 500:
			return backoff.Permanent(&AmbiguousError{Err: ae})
		}
		return backoff.Permanent(ae)
	}
	if r.out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(r.out); err != nil {
		err = fmt.Errorf("VAST API %s %s: reading the answer: %w", r.method, r.path, err)
		if !r.idempotent {
			// A 2xx whose body was cut (the client's timeout, a reset) came
			// after the server acted: a rent may have made an instance.
			err = &AmbiguousError{Err: err}
		}
		return backoff.Permanent(err)
	}
	return nil
}

// AmbiguousError wraps a failure of a non-idempotent request (renting) whose
// outcome is unknown: the server may have acted before the answer was lost.
type AmbiguousError struct{ Err error }

func (e *AmbiguousError) Error() string { return e.Err.Error() }
func (e *AmbiguousError) Unwrap() error { return e.Err }

// Uncertain implements the interface cloud.IsUncertain looks for.
func (e *AmbiguousError) Uncertain() bool { return true }

// unwrapURLError drops net/http's `Put "https://…": ` prefix: the path is
// already in our message, and a URL copied from a config might carry more
// than it should.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseAPIError reads VAST's error shapes: {"success":false,"error":..,"msg":..},
// the same without success or error and with "message" for "msg"
// (vast-ai/docs api-reference/rate-limits-and-errors.mdx: "Some omit error
// and return only msg or message"), {"detail":..} (the 429s of the
// openapi yaml files), or plain text ("API requests too frequent").
func parseAPIError(method, path string, status int, raw []byte) *APIError {
	ae := &APIError{Method: method, Path: path, Status: status}
	var j struct {
		Error   any `json:"error"`
		Msg     any `json:"msg"`
		Message any `json:"message"`
		Detail  any `json:"detail"`
	}
	if trimmed := bytes.TrimSpace(raw); len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &j) == nil {
		ae.fromAPI = true
		if s, ok := j.Error.(string); ok {
			ae.Code = s
		}
		for _, m := range []any{j.Msg, j.Message, j.Detail} {
			if s, ok := m.(string); ok && s != "" {
				ae.Msg = s
				break
			}
		}
		return ae
	}
	ae.Msg = strings.Join(strings.Fields(string(raw)), " ")
	if len(ae.Msg) > 200 {
		ae.Msg = ae.Msg[:200] + "…"
	}
	return ae
}
