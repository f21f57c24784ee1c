package telemetry

import (
	"bytes"
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/internal/telemetry/otlptest"
)

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
)

type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) add(s string) { w.mu.Lock(); w.lines = append(w.lines, s); w.mu.Unlock() }
func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.lines...)
}

// env points the exporter at endpoint the way a user does, with an API
// key in the headers, and clears what the host environment may set.
func env(t *testing.T, endpoint, protocol string) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
		"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "TRACEPARENT", "TRACESTATE"} {
		t.Setenv(k, "")
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=collector-key-42%21")
}

type snapOutputs struct {
	ID    string  `json:"id"`
	Files int     `json:"files"`
	Ratio float64 `json:"ratio"`
	Keys  []string
}

// drill is a finished run's journal: a step retried, a snapshot with its
// transfer, a failed step, a skipped one, two undos.
func drill(id string) *journal.Journal {
	t0 := time.Date(2026, 12, 5, 2, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	return &journal.Journal{
		RunID: id, Scenario: "realtime-sync", File: "scenarios/realtime-sync.yaml", Target: "local", TargetKind: "local",
		Status: journal.StatusFailed, ExitCode: 1, Error: "step verify failed: 1 file missing", StartedAt: t0, EndedAt: at(30),
		Cost: journal.Cost{TotalUSD: 0.0125, Simulated: true}, Validation: &journal.Validation{Total: 3, Valid: 2, Missing: 1},
		Steps: []journal.Step{
			{ID: "gpu", Action: "instance.create", Kind: "action", Section: "steps", Status: journal.StepPassed, Attempts: 2, StartedAt: at(0), EndedAt: at(10)},
			{ID: "snap", Action: "snapshot.create", Kind: "action", Section: "steps", Status: journal.StepPassed, StartedAt: at(10), EndedAt: at(20),
				Outputs: snapOutputs{ID: "snap-hunter2-1", Files: 3, Ratio: 2.5, Keys: []string{"a"}}},
			{ID: "verify", Action: "files.verify", Kind: "action", Section: "steps", Status: journal.StepFailed, Error: "1 file missing (key hunter2)", StartedAt: at(20), EndedAt: at(25)},
			{ID: "after", Kind: "assert", Section: "steps", Status: journal.StepSkipped, SkipReason: "an earlier step failed"},
		},
		Snapshots: []journal.Transfer{{Step: "snap", Kind: "snapshot", ID: "snap-hunter2-1", Files: 3, BytesStream: 3 << 20, BytesStored: 1 << 20, Seconds: 4, MBPerSec: 0.75, Via: "agent"}},
		Cleanup: []journal.Undo{
			{Step: "gpu", Description: "destroy instance l-1", Resource: "l-1", Status: "done", Attempts: 1, StartedAt: at(26), Seconds: 2},
			{Step: "snap", Description: "delete snapshot", Status: "failed", Error: "store said no to hunter2", StartedAt: at(28), Seconds: 1},
		},
	}
}

func TestTraceOverOTLPHTTP(t *testing.T) {
	rcv, url := otlptest.NewHTTP(t)
	env(t, url, "")
	t.Setenv("TRACEPARENT", "00-"+parentTrace+"-"+parentSpan+"-01")
	var w warnings
	mask := secret.New("hunter2")
	e, err := New(context.Background(), mask, w.add, "v-test")
	if err != nil || e == nil {
		t.Fatalf("New = %v, %v; want an exporter", e, err)
	}
	rt := e.Run("run-1")
	if rt.TraceID() != parentTrace {
		t.Errorf("TraceID = %s, want TRACEPARENT's %s", rt.TraceID(), parentTrace)
	}
	rt.Log("gpu", "attempt 1/2 failed: no offer for hunter2 — retrying in 1s")
	rt.Log("gpu", "an ordinary line")
	rt.Wait("gpu", "waiting for SSH on instance 42", 3*time.Second)
	rt.Transfer("snap", "snapshot", 10, 100)
	rt.Warn("standby died")
	rt.RunFinished(drill("run-1"))
	e.Shutdown(context.Background())

	spans := map[string]*otlptest.Span{}
	for _, s := range rcv.Spans() {
		spans[s.Name] = s
	}
	root := spans["scn run realtime-sync"]
	if root == nil || len(spans) != 8 {
		t.Fatalf("got spans %v; want the run, 4 steps, a transfer and 2 undos", keys(spans))
	}
	hexID := func(b []byte) string { return hex.EncodeToString(b) }
	if hexID(root.TraceId) != parentTrace || hexID(root.ParentSpanId) != parentSpan {
		t.Errorf("root span in trace %x under %x; want TRACEPARENT's", root.TraceId, root.ParentSpanId)
	}
	for attr, want := range map[string]string{"scn.run_id": "run-1", "scn.status": "failed", "scn.exit_code": "1", "scn.cost_usd": "0.0125",
		"scn.cost_simulated": "true", "scn.validation.valid": "2", "scn.validation.total": "3", "scn.target": "local"} {
		if got := root.Attr(attr); got != want {
			t.Errorf("root %s = %q, want %q", attr, got, want)
		}
	}
	if root.Status.GetCode().String() != "STATUS_CODE_ERROR" || root.Resource["service.name"] != "scn" || root.Resource["service.version"] != "v-test" {
		t.Errorf("root status %v, resource %v", root.Status, root.Resource)
	}
	if got := root.EndTimeUnixNano - root.StartTimeUnixNano; got != uint64(30*time.Second) {
		t.Errorf("root lasts %dns, want the journal's 30s", got)
	}
	gpu, snap, verify := spans["instance.create gpu"], spans["snapshot.create snap"], spans["files.verify verify"]
	xfer, undo := spans["transfer snapshot"], spans["undo snap"]
	for _, s := range []*otlptest.Span{gpu, snap, verify, spans["assert after"], spans["undo gpu"], undo} {
		if s == nil || !bytes.Equal(s.ParentSpanId, root.SpanId) || !bytes.Equal(s.TraceId, root.TraceId) {
			t.Fatalf("span %v is not a child of the run's span", s)
		}
	}
	if xfer == nil || !bytes.Equal(xfer.ParentSpanId, snap.SpanId) {
		t.Fatalf("transfer span %v is not under its step", xfer)
	}
	if xfer.Attr("scn.transfer.bytes_stream") != "3145728" || xfer.Attr("scn.transfer.mb_per_s") != "0.75" || xfer.Attr("scn.transfer.via") != "agent" ||
		xfer.EndTimeUnixNano-xfer.StartTimeUnixNano != uint64(4*time.Second) {
		t.Errorf("transfer span: %v", xfer.Attributes)
	}
	if gpu.Attr("scn.step.attempts") != "2" || len(gpu.Events) != 2 || gpu.Events[0].Name != "retry" || gpu.Events[1].Name != "poll" {
		t.Errorf("gpu step: attempts %s, events %v; want a retry then a poll", gpu.Attr("scn.step.attempts"), gpu.Events)
	}
	if snap.Attr("scn.output.files") != "3" || snap.Attr("scn.output.ratio") != "2.5" || snap.Attr("scn.output.Keys") != "" {
		t.Errorf("snapshot outputs as attributes: %v", snap.Attributes)
	}
	if verify.Status.GetCode().String() != "STATUS_CODE_ERROR" || undo.Status.GetCode().String() != "STATUS_CODE_ERROR" || undo.Attr("scn.undo.status") != "failed" {
		t.Errorf("failed step %v / undo %v: want error statuses", verify.Status, undo.Status)
	}
	if len(root.Events) != 1 || root.Events[0].Name != "warning" {
		t.Errorf("root events %v, want the warning", root.Events)
	}
	if h := rcv.Headers(); len(h) == 0 || h[0]["X-Api-Key"] != "collector-key-42!" {
		t.Errorf("the collector did not get OTEL_EXPORTER_OTLP_HEADERS: %v", h)
	}
	for _, b := range rcv.Raw() {
		if bytes.Contains(b, []byte("hunter2")) {
			t.Errorf("a secret reached the collector")
		}
	}
	if mask.String("collector-key-42!") != secret.Mask {
		t.Errorf("the OTLP header value is not masked")
	}
	if w.all() != nil {
		t.Errorf("warnings: %q", w.all())
	}
}

func TestTraceOverOTLPGRPC(t *testing.T) {
	rcv, url := otlptest.NewGRPC(t)
	env(t, url, "grpc")
	var w warnings
	e, err := New(context.Background(), secret.New(), w.add, "v-test")
	if err != nil {
		t.Fatal(err)
	}
	rt := e.Run("run-g")
	rt.RunFinished(drill("run-g"))
	e.Shutdown(context.Background())
	spans := rcv.Spans()
	if len(spans) != 8 || hex.EncodeToString(spans[0].TraceId) != rt.TraceID() {
		t.Fatalf("got %d spans over gRPC, want 8 in trace %s", len(spans), rt.TraceID())
	}
	if h := rcv.Headers(); h[0]["x-api-key"] != "collector-key-42!" {
		t.Errorf("gRPC metadata %v lacks the header", h[0])
	}
	if w.all() != nil {
		t.Errorf("warnings: %q", w.all())
	}
}

// An unreachable collector is one warning however many runs fail to
// export, and Shutdown returns within its bound.
func TestUnreachableCollectorIsOneWarning(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	url := "http://" + l.Addr().String()
	l.Close()
	env(t, url, "http/protobuf")
	var w warnings
	e, err := New(context.Background(), secret.New(), w.add, "v-test")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		e.Run(id).RunFinished(drill(id))
	}
	done := make(chan struct{})
	go func() { e.Shutdown(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(FlushTimeout + 30*time.Second): // a hang, not a speed check
		t.Fatal("Shutdown did not return")
	}
	got := w.all()
	if len(got) != 1 || !strings.Contains(got[0], "OpenTelemetry: could not export the trace") || strings.Contains(got[0], "collector-key") {
		t.Fatalf("warnings %q, want exactly one, without the header", got)
	}
}

func TestDisabledWithoutEndpoint(t *testing.T) {
	env(t, "", "")
	if e, err := New(context.Background(), secret.New(), nil, ""); e != nil || err != nil {
		t.Fatalf("New without an endpoint = %v, %v; want nil, nil", e, err)
	}
	env(t, "http://127.0.0.1:1", "")
	t.Setenv("OTEL_SDK_DISABLED", "true")
	if Enabled() {
		t.Error("OTEL_SDK_DISABLED=true still exports")
	}
	var e *Exporter
	if e.Run("x") != nil {
		t.Error("a nil exporter made a run trace")
	}
	e.Shutdown(context.Background()) // a nil exporter shuts down quietly
}

func keys(m map[string]*otlptest.Span) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
