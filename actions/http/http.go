// Package http holds http.request: call any HTTP API from a scenario, e.g.
// the backend whose failover is being drilled.
package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	nethttp "net/http"
	"strings"
	"time"

	"github.com/scnlabs/scn/actions"
)

// RequestParams are the parameters of http.request.
type RequestParams struct {
	Method  string            `json:"method" default:"GET" enum:"GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS" doc:"HTTP method"`
	URL     string            `json:"url" required:"true" doc:"full URL"`
	Headers map[string]string `json:"headers" doc:"request headers"`
	Body    any               `json:"body" doc:"request body: a string is sent as is, anything else as JSON"`
	MaxBody int               `json:"max_body" min:"0" default:"1048576" doc:"bytes of response body kept in outputs"`
}

// RequestOutputs are the outputs of http.request.
type RequestOutputs struct {
	StatusCode int               `json:"status_code" doc:"HTTP status code"`
	Headers    map[string]string `json:"headers" doc:"response headers (first value of each, canonical names)"`
	Body       string            `json:"body" doc:"response body (up to max_body bytes)"`
	JSON       any               `json:"json" doc:"the body parsed as JSON, when it is JSON"`
	Seconds    float64           `json:"seconds" doc:"request duration"`
}

// Request calls an HTTP API. A non-2xx status is not an error by itself:
// check it with expect: [status_code == 200].
var Request = actions.Define(actions.Info{
	Name:    "http.request",
	Summary: "call an HTTP API; check the answer with expect",
	Example: "- id: health\n  action: http.request\n  with: { url: \"http://localhost:8766/health\" }\n  expect: [ \"status_code == 200\" ]",
}, func(ctx context.Context, env *actions.Env, p *RequestParams) (*RequestOutputs, error) {
	var body io.Reader
	contentType := ""
	switch b := p.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encoding body as JSON: %w", err)
		}
		body, contentType = bytes.NewReader(data), "application/json"
	}
	req, err := nethttp.NewRequestWithContext(ctx, p.Method, p.URL, body)
	if err != nil {
		return nil, fmt.Errorf("bad request: %w", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range p.Headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := nethttp.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", p.Method, p.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, int64(p.MaxBody)))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %w", p.Method, p.URL, err)
	}
	out := &RequestOutputs{StatusCode: resp.StatusCode, Headers: map[string]string{}, Body: string(data),
		Seconds: time.Since(start).Seconds()}
	for k, v := range resp.Header {
		out.Headers[k] = v[0]
	}
	var j any
	if json.Unmarshal(data, &j) == nil {
		out.JSON = j
	}
	return out, nil
})
