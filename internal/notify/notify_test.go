package notify

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/secret"
)

// hook is a local webhook: it answers each POST with the next status of
// its script (200 once the script runs out) and keeps the bodies.
type hook struct {
	mu     sync.Mutex
	script []int
	bodies [][]byte
	types  []string
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.bodies = append(h.bodies, b)
	h.types = append(h.types, r.Header.Get("Content-Type"))
	code := http.StatusOK
	if len(h.script) > 0 {
		code, h.script = h.script[0], h.script[1:]
	}
	if code == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(code)
	if code != http.StatusOK {
		io.WriteString(w, "invalid_token")
	}
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.bodies)
}

const token = "T000/B000/XXXXsecrettoken" // what a Slack webhook path carries

func serve(t *testing.T, h *hook) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/services/" + token
}

func failedJournal() *journal.Journal {
	return &journal.Journal{
		RunID: "20261205-070000-ab12", Scenario: "realtime-sync", Target: "vast", Status: journal.StatusFailed, ExitCode: 1,
		Seconds: 125, TraceID: "0af7651916cd43dd8448eb211c80319c", Cost: journal.Cost{TotalUSD: 0.0312},
		Validation: &journal.Validation{Step: "verify", Total: 3, Valid: 2, Missing: 1},
		Steps: []journal.Step{
			{ID: "gpu", Status: journal.StepPassed},
			{ID: "probe", Status: journal.StepFailed, ContinueOnError: true, Error: "ignored"},
			{ID: "snap", Status: journal.StepFailed, Error: "upload: key hunter2 refused\nmore"},
		},
	}
}

type warnings struct {
	mu    sync.Mutex
	lines []string
}

func (w *warnings) add(s string) { w.mu.Lock(); w.lines = append(w.lines, s); w.mu.Unlock() }

func sender(urls []string, w *warnings) *Sender {
	m := secret.New("hunter2")
	m.Add(urls...)
	return &Sender{URLs: urls, Mask: m, Warn: w.add, FirstBackoff: time.Millisecond, Timeout: 5 * time.Second}
}

func TestNoticeOfAFailedRun(t *testing.T) {
	h := &hook{}
	var w warnings
	s := sender([]string{serve(t, h)}, &w)
	if got := s.Send(context.Background(), FromJournal(failedJournal())); got != 1 {
		t.Fatalf("Send = %d webhooks, want 1; warnings %q", got, w.lines)
	}
	if h.types[0] != "application/json" {
		t.Errorf("Content-Type %q", h.types[0])
	}
	var n map[string]any
	if err := json.Unmarshal(h.bodies[0], &n); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, h.bodies[0])
	}
	want := map[string]any{"scenario": "realtime-sync", "target": "vast", "run_id": "20261205-070000-ab12", "status": "failed",
		"exit_code": 1.0, "duration_seconds": 125.0, "cost_usd": 0.0312, "cost_simulated": false, "failed_step": "snap",
		"trace_id": "0af7651916cd43dd8448eb211c80319c"}
	for k, v := range want {
		if n[k] != v {
			t.Errorf("%s = %v, want %v", k, n[k], v)
		}
	}
	if obj, ok := n["objectives"].([]any); !ok || len(obj) != 0 {
		t.Errorf("objectives = %#v, want an empty list", n["objectives"])
	}
	if v := n["validation"].(map[string]any); v["valid"] != 2.0 || v["total"] != 3.0 || v["success"] != false {
		t.Errorf("validation = %v", v)
	}
	text := n["text"].(string)
	for _, part := range []string{"❌ scn realtime-sync failed on vast in 2m05s", "$0.03", "2/3 files valid", "failed at step snap: upload: key *** refused", "run 20261205-070000-ab12"} {
		if !strings.Contains(text, part) {
			t.Errorf("text %q lacks %q", text, part)
		}
	}
	if strings.Contains(string(h.bodies[0]), "hunter2") || strings.Contains(text, "more") {
		t.Errorf("body leaks a secret or a second error line:\n%s", h.bodies[0])
	}
	if len(w.lines) != 0 {
		t.Errorf("warnings for a webhook that took the notice: %q", w.lines)
	}
}

func TestRetriesThenDelivers(t *testing.T) {
	h := &hook{script: []int{500, 429}}
	var w warnings
	s := sender([]string{serve(t, h)}, &w)
	j := failedJournal()
	j.Status, j.ExitCode, j.Steps, j.Validation = journal.StatusPassed, 0, nil, nil
	if got := s.Send(context.Background(), FromJournal(j)); got != 1 || h.count() != 3 {
		t.Fatalf("Send = %d after %d posts, want 1 after 3 (500, 429, 200); warnings %q", got, h.count(), w.lines)
	}
	var n Notice
	json.Unmarshal(h.bodies[2], &n)
	if !strings.HasPrefix(n.Text, "✅ scn realtime-sync passed") || n.FailedStep != "" || n.Validation != nil {
		t.Errorf("notice of a passed run: %+v", n)
	}
}

// A failing webhook is one warning with its status and host, never the
// URL's token; a 4xx is not retried, a 5xx is, a bounded number of times.
func TestFailingWebhooksWarnWithoutTheirURL(t *testing.T) {
	gone, broken := &hook{script: []int{404}}, &hook{script: []int{502, 502, 502, 502}}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String() + "/services/" + token
	l.Close()
	ok := &hook{}
	var w warnings
	s := sender([]string{serve(t, gone), serve(t, broken), dead, serve(t, ok)}, &w)
	if got := s.Send(context.Background(), FromJournal(failedJournal())); got != 1 {
		t.Fatalf("Send = %d, want 1 (only the last webhook works)", got)
	}
	if gone.count() != 1 || broken.count() != DefaultTries || ok.count() != 1 {
		t.Errorf("posts: 404 hook %d (want 1), 502 hook %d (want %d), good hook %d (want 1)", gone.count(), broken.count(), DefaultTries, ok.count())
	}
	if len(w.lines) != 3 {
		t.Fatalf("want 3 warnings, got %q", w.lines)
	}
	for i, want := range []string{"webhook 1 (127.0.0.1) failed: HTTP 404 Not Found: invalid_token", "webhook 2 (127.0.0.1) failed: HTTP 502 Bad Gateway: invalid_token (after 3 tries)", "webhook 3 (127.0.0.1) failed: "} {
		if !strings.Contains(w.lines[i], want) {
			t.Errorf("warning %d = %q, want it to contain %q", i+1, w.lines[i], want)
		}
	}
	for _, line := range w.lines {
		if strings.Contains(line, "secrettoken") || strings.Contains(line, "/services/") {
			t.Errorf("warning shows the webhook URL: %q", line)
		}
	}
}

func TestCheckNamesTheWebhookNotItsURL(t *testing.T) {
	if err := Check([]string{"https://hooks.slack.com/services/" + token}); err != nil {
		t.Fatal(err)
	}
	err := Check([]string{"https://ok.example/x", "hooks.slack.com/services/" + token})
	if err == nil || !strings.Contains(err.Error(), "webhook 2") || strings.Contains(err.Error(), "secrettoken") {
		t.Fatalf("Check = %v, want an error naming webhook 2 without its URL", err)
	}
}

func TestObjectivesInTheSummary(t *testing.T) {
	n := FromJournal(failedJournal())
	if strings.Contains(n.Text, "objectives") {
		t.Errorf("a run without objectives mentions them: %q", n.Text)
	}
	n.Objectives = []Objective{{Name: "rto", Status: "met"}, {Name: "rpo", Status: "missed", Detail: "metrics.data_at_risk_seconds = 90"}}
	n.Summarize()
	if !strings.Contains(n.Text, "2/3 files valid · 1/2 objectives met") || n.Blocks[0].Text.Text != n.Text {
		t.Errorf("text %q, blocks %+v", n.Text, n.Blocks[0].Text)
	}
}

// A notice carries the journal's objectives, each with the values it
// read, and the summary counts them.
func TestNoticeCarriesTheJournalsObjectives(t *testing.T) {
	j := failedJournal()
	j.Objectives = []journal.Objective{
		{Name: "rto", Expr: "metrics.mttr_seconds <= 120", Status: "missed", Values: []journal.SubValue{{Expr: "metrics.mttr_seconds", Value: "131.2"}}},
		{Name: "spend", Expr: "cost_usd < 0.5", Status: "met", Values: []journal.SubValue{{Expr: "cost_usd", Value: "0.2"}}},
	}
	n := FromJournal(j)
	want := []Objective{{Name: "rto", Status: "missed", Detail: "metrics.mttr_seconds = 131.2"}, {Name: "spend", Status: "met", Detail: "cost_usd = 0.2"}}
	if len(n.Objectives) != 2 || n.Objectives[0] != want[0] || n.Objectives[1] != want[1] {
		t.Fatalf("objectives = %+v, want %+v", n.Objectives, want)
	}
	if !strings.Contains(n.Text, "1/2 objectives met") {
		t.Errorf("text %q does not count the objectives", n.Text)
	}
}

// A negative control's notice says it was one, and what the drill did
// with the fault: its status alone ("passed") would read as a drill that
// passed with a fault injected.
func TestNoticeOfANegativeControl(t *testing.T) {
	j := failedJournal()
	j.Status, j.ExitCode = journal.StatusPassed, 0
	j.NegativeControl = &journal.NegativeControl{Kind: "corrupt-file", Verdict: journal.ControlDetected, DetectedAt: "verify"}
	n := FromJournal(j)
	if n.NegativeControl == nil || *n.NegativeControl != (Control{Kind: "corrupt-file", Verdict: "detected", DetectedAt: "verify"}) {
		t.Fatalf("negative_control = %+v", n.NegativeControl)
	}
	if !strings.Contains(n.Text, "negative control corrupt-file: fault detected at verify, control passed") {
		t.Errorf("text %q does not say it was a control and what it found", n.Text)
	}
	j.NegativeControl = &journal.NegativeControl{Kind: "corrupt-file", Verdict: journal.ControlExposed}
	j.Status, j.ExitCode = journal.StatusFailed, 1
	if n := FromJournal(j); !strings.Contains(n.Text, "negative control corrupt-file: fault exposed, control failed") {
		t.Errorf("text %q does not say the fault went unseen", n.Text)
	}
	if n := FromJournal(failedJournal()); n.NegativeControl != nil || strings.Contains(n.Text, "control") {
		t.Errorf("a plain run reads as a control: %q", n.Text)
	}
}
