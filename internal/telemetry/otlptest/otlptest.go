// Package otlptest is an OTLP trace receiver for tests: the collector's
// side of the wire, on loopback. Its HTTP endpoint takes what the OTLP/HTTP
// exporter POSTs to /v1/traces (binary protobuf, optionally gzipped, as
// the OTLP specification's "OTLP/HTTP" section says) and its gRPC endpoint
// implements the collector's TraceService; both decode the requests with
// the official proto module (go.opentelemetry.io/proto/otlp), so a test
// sees exactly what a real collector would receive.
package otlptest

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// Receiver collects the spans exported to it.
type Receiver struct {
	coltracepb.UnimplementedTraceServiceServer

	mu      sync.Mutex
	spans   []*Span
	headers []map[string]string // per request: HTTP headers or gRPC metadata (lower-case keys)
	raw     [][]byte            // request bodies as received (decompressed)
}

// Span is a received span with its resource's attributes.
type Span struct {
	*tracepb.Span
	Resource map[string]string
}

// Attr is the span attribute key, rendered as a string ("" when absent):
// ints and floats as Go prints them.
func (s *Span) Attr(key string) string { return attr(s.Attributes, key) }

func attr(kvs []*commonpb.KeyValue, key string) string {
	for _, kv := range kvs {
		if kv.Key == key {
			return valueString(kv.Value)
		}
	}
	return ""
}

func valueString(v *commonpb.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_IntValue:
		return formatInt(x.IntValue)
	case *commonpb.AnyValue_BoolValue:
		if x.BoolValue {
			return "true"
		}
		return "false"
	case *commonpb.AnyValue_DoubleValue:
		return formatFloat(x.DoubleValue)
	}
	return ""
}

// ServeHTTP is the OTLP/HTTP endpoint: POST /v1/traces.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
		http.Error(w, "not an OTLP traces request", http.StatusNotFound)
		return
	}
	body := io.Reader(req.Body)
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if req.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &msg) != nil {
		http.Error(w, "want an application/x-protobuf ExportTraceServiceRequest", http.StatusUnsupportedMediaType)
		return
	}
	h := map[string]string{}
	for k := range req.Header {
		h[http.CanonicalHeaderKey(k)] = req.Header.Get(k)
	}
	r.keep(&msg, h, b)
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// Export is the gRPC TraceService's method.
func (r *Receiver) Export(ctx context.Context, msg *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	h := map[string]string{}
	md, _ := metadata.FromIncomingContext(ctx)
	for k, v := range md {
		if len(v) > 0 {
			h[k] = v[0]
		}
	}
	b, _ := proto.Marshal(msg)
	r.keep(msg, h, b)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (r *Receiver) keep(msg *coltracepb.ExportTraceServiceRequest, h map[string]string, raw []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.headers = append(r.headers, h)
	r.raw = append(r.raw, raw)
	for _, rs := range msg.ResourceSpans {
		res := map[string]string{}
		for _, kv := range rs.GetResource().GetAttributes() {
			res[kv.Key] = valueString(kv.Value)
		}
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				r.spans = append(r.spans, &Span{Span: s, Resource: res})
			}
		}
	}
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []*Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Span(nil), r.spans...)
}

// Headers returns each request's headers (or gRPC metadata).
func (r *Receiver) Headers() []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]string(nil), r.headers...)
}

// Raw returns the requests' bodies, for tests that search them for a
// secret.
func (r *Receiver) Raw() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.raw...)
}

// NewHTTP serves a Receiver over OTLP/HTTP on loopback until the test
// ends; the URL is what OTEL_EXPORTER_OTLP_ENDPOINT takes.
func NewHTTP(t testing.TB) (*Receiver, string) {
	r := &Receiver{}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// NewGRPC serves a Receiver over OTLP/gRPC (plaintext) on loopback until
// the test ends; the URL is what OTEL_EXPORTER_OTLP_ENDPOINT takes.
func NewGRPC(t testing.TB) (*Receiver, string) {
	r := &Receiver{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, r)
	go s.Serve(l)
	t.Cleanup(s.Stop)
	return r, "http://" + l.Addr().String()
}

func formatInt(i int64) string     { return strconv.FormatInt(i, 10) }
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
