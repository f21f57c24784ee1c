package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"github.com/scnlabs/scn/internal/secret"
)

// Defaults of a Sender: a webhook gets a few quick tries, and scn never
// waits long for a chat server after the drill itself is over.
const (
	DefaultTries    = 3
	DefaultTimeout  = 10 * time.Second // one attempt
	DefaultDeadline = 30 * time.Second // all attempts of one webhook
)

// Sender POSTs notices to webhooks.
type Sender struct {
	// URLs are the webhooks, in the order given (secrets: never printed).
	URLs []string
	// Mask masks each notice's body and every warning: the run's secrets
	// and the webhook URLs themselves.
	Mask *secret.Masker
	// Warn receives one line per webhook that failed.
	Warn func(string)
	// Client is the HTTP client; nil: a client with Timeout per attempt.
	Client *http.Client
	// Tries, Timeout and Deadline bound the retries; zero: the defaults.
	Tries    uint
	Timeout  time.Duration
	Deadline time.Duration
	// FirstBackoff is the first wait between tries; zero: backoff's default
	// (500ms, growing).
	FirstBackoff time.Duration
}

// Check returns an error when a webhook URL is not an absolute http(s)
// URL; the error names the webhook by its position, never by its URL.
func Check(urls []string) error {
	for i, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify webhook %d is not an http(s) URL (not shown: webhook URLs carry tokens)", i+1)
		}
	}
	return nil
}

// Send POSTs n to every webhook, one after the other, and warns about each
// that failed after its tries. It returns how many webhooks took it.
func (s *Sender) Send(ctx context.Context, n Notice) int {
	body, err := json.Marshal(n)
	if err != nil { // a Notice always marshals; say so rather than drop it
		s.warn(fmt.Sprintf("notify: encoding the notice: %v", err))
		return 0
	}
	body = []byte(s.Mask.String(string(body)))
	ok := 0
	for i, u := range s.URLs {
		if err := s.post(ctx, u, body); err != nil {
			s.warn(fmt.Sprintf("notify: webhook %d (%s) failed: %v; the drill's result is unchanged", i+1, host(u), err))
			continue
		}
		ok++
	}
	return ok
}

func (s *Sender) warn(msg string) {
	if s.Warn != nil {
		s.Warn(s.Mask.String(msg))
	}
}

// post sends body to one webhook with bounded retries: network errors,
// 429 and 5xx are retried (honouring Retry-After), other statuses are
// final.
func (s *Sender) post(ctx context.Context, u string, body []byte) error {
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: or(s.Timeout, DefaultTimeout)}
	}
	b := backoff.NewExponentialBackOff()
	if s.FirstBackoff > 0 {
		b.InitialInterval = s.FirstBackoff
	}
	tries := 0
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		tries++
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return struct{}{}, backoff.Permanent(errors.New("bad URL"))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "scn")
		resp, err := client.Do(req)
		if err != nil {
			return struct{}{}, unwrapURL(err)
		}
		defer resp.Body.Close()
		detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode/100 == 2 {
			return struct{}{}, nil
		}
		err = &StatusError{Code: resp.StatusCode, Body: oneLine(string(detail), 120)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
				return struct{}{}, &retryAfter{StatusError: err.(*StatusError), after: &backoff.RetryAfterError{Duration: time.Duration(secs) * time.Second}}
			}
			return struct{}{}, err
		default:
			return struct{}{}, backoff.Permanent(err)
		}
	}, backoff.WithBackOff(b), backoff.WithMaxTries(or(s.Tries, DefaultTries)),
		backoff.WithMaxElapsedTime(or(s.Deadline, DefaultDeadline)))
	if err != nil && tries > 1 {
		return fmt.Errorf("%w (after %d tries)", err, tries)
	}
	return err
}

// StatusError is a webhook's non-2xx answer.
type StatusError struct {
	Code int
	Body string // the start of the answer: Slack says what it disliked
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("HTTP %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// retryAfter is a status the webhook asked to retry later: backoff waits
// as told (it finds the *RetryAfterError), and the last one still reads as
// its HTTP status.
type retryAfter struct {
	*StatusError
	after *backoff.RetryAfterError
}

func (e *retryAfter) Unwrap() []error { return []error{e.StatusError, e.after} }

// unwrapURL drops the URL net/http puts in its errors ("Post \"https://
// hooks.slack.com/services/T…\": …"): the masker would hide it, but a
// warning that keeps only the cause reads better.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// host is what a warning may say about a webhook: its host, never its
// path or query (where the token lives).
func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return "?"
	}
	return strings.ToLower(u.Hostname())
}

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
