// Package notify tells a team's chat or incident tool that a drill ended:
// one JSON notice per scenario POSTed to each webhook given with --notify
// or SCN_NOTIFY. The notice carries the run's verdict and figures for
// machines, and a `text` (plus Slack blocks) that a Slack incoming webhook
// shows as a readable summary, so the same document works for Slack and
// for a generic receiver. Webhook URLs are secrets (Slack's carry a token
// in the path): a Sender names a webhook by its number and host only, and
// the caller adds the URLs to the run's masker. A webhook that fails is a
// warning, never a failed drill.
package notify

import (
	"fmt"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
)

// Notice is the JSON document POSTed when a scenario ends. Field names are
// a public format, documented in docs/notify.md.
type Notice struct {
	Scenario string  `json:"scenario"`
	Target   string  `json:"target"`
	RunID    string  `json:"run_id"`
	Status   string  `json:"status"` // passed | failed | interrupted | error
	ExitCode int     `json:"exit_code"`
	Seconds  float64 `json:"duration_seconds"`
	CostUSD  float64 `json:"cost_usd"`
	// CostSimulated: prices came from the local catalogue, nothing was paid.
	CostSimulated bool `json:"cost_simulated"`
	// CostEstimated: a price came from a built-in table or the store's
	// published rates, not the provider's bill (price_source in the journal).
	CostEstimated bool `json:"cost_estimated"`
	// Validation is the drill's verdict on the data; nil when the scenario
	// verifies nothing.
	Validation *Validation `json:"validation"`
	// Objectives are the scenario's objectives with their outcome; an empty
	// list (never null) when it declares none.
	Objectives []Objective `json:"objectives"`
	// FailedStep is the id of the step that failed the run, if one did.
	FailedStep string `json:"failed_step,omitempty"`
	Error      string `json:"error,omitempty"`
	// NegativeControl is set on a --negative-control run: the fault scn
	// injected and whether the drill saw it. Its status is the control's
	// (passed: detected), so the text says which it was.
	NegativeControl *Control `json:"negative_control,omitempty"`
	// TraceID is the run's OpenTelemetry trace (32 hex digits) when scn
	// exported one.
	TraceID string `json:"trace_id,omitempty"`
	// Text is a one-line summary, what Slack shows (and uses as the
	// notification text when Blocks are shown).
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks,omitempty"`
}

// Validation is the figure an on-call reader wants: how many files came
// back intact.
type Validation struct {
	Success bool `json:"success"`
	Valid   int  `json:"valid"`
	Total   int  `json:"total"`
}

// Objective is one of the scenario's objectives (a recovery-time or
// data-loss target) and how the run did against it.
type Objective struct {
	Name   string `json:"name"`
	Status string `json:"status"`           // met | missed | unknown
	Detail string `json:"detail,omitempty"` // e.g. "metrics.mttr_seconds = 131.2"
}

// Control is a negative control's verdict, as in the journal.
type Control struct {
	Kind       string `json:"kind"`
	Verdict    string `json:"verdict"`               // detected | exposed | error
	DetectedAt string `json:"detected_at,omitempty"` // the step (or objective:<name>) that saw it
}

// Block is a Slack Block Kit block; only the kinds the notice uses.
type Block struct {
	Type string     `json:"type"` // section | context
	Text *TextBlock `json:"text,omitempty"`
	// Elements are a context block's small lines.
	Elements []TextBlock `json:"elements,omitempty"`
}

// TextBlock is a Block Kit text object.
type TextBlock struct {
	Type string `json:"type"` // mrkdwn
	Text string `json:"text"`
}

// FromJournal builds the notice of a finished run: the journal's figures,
// one entry per objective with its status and the values it read.
func FromJournal(j *journal.Journal) Notice {
	n := Notice{
		Scenario: j.Scenario, Target: j.Target, RunID: j.RunID, Status: j.Status, ExitCode: j.ExitCode,
		Seconds: j.Seconds, CostUSD: j.Cost.TotalUSD, CostSimulated: j.Cost.Simulated,
		CostEstimated: j.Cost.Estimated, Objectives: []Objective{}, Error: j.Error, TraceID: j.TraceID,
	}
	for _, o := range j.Objectives {
		detail := strings.TrimPrefix(o.Line(), fmt.Sprintf("objective %s %s: ", o.Name, o.Status))
		n.Objectives = append(n.Objectives, Objective{Name: o.Name, Status: o.Status, Detail: detail})
	}
	if c := j.NegativeControl; c != nil {
		n.NegativeControl = &Control{Kind: c.Kind, Verdict: c.Verdict, DetectedAt: c.DetectedAt}
	}
	if v := j.Validation; v != nil {
		n.Validation = &Validation{Success: v.Success, Valid: v.Valid, Total: v.Total}
	}
	if s := j.FailingStep(); s != nil {
		n.FailedStep = s.ID
		if n.Error == "" {
			n.Error = s.Error
		}
	}
	n.Summarize()
	return n
}

// Summarize (re)writes Text and Blocks from the fields: call it after
// changing them (filling Objectives).
func (n *Notice) Summarize() {
	n.Text = n.summary()
	n.Blocks = n.blocks()
}

// summary is the one line a chat shows:
// "✅ scn realtime-sync passed on local in 42s · $0.01 (simulated) · 3/3 files valid · run 20261205-…".
func (n Notice) summary() string {
	icon := map[string]string{journal.StatusPassed: "✅", journal.StatusFailed: "❌", journal.StatusInterrupted: "⚠️"}[n.Status]
	if icon == "" {
		icon = "❗"
	}
	what := n.Scenario
	if c := n.NegativeControl; c != nil {
		// "passed" alone would read as a drill that passed with a fault in it.
		what = fmt.Sprintf("%s negative control %s: fault %s, control", n.Scenario, c.Kind, c.Verdict)
		if c.DetectedAt != "" {
			what = fmt.Sprintf("%s negative control %s: fault detected at %s, control", n.Scenario, c.Kind, c.DetectedAt)
		}
	}
	parts := []string{fmt.Sprintf("%s scn %s %s on %s in %s", icon, what, n.Status, n.Target, seconds(n.Seconds))}
	cost := fmt.Sprintf("$%.2f", n.CostUSD)
	if n.CostSimulated {
		cost += " (simulated)"
	}
	parts = append(parts, cost)
	if v := n.Validation; v != nil {
		parts = append(parts, fmt.Sprintf("%d/%d files valid", v.Valid, v.Total))
	}
	if len(n.Objectives) > 0 {
		met := 0
		for _, o := range n.Objectives {
			if o.Status == "met" {
				met++
			}
		}
		parts = append(parts, fmt.Sprintf("%d/%d objectives met", met, len(n.Objectives)))
	}
	if n.FailedStep != "" {
		parts = append(parts, "failed at step "+n.FailedStep+": "+oneLine(n.Error, 200))
	} else if n.Error != "" {
		parts = append(parts, oneLine(n.Error, 200))
	}
	parts = append(parts, "run "+n.RunID)
	return strings.Join(parts, " · ")
}

func (n Notice) blocks() []Block {
	ctx := []TextBlock{{Type: "mrkdwn", Text: fmt.Sprintf("run `%s` · exit %d", n.RunID, n.ExitCode)}}
	if n.TraceID != "" {
		ctx = append(ctx, TextBlock{Type: "mrkdwn", Text: "trace `" + n.TraceID + "`"})
	}
	return []Block{
		{Type: "section", Text: &TextBlock{Type: "mrkdwn", Text: n.Text}},
		{Type: "context", Elements: ctx},
	}
}

// seconds renders a duration the way the console does for humans.
func seconds(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.0fs", s)
	}
	return fmt.Sprintf("%dm%02ds", int(s)/60, int(s)%60)
}

// oneLine keeps the first line of s, cut to max runes: a chat line, not a
// stack of output.
func oneLine(s string, max int) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
