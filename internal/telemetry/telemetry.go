// Package telemetry exports scn's runs as OpenTelemetry traces, so a
// nightly drill shows up in the tracing backend a team already uses. It is
// configured only by the standard OTEL_* environment variables (the
// official OTLP exporters read the endpoint, headers, timeout, TLS and
// protocol themselves) and turns the runner's events into spans: a root
// span per run, a child per step with a span per transfer under it, one
// per cleanup undo, and events for retries, polls and warnings.
//
// The language links no SDK: the runner only emits internal/event events,
// and this package, imported by cmd/scn alone, is where the OTel SDK, the
// exporters and gRPC come in. Exporting never fails a drill: a collector
// that cannot be reached is one warning, and the flush at exit is bounded.
package telemetry

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/scnlabs/scn/internal/secret"
)

// FlushTimeout bounds the export of what is left at exit: a slow or
// unreachable collector delays scn's exit by at most this much.
const FlushTimeout = 5 * time.Second

// Exporter sends runs' traces to the OTLP collector the environment names.
type Exporter struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	parent trace.SpanContext // from TRACEPARENT; invalid when none
	mask   *secret.Masker
	warn   func(string)
	once   sync.Once // one warning, however many exports fail
}

// Enabled says whether the environment asks for traces: an OTLP endpoint
// is set, and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none.
func Enabled() bool {
	if os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return false
	}
	return !strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") && os.Getenv("OTEL_TRACES_EXPORTER") != "none"
}

// New starts an exporter when Enabled, else returns nil (a nil *Exporter
// exports nothing). The OTLP header values (they carry API keys) are added
// to mask; warn receives the one warning an export failure gives. version
// is scn's, for the resource.
func New(ctx context.Context, mask *secret.Masker, warn func(string), version string) (*Exporter, error) {
	if !Enabled() {
		return nil, nil
	}
	mask.Add(headerValues()...)
	exp, err := newSpanExporter(ctx)
	if err != nil {
		return nil, fmt.Errorf("OpenTelemetry exporter: %w", mask.Error(err))
	}
	// The environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) comes
	// last, so it overrides scn's own service name.
	res, err := resource.New(ctx, resource.WithTelemetrySDK(), resource.WithHost(),
		resource.WithAttributes(attribute.String("service.name", "scn"), attribute.String("service.version", version)),
		resource.WithFromEnv())
	if err != nil {
		res = resource.Default() // a partial resource is still worth the trace
	}
	e := &Exporter{mask: mask, warn: warn}
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res),
		sdktrace.WithIDGenerator(presetIDs{}), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())))
	e.tracer = e.tp.Tracer("github.com/scnlabs/scn")
	// Export errors surface through OTel's global handler, from the
	// batcher's goroutine.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(e.failed))
	e.parent = parentFromEnv()
	return e, nil
}

// newSpanExporter picks the transport by the standard protocol variables:
// gRPC on "grpc", else OTLP/HTTP (protobuf by default; it reads "http/json"
// itself). Both read endpoint, headers, timeout and TLS from the env.
func newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	proto := os.Getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if proto == "" {
		proto = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if proto == "grpc" {
		return otlptracegrpc.New(ctx)
	}
	return otlptracehttp.New(ctx)
}

// parentFromEnv reads TRACEPARENT (and TRACESTATE), the W3C trace context
// a CI pipeline passes to the programs it runs, so the drill's trace hangs
// under the pipeline's.
func parentFromEnv() trace.SpanContext {
	carrier := propagation.MapCarrier{"traceparent": os.Getenv("TRACEPARENT"), "tracestate": os.Getenv("TRACESTATE")}
	ctx := propagation.TraceContext{}.Extract(context.Background(), carrier)
	return trace.SpanContextFromContext(ctx)
}

// headerValues are the values of OTEL_EXPORTER_OTLP_(TRACES_)HEADERS
// ("k=v,k2=v2", values URL-encoded), raw and decoded: secrets.
func headerValues() []string {
	var out []string
	for _, env := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, kv := range strings.Split(os.Getenv(env), ",") {
			_, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			out = append(out, strings.TrimSpace(v))
			if d, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
				out = append(out, d)
			}
		}
	}
	return out
}

// failed turns the first export error into the one warning.
func (e *Exporter) failed(err error) {
	e.once.Do(func() {
		if e.warn != nil {
			e.warn(e.mask.String(fmt.Sprintf("OpenTelemetry: could not export the trace (%v); the drill's result is unchanged", err)))
		}
	})
}

// Shutdown exports what is left and stops the exporter, waiting at most
// FlushTimeout (also when ctx was cancelled by Ctrl+C: the run is over,
// its trace is worth a few seconds).
func (e *Exporter) Shutdown(ctx context.Context) {
	if e == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
	defer cancel()
	if err := e.tp.Shutdown(ctx); err != nil {
		e.failed(err)
	}
}

// presetIDs makes the SDK's ids at random, except a root span's trace id
// when the context carries one: a run's trace id is chosen when the run is
// prepared (the journal records it), its spans are made when it ends.
type presetIDs struct{}

type traceIDKey struct{}

func (presetIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid, ok := ctx.Value(traceIDKey{}).(trace.TraceID)
	if !ok {
		tid = newTraceID()
	}
	return tid, newSpanID()
}

func (presetIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID { return newSpanID() }

func newTraceID() (t trace.TraceID) {
	for !t.IsValid() {
		rand.Read(t[:])
	}
	return t
}

func newSpanID() (s trace.SpanID) {
	for !s.IsValid() {
		rand.Read(s[:])
	}
	return s
}
