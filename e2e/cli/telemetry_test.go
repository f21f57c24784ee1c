package cli

import (
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/telemetry/otlptest"
)

// otelEnv points scn at an OTLP endpoint, the way a CI job does.
func otelEnv(endpoint string, more ...string) []string {
	return append([]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=",
		"OTEL_SDK_DISABLED=", "OTEL_TRACES_EXPORTER=", "TRACEPARENT=", "OTEL_EXPORTER_OTLP_HEADERS=authorization=Bearer%20otlp-token-77"}, more...)
}

// rootSpans are the received run spans, by run id.
func rootSpans(r *otlptest.Receiver) map[string]*otlptest.Span {
	out := map[string]*otlptest.Span{}
	for _, s := range r.Spans() {
		if strings.HasPrefix(s.Name, "scn run ") {
			out[s.Attr("scn.run_id")] = s
		}
	}
	return out
}

// Each run is a trace the collector receives over OTLP/HTTP, in the
// pipeline's trace when TRACEPARENT is set; its trace id is in the
// journal, the closing report and the HTML report.
func TestRunsExportTraces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv, url := otlptest.NewHTTP(t)
	const parent = "4bf92f3577b34da6a3ce929d0e0e4736"
	e.extra = otelEnv(url, "TRACEPARENT=00-"+parent+"-00f067aa0ba902b7-01")
	pass := e.write("pass.yaml", "name: pass\nsteps:\n  - id: hi\n    action: log\n    with: { message: hello }\n")
	fail := e.write("fail.yaml", "name: fail\nsteps:\n  - id: sums\n    assert: 1 + 1 == 3\n")
	out := filepath.Join(e.dir, "runs")
	r := e.scn("run", pass, fail, "--out", out)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
	}
	roots := rootSpans(rcv)
	if len(roots) != 2 {
		t.Fatalf("collector got run spans for %d runs, want 2; spans: %d\n%s%s", len(roots), len(rcv.Spans()), r.stdout, r.stderr)
	}
	for _, name := range []string{"pass", "fail"} {
		dirs, _ := filepath.Glob(filepath.Join(out, "*"))
		var j *journal.Journal
		for _, d := range dirs {
			if jj := readJournal(t, filepath.Join(d, "journal.json")); jj.Scenario == name {
				j = jj
			}
		}
		if j == nil {
			t.Fatalf("no journal for %s in %v", name, dirs)
		}
		root := roots[j.RunID]
		if root == nil || j.TraceID != parent || hex.EncodeToString(root.TraceId) != parent {
			t.Fatalf("%s: journal trace_id %q, span %v; want both in TRACEPARENT's trace", name, j.TraceID, root)
		}
		if root.Attr("scn.status") != j.Status || root.Attr("scn.scenario") != name {
			t.Errorf("%s: run span says %s/%s", name, root.Attr("scn.scenario"), root.Attr("scn.status"))
		}
		if html, _ := os.ReadFile(filepath.Join(out, j.RunID, "report.html")); !strings.Contains(string(html), parent) {
			t.Errorf("%s: report.html lacks the trace id", name)
		}
	}
	if !strings.Contains(r.stdout, "trace "+parent) {
		t.Errorf("the closing report does not show the trace id:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout+r.stderr, "otlp-token-77") {
		t.Errorf("output shows the OTLP header")
	}
}

// Ctrl+C stops the drill; its trace and its notice, interrupted, still
// reach the collector and the webhook before scn exits.
func TestInterruptedRunStillExportsItsTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rcv, url := otlptest.NewHTTP(t)
	e.extra = otelEnv(url)
	nap := e.write("nap.yaml", "name: nap\nsteps:\n  - id: hi\n    action: log\n    with: { message: hello }\n  - id: nap\n    action: sleep\n    with: { duration: 10m }\n")
	hook := &webhook{code: 200}
	p := e.start("run", nap, "--notify", newWebhook(t, hook, "T09/B09/naptoken"))
	p.waitOutput("[1/2] hi ... ok")
	p.signal(syscall.SIGINT)
	if code := p.wait(); code != 130 {
		t.Fatalf("exit %d, want 130\n%s%s", code, p.stdout, p.stderr)
	}
	var root, step *otlptest.Span
	for _, s := range rcv.Spans() {
		switch s.Name {
		case "scn run nap":
			root = s
		case "sleep nap":
			step = s
		}
	}
	if root == nil || root.Attr("scn.status") != journal.StatusInterrupted || step == nil || step.Attr("scn.step.status") != journal.StepCanceled {
		t.Fatalf("want the interrupted run and its canceled step; got root %v step %v", root, step)
	}
	if got := hook.statuses(); len(got) != 1 || got[0] != journal.StatusInterrupted || hook.notices[0]["failed_step"] != "nap" ||
		hook.notices[0]["trace_id"] != hex.EncodeToString(root.TraceId) {
		t.Errorf("notices %v, want one for the interrupted run naming step nap and its trace", hook.notices)
	}
}

// A collector nobody listens on costs one warning line, never the
// drill's verdict.
func TestUnreachableCollectorIsOneWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	e.extra = otelEnv(dead)
	pass := e.write("pass.yaml", "name: pass\nsteps:\n  - action: log\n    with: { message: hello }\n")
	r := e.scn("run", pass, pass)
	if r.code != 0 {
		t.Fatalf("exit %d, want 0 (the drills passed)\n%s%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stdout+r.stderr, "OpenTelemetry: could not export the trace"); n != 1 {
		t.Errorf("%d export warnings, want 1:\n%s%s", n, r.stdout, r.stderr)
	}
}
