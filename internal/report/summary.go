package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
)

const rule = "════════════════════════════════════════════════════════════════════════"

// WriteSummary writes the closing report of a run: journey phases, the
// resources with their cost, snapshot throughput, validation, standby
// figures, cleanup and the verdict with the failing step. With
// opts.Quiet only the verdict (and what failed) is written; opts.Verbose
// adds the scenario's vars. Colour follows opts.Color.
func WriteSummary(w io.Writer, j *journal.Journal, opts Options) error {
	p := palette{opts.Color}
	var b strings.Builder
	if !opts.Quiet {
		writeHeader(&b, p, j)
		if opts.Verbose && len(j.Vars) > 0 {
			section(&b, p, "Vars")
			b.WriteString(kvTable(j.Vars))
		}
		writePhases(&b, p, j)
		writeResources(&b, p, j)
		writeTransfers(&b, p, j)
		writeValidation(&b, p, j.Validation)
		writeStandby(&b, p, j.Standby)
		writeRecovery(&b, p, j.Recovery)
		writeObjectives(&b, p, j)
		writeCleanup(&b, p, j)
		if len(j.Metrics) > 0 {
			section(&b, p, "Metrics")
			b.WriteString(metricTable(j.Metrics))
		}
		b.WriteString("\n" + p.dim(rule) + "\n")
	}
	writeVerdict(&b, p, j)
	if !opts.Quiet {
		b.WriteString(p.dim(rule) + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func section(b *strings.Builder, p palette, title string) {
	b.WriteString("\n" + p.bold(title) + "\n")
}

func writeHeader(b *strings.Builder, p palette, j *journal.Journal) {
	b.WriteString(p.dim(rule) + "\n")
	fmt.Fprintf(b, "%s  %s\n", p.badge(Verdict(j)), p.bold(j.Scenario))
	if j.Description != "" {
		fmt.Fprintf(b, "      %s\n", j.Description)
	}
	fmt.Fprintf(b, "      %s\n", p.dim(fmt.Sprintf("run %s · target %s (%s) · %s",
		j.RunID, j.Target, j.TargetKind, j.StartedAt.UTC().Format("2006-01-02 15:04:05 MST"))))
	if j.TraceID != "" {
		fmt.Fprintf(b, "      %s\n", p.dim("trace "+j.TraceID))
	}
	b.WriteString(p.dim(rule) + "\n")
}

func writePhases(b *strings.Builder, p palette, j *journal.Journal) {
	section(b, p, "Journey")
	t := &table{indent: "  ", right: map[int]bool{2: true}}
	for i, ph := range j.Phases {
		t.add(fmt.Sprintf("%d.", i+1), ph.Name, fmt.Sprintf("%.1fs", ph.Seconds), p.dim(strings.Join(ph.Steps, ", ")))
	}
	human := ""
	if j.Seconds >= 60 {
		human = fmtSecs(j.Seconds) + ", "
	}
	t.add("", p.bold("TOTAL"), p.bold(fmt.Sprintf("%.1fs", j.Seconds)), p.dim("("+human+"wall clock: all steps and the cleanup)"))
	b.WriteString(t.String())
}

func writeResources(b *strings.Builder, p palette, j *journal.Journal) {
	if len(j.Resources) == 0 {
		return
	}
	section(b, p, "Resources and cost")
	t := &table{indent: "  ", right: map[int]bool{3: true, 4: true, 5: true}}
	t.add(p.dim("KIND"), p.dim("ID"), p.dim("DETAIL"), p.dim("LIFETIME"), p.dim("$/H"), p.dim("COST"), p.dim("STATE"))
	for _, r := range j.Resources {
		price, cost := "-", "-"
		if r.PricePerHour > 0 {
			price = fmt.Sprintf("%.4f", r.PricePerHour)
		}
		if r.PricePerHour > 0 || r.CostUSD > 0 { // traffic alone is a cost too
			cost = fmtUSD(r.CostUSD)
		}
		state := r.State
		if note := priceNote(r); note != "" {
			state += " (" + note + ")"
		}
		if r.State == "leaked" || r.State == "alive" {
			state = p.red(state)
		}
		t.add(r.Kind, r.ID, ellipsis(r.Detail, 28), fmtSecs(r.LifetimeSeconds), price, cost, state)
	}
	b.WriteString(t.String())
	for _, r := range j.Resources {
		if bw := r.Bandwidth; bw != nil {
			prices := "its offer's per-GB prices"
			if bw.Estimated {
				prices = "scn's estimate of its per-GB prices (" + estimateSource(bw.PriceSource) + ")"
			}
			fmt.Fprintf(b, "  %s %s's cost includes %s of traffic: %s sent, %s received, at %s (the run's transfers only)\n",
				r.Kind, r.ID, fmtUSD(bw.USD), fmtBytes(bw.SentBytes), fmtBytes(bw.ReceivedBytes), prices)
		}
	}
	fmt.Fprintf(b, "  Total cost %s · peak %s/h\n", p.bold(CostText(j.Cost)), fmtUSD(j.Cost.PeakPerHour))
}

// estimateSource is where an estimated price comes from, without the
// "estimated: " its source starts with (the reports say estimate already).
func estimateSource(source string) string { return strings.TrimPrefix(source, "estimated: ") }

func writeTransfers(b *strings.Builder, p palette, j *journal.Journal) {
	if len(j.Snapshots) == 0 {
		return
	}
	section(b, p, "Snapshots and transfers")
	t := &table{indent: "  ", right: map[int]bool{2: true, 3: true, 4: true, 5: true, 6: true}}
	t.add(p.dim("KIND"), p.dim("ID"), p.dim("FILES"), p.dim("SIZE"), p.dim("STORED"), p.dim("TIME"), p.dim("THROUGHPUT"), p.dim("VIA"))
	for _, x := range j.Snapshots {
		stored := "-"
		if x.BytesStored > 0 {
			stored = fmt.Sprintf("%s (%.2f×)", fmtBytes(x.BytesStored), x.Ratio)
		}
		t.add(x.Kind, x.ID, fmt.Sprint(x.Files), fmtBytes(x.BytesStream), stored, fmtSecs(x.Seconds), fmtRate(x.MBPerSec), fmtVia(x))
	}
	b.WriteString(t.String())
}

func writeValidation(b *strings.Builder, p palette, v *journal.Validation) {
	if v == nil {
		return
	}
	section(b, p, "Validation")
	fmt.Fprintf(b, "  Files validated: %s (%.1f%%) by step %s\n", p.bold(validationText(v)), validationRate(v), v.Step)
	if v.Success {
		fmt.Fprintf(b, "  %s every file came back with its MD5\n", p.green("✓ Valid"))
		return
	}
	for _, f := range v.Failures {
		fmt.Fprintf(b, "  %s  %s\n", p.red("✗ "+problemText(f.Problem)), f.Path)
		if f.Expected != "" && f.Problem != "missing" {
			fmt.Fprintf(b, "     Expected: %s\n     Got:      %s\n", f.Expected, f.Got)
		}
	}
	if len(v.Failures) == 0 {
		fmt.Fprintf(b, "  %s %s\n", p.red("✗"), validationProblem(v))
	}
}

func writeStandby(b *strings.Builder, p palette, s *journal.Standby) {
	if s == nil {
		return
	}
	section(b, p, fmt.Sprintf("Standby %s (%s, %s)", s.ID, s.State, plural.Count(s.SyncCount, "sync")))
	t := &table{indent: "  ", right: map[int]bool{1: true}}
	t.add("Detection time", fmtSecsLong(s.DetectionSeconds), p.dim("from the GPU's failure to its detection"))
	t.add("MTTR", p.bold(fmtSecsLong(s.MTTRSeconds)), p.dim("from the failure detected to the workspace back on a GPU"))
	t.add("Data at risk", fmtSecsLong(s.DataAtRiskSeconds), p.dim("writes since the last good sync"))
	lost := fmt.Sprint(s.LostFiles)
	if s.LostFiles > 0 {
		lost = p.red(lost)
	}
	t.add("Lost files", lost, "")
	b.WriteString(t.String())
	if s.Error != "" {
		fmt.Fprintf(b, "  %s %s\n", p.red("standby error:"), s.Error)
	}
}

// ellipsis cuts s to n runes, marking the cut: a table cell stays narrow.
func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// fmtSecsLong is "143.0s (2m23s)" past a minute, else "31.2s".
func fmtSecsLong(s float64) string {
	if s < 60 {
		return fmt.Sprintf("%.1fs", s)
	}
	return fmt.Sprintf("%.1fs (%s)", s, fmtSecs(s))
}

func writeCleanup(b *strings.Builder, p palette, j *journal.Journal) {
	if len(j.Cleanup) == 0 && len(leaked(j)) == 0 {
		return
	}
	section(b, p, fmt.Sprintf("Cleanup (%d/%d undone)", len(j.Cleanup)-failedUndos(j), len(j.Cleanup)))
	width := 0
	for _, u := range j.Cleanup {
		width = max(width, visibleLen(u.Description))
	}
	for _, u := range j.Cleanup {
		mark := map[string]string{"done": "✓", "failed": "✗", "kept": "─"}[u.Status]
		pad := strings.Repeat(" ", width-visibleLen(u.Description))
		fmt.Fprintf(b, "  %s %s%s  %6s  %s\n", p.status(mark), u.Description, pad, fmtSecs(u.Seconds), p.dim(u.Status))
		if u.Error != "" {
			fmt.Fprintf(b, "      %s\n", p.red(u.Error))
		}
	}
	for _, r := range leaked(j) {
		fmt.Fprintf(b, "  %s %s %s (%s) is %s: run `scn cleanup`\n", p.red("!"), r.Kind, r.ID, r.Provider, r.State)
	}
}

// writeVerdict is the last word: PASS with the figures, or what failed.
func writeVerdict(b *strings.Builder, p palette, j *journal.Journal) {
	figures := []string{fmtSecs(j.Seconds), CostText(j.Cost)}
	if v := j.Validation; v != nil {
		figures = append(figures, validationText(v)+" files valid")
	}
	if s := j.Standby; s != nil && s.MTTRSeconds > 0 {
		figures = append(figures, "MTTR "+fmtSecs(s.MTTRSeconds))
	}
	fmt.Fprintf(b, "%s  %s · %s\n", p.badge(Verdict(j)), p.bold(j.Scenario), strings.Join(figures, " · "))
	writeControl(b, p, j)
	if j.Status == journal.StatusPassed {
		return
	}
	if s := failingStep(j); s != nil {
		fmt.Fprintf(b, "      %s %s after %s\n", s.Status, p.bold("step "+stepLabel(s)), fmtSecs(s.Seconds))
		for _, l := range stepErrorLines(s) {
			fmt.Fprintf(b, "      %s\n", l)
		}
	} else if j.Error != "" {
		fmt.Fprintf(b, "      %s\n", p.red(j.Error))
	}
	if n := failedUndos(j); n > 0 {
		fmt.Fprintf(b, "      %s\n", p.red(plural.Of(n, "cleanup action failed", "cleanup actions failed")))
	}
}

// stepErrorLines is a failed step's error and its failed expectations.
func stepErrorLines(s *journal.Step) []string {
	var out []string
	if s.Error != "" {
		out = append(out, indentLines("", s.Error)...)
	}
	for _, e := range failedExpectations(s) {
		out = append(out, expectationLines(e)...)
	}
	return out
}

// kvTable lists a map sorted by key, values as compact JSON.
func kvTable(m map[string]any) string {
	t := &table{indent: "  "}
	for _, kv := range keyValues(m) {
		t.add(kv.Key, kv.Value)
	}
	return t.String()
}

// metricTable lists the scenario's metrics sorted by name, numbers rounded
// (metricValues).
func metricTable(m map[string]any) string {
	t := &table{indent: "  "}
	for _, kv := range metricValues(m) {
		t.add(kv.Key, kv.Value)
	}
	return t.String()
}

// compactJSON renders a value on one line; strings stay unquoted.
func compactJSON(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if t, ok := v.(time.Time); ok {
		return t.Format(time.RFC3339)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
