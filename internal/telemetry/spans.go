package telemetry

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
)

// maxEvents bounds the span events kept per step: a long wait reports
// progress every second, a trace wants the shape, not every tick.
const maxEvents = 64

// RunTrace is one run's trace: an event.Sink that remembers what only the
// live events say (retries, polls, when a transfer began, warnings) and,
// when the run finishes, makes the spans from the journal, whose times
// and figures are final (steps, undos, transfers, cost, validation).
type RunTrace struct {
	event.Discard
	e     *Exporter
	trace trace.TraceID

	mu     sync.Mutex
	events map[string][]spanEvent // by step id; "" for the run
	xfer   map[string]time.Time   // first transfer progress, by step id
}

type spanEvent struct {
	name  string
	at    time.Time
	attrs []attribute.KeyValue
}

// Run starts the trace of the run runID: in the trace of TRACEPARENT when
// it is set, else in a new one. A nil Exporter gives a nil *RunTrace.
func (e *Exporter) Run(runID string) *RunTrace {
	if e == nil {
		return nil
	}
	t := &RunTrace{e: e, trace: newTraceID(), events: map[string][]spanEvent{}, xfer: map[string]time.Time{}}
	if e.parent.IsValid() {
		t.trace = e.parent.TraceID()
	}
	return t
}

// TraceID is the run's trace id, 32 hex digits: the journal records it.
func (t *RunTrace) TraceID() string { return t.trace.String() }

func (t *RunTrace) add(step, name string, attrs ...attribute.KeyValue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.events[step]) < maxEvents {
		t.events[step] = append(t.events[step], spanEvent{name: name, at: time.Now(), attrs: attrs})
	}
}

// Log keeps the runner's retry lines ("attempt 1/3 failed: … — retrying
// in 2s") as retry events; other lines are the step's output, in the
// journal.
func (t *RunTrace) Log(step, line string) {
	if strings.HasPrefix(line, "attempt ") && strings.Contains(line, " failed: ") {
		t.add(step, "retry", attribute.String("message", t.e.mask.String(line)))
	}
}

// Wait is a poll: waiting for SSH, for a machine, for an until condition.
func (t *RunTrace) Wait(step, what string, elapsed time.Duration) {
	t.add(step, "poll", attribute.String("what", t.e.mask.String(what)), attribute.Float64("elapsed_s", elapsed.Seconds()))
}

// Transfer notes when a step's bytes started moving: its transfer span
// begins there.
func (t *RunTrace) Transfer(step, what string, done, total int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, seen := t.xfer[step]; !seen {
		t.xfer[step] = time.Now()
	}
}

// Warn is an event on the run's span.
func (t *RunTrace) Warn(msg string) {
	t.add("", "warning", attribute.String("message", t.e.mask.String(msg)))
}

// RunFinished makes the run's spans; the batcher exports them.
func (t *RunTrace) RunFinished(j *journal.Journal) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx := context.WithValue(context.Background(), traceIDKey{}, t.trace)
	if t.e.parent.IsValid() {
		ctx = trace.ContextWithRemoteSpanContext(ctx, t.e.parent)
	}
	ctx, root := t.e.tracer.Start(ctx, "scn run "+j.Scenario, trace.WithTimestamp(j.StartedAt), trace.WithAttributes(t.runAttrs(j)...))
	t.addEvents(root, "")
	if j.Status != journal.StatusPassed {
		root.SetStatus(codes.Error, t.e.mask.String(j.Error))
	}
	last := j.StartedAt
	for i := range j.Steps {
		last = t.stepSpan(ctx, j, &j.Steps[i], last)
	}
	for i := range j.Cleanup {
		t.undoSpan(ctx, &j.Cleanup[i])
	}
	root.End(trace.WithTimestamp(j.EndedAt))
}

func (t *RunTrace) runAttrs(j *journal.Journal) []attribute.KeyValue {
	a := []attribute.KeyValue{
		attribute.String("scn.scenario", j.Scenario), attribute.String("scn.file", j.File),
		attribute.String("scn.target", j.Target), attribute.String("scn.target_kind", j.TargetKind),
		attribute.String("scn.run_id", j.RunID), attribute.String("scn.status", j.Status),
		attribute.Int("scn.exit_code", j.ExitCode), attribute.Float64("scn.cost_usd", j.Cost.TotalUSD),
		attribute.Bool("scn.cost_simulated", j.Cost.Simulated),
	}
	if v := j.Validation; v != nil {
		a = append(a, attribute.Bool("scn.validation.success", v.Success), attribute.Int("scn.validation.valid", v.Valid),
			attribute.Int("scn.validation.total", v.Total), attribute.Int("scn.validation.missing", v.Missing),
			attribute.Int("scn.validation.mismatched", v.Mismatched))
	}
	return a
}

// stepSpan makes a step's span (with its transfers) and returns when it
// ended. A skipped step has no times: it gets an instant where the last
// one ended.
func (t *RunTrace) stepSpan(ctx context.Context, j *journal.Journal, s *journal.Step, last time.Time) time.Time {
	start, end := s.StartedAt, s.EndedAt
	if start.IsZero() {
		start = last
	}
	if end.IsZero() {
		end = start
	}
	name := s.Action
	if name == "" {
		name = s.Kind
	}
	a := []attribute.KeyValue{
		attribute.String("scn.step.id", s.ID), attribute.String("scn.step.action", s.Action),
		attribute.String("scn.step.section", s.Section), attribute.String("scn.step.status", s.Status),
		attribute.Int("scn.step.attempts", s.Attempts), attribute.Int("scn.step.line", s.Line),
	}
	if s.SkipReason != "" {
		a = append(a, attribute.String("scn.step.skip_reason", t.e.mask.String(s.SkipReason)))
	}
	a = append(a, t.outputAttrs(s.Outputs)...)
	ctx, span := t.e.tracer.Start(ctx, name+" "+s.ID, trace.WithTimestamp(start), trace.WithAttributes(a...))
	t.addEvents(span, s.ID)
	if s.Status == journal.StepFailed || s.Status == journal.StepCanceled {
		span.SetStatus(codes.Error, t.e.mask.String(s.Error))
	}
	for _, x := range j.Snapshots {
		if x.Step == s.ID {
			t.transferSpan(ctx, x, end)
		}
	}
	span.End(trace.WithTimestamp(end))
	return end
}

// transferSpan is one snapshot, restore or standby copy, under its step:
// it began at the step's first progress event when there was one, else it
// is placed at the end of the step.
func (t *RunTrace) transferSpan(ctx context.Context, x journal.Transfer, stepEnd time.Time) {
	d := time.Duration(x.Seconds * float64(time.Second))
	start, ok := t.xfer[x.Step]
	if !ok || start.Add(d).After(stepEnd) {
		start = stepEnd.Add(-d)
	}
	_, span := t.e.tracer.Start(ctx, "transfer "+x.Kind, trace.WithTimestamp(start), trace.WithAttributes(
		attribute.String("scn.transfer.kind", x.Kind), attribute.String("scn.transfer.id", t.e.mask.String(x.ID)),
		attribute.Int("scn.transfer.files", x.Files), attribute.Int64("scn.transfer.bytes_stream", x.BytesStream), attribute.Int64("scn.transfer.bytes_files", x.BytesFiles),
		attribute.Int64("scn.transfer.bytes_stored", x.BytesStored), attribute.Float64("scn.transfer.mb_per_s", x.MBPerSec),
		attribute.String("scn.transfer.via", x.Via), attribute.Int64("scn.transfer.scn_bytes", x.SCNBytes)))
	span.End(trace.WithTimestamp(start.Add(d)))
}

func (t *RunTrace) undoSpan(ctx context.Context, u *journal.Undo) {
	start := u.StartedAt
	_, span := t.e.tracer.Start(ctx, "undo "+u.Step, trace.WithTimestamp(start), trace.WithAttributes(
		attribute.String("scn.undo.step", u.Step), attribute.String("scn.undo.description", t.e.mask.String(u.Description)),
		attribute.String("scn.undo.resource", u.Resource), attribute.String("scn.undo.status", u.Status),
		attribute.Int("scn.undo.attempts", u.Attempts)))
	if u.Status == "failed" {
		span.SetStatus(codes.Error, t.e.mask.String(u.Error))
	}
	span.End(trace.WithTimestamp(start.Add(time.Duration(u.Seconds * float64(time.Second)))))
}

func (t *RunTrace) addEvents(span trace.Span, step string) {
	for _, ev := range t.events[step] {
		span.AddEvent(ev.name, trace.WithTimestamp(ev.at), trace.WithAttributes(ev.attrs...))
	}
}

// outputAttrs are a step's key figures: the scalar fields of its outputs
// (counts, bytes, ids, booleans), as scn.output.<name>. Lists and objects
// stay in the journal.
func (t *RunTrace) outputAttrs(outputs any) []attribute.KeyValue {
	if outputs == nil {
		return nil
	}
	b, err := json.Marshal(outputs)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	var a []attribute.KeyValue
	for k, v := range m {
		key := "scn.output." + k
		switch v := v.(type) {
		case float64:
			if v == float64(int64(v)) {
				a = append(a, attribute.Int64(key, int64(v)))
			} else {
				a = append(a, attribute.Float64(key, v))
			}
		case bool:
			a = append(a, attribute.Bool(key, v))
		case string:
			if len(v) <= 256 {
				a = append(a, attribute.String(key, t.e.mask.String(v)))
			}
		}
	}
	return a
}
