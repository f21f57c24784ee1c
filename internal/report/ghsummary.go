package report

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/markdown"
	"github.com/scnlabs/scn/internal/plural"
)

// AppendGitHubSummary appends a Markdown summary of the runs to path (the
// file named by GITHUB_STEP_SUMMARY): a table of the drills with status,
// time, cost, validation and MTTR, then per run its phases, and for a
// failed run the failing step with its error and expectation values, the
// files that did not come back, failed cleanup and anything left behind.
// artifactsHint, Markdown (e.g. "HTML reports: artifact `scn-runs`"), ends
// it when set.
func AppendGitHubSummary(path string, journals []*journal.Journal, artifactsHint string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("github summary: %w", err)
	}
	if err := writeGitHubSummary(f, journals, artifactsHint); err != nil {
		f.Close()
		return fmt.Errorf("github summary %s: %w", path, err)
	}
	return f.Close()
}

func writeGitHubSummary(w io.Writer, journals []*journal.Journal, hint string) error {
	var b strings.Builder
	failed := 0
	for _, j := range journals {
		if j.Status != journal.StatusPassed {
			failed++
		}
	}
	icon, head := "✅", fmt.Sprintf("%s passed", plural.Of(len(journals), "drill", "drills"))
	if failed > 0 {
		icon, head = "❌", fmt.Sprintf("%d of %s failed", failed, plural.Of(len(journals), "drill", "drills"))
	}
	fmt.Fprintf(&b, "## %s scn: %s\n\n", icon, head)
	b.WriteString("| | Scenario | Target | Time | Cost | Files | MTTR | Run |\n|:-:|---|---|--:|--:|--:|--:|---|\n")
	for _, j := range journals {
		cost := CostText(j.Cost)
		files, mttr := dash(validationText(j.Validation)), "—"
		if j.Standby != nil && j.Standby.MTTRSeconds > 0 {
			mttr = fmtSecs(j.Standby.MTTRSeconds)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", statusIcon(j), markdown.Text(j.Scenario), markdown.Text(j.Target),
			fmtSecs(j.Seconds), cost, files, mttr, markdown.Code(j.RunID))
	}
	for _, j := range journals {
		writeGitHubRun(&b, j)
	}
	if hint != "" {
		fmt.Fprintf(&b, "\n📦 %s\n", hint)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeGitHubRun(b *strings.Builder, j *journal.Journal) {
	fmt.Fprintf(b, "\n### %s %s · %s\n\n", statusIcon(j), markdown.Text(j.Scenario), markdown.Code(j.RunID))
	if j.TraceID != "" {
		fmt.Fprintf(b, "trace %s\n\n", markdown.Code(j.TraceID))
	}
	if j.Status != journal.StatusPassed {
		if s := failingStep(j); s != nil {
			action := ""
			if s.Action != "" {
				action = markdown.Code(s.Action) + ", "
			}
			fmt.Fprintf(b, "**%s step %s** (%sline %d, after %s)\n\n", strings.ToUpper(s.Status[:1])+s.Status[1:], markdown.Code(stepLabel(s)), action, s.Line, fmtSecs(s.Seconds))
			b.WriteString(markdown.Block(strings.Join(stepErrorLines(s), "\n")))
		} else if j.Error != "" {
			b.WriteString(markdown.Block(j.Error))
		}
	}
	if v := j.Validation; v != nil && len(v.Failures) > 0 {
		fmt.Fprintf(b, "Files validated: **%s**\n\n", validationText(v))
		for _, f := range v.Failures {
			fmt.Fprintf(b, "- ✗ %s %s", problemText(f.Problem), markdown.Code(f.Path))
			if f.Problem == "mismatch" {
				fmt.Fprintf(b, " — expected %s, got %s", markdown.Code(f.Expected), markdown.Code(f.Got))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	for _, u := range j.Cleanup {
		if u.Status == "failed" {
			fmt.Fprintf(b, "- ✗ cleanup: %s: %s\n", markdown.Text(u.Description), markdown.Code(u.Error))
		}
	}
	for _, r := range leaked(j) {
		fmt.Fprintf(b, "- ⚠️ %s %s (%s) is %s: run `scn cleanup`\n", r.Kind, markdown.Code(r.ID), markdown.Text(r.Provider), r.State)
	}
	writeGitHubChecks(b, j)
	if nc := j.NegativeControl; nc != nil {
		at := ""
		if nc.DetectedAt != "" {
			at = " at step " + markdown.Code(nc.DetectedAt)
		}
		fmt.Fprintf(b, "\nNegative control %s: **%s**%s\n", markdown.Code(nc.Kind), nc.Verdict, at)
	}
	if len(j.Objectives) > 0 {
		b.WriteString("\n")
		for _, o := range j.Objectives {
			fmt.Fprintf(b, "- %s %s\n", objectiveMark[o.Status], markdown.Text(strings.TrimPrefix(o.Line(), "objective ")))
		}
	}
	if len(j.Phases) > 0 {
		if !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "<details><summary>Journey: %s</summary>\n\n| Phase | Seconds | Steps |\n|---|--:|---|\n", phaseLine(j))
		for _, p := range j.Phases {
			fmt.Fprintf(b, "| %s | %.1f | %s |\n", markdown.Text(p.Name), p.Seconds, markdown.Text(strings.Join(p.Steps, ", ")))
		}
		fmt.Fprintf(b, "| **total** | **%.1f** | |\n\n</details>\n", j.Seconds)
	}
}

// writeGitHubChecks lists, folded, the checks that held with their
// values: what the run proved ("✓ valid == vars.file_count (3 == 3)").
func writeGitHubChecks(b *strings.Builder, j *journal.Journal) {
	var lines []string
	for i := range j.Steps {
		for _, e := range j.Steps[i].Expectations {
			if e.OK {
				lines = append(lines, fmt.Sprintf("- ✓ %s %s", markdown.Code(j.Steps[i].ID), markdown.Code(passedLine(e))))
			}
		}
	}
	if len(lines) == 0 {
		return
	}
	if !strings.HasSuffix(b.String(), "\n\n") {
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "<details><summary>What it proved: %s held</summary>\n\n%s\n\n</details>\n", plural.Of(len(lines), "check", "checks"), strings.Join(lines, "\n"))
}

// phaseLine is "provision 21.8s · create_files 1.1s · ... · total 52.7s".
func phaseLine(j *journal.Journal) string {
	var parts []string
	for _, p := range j.Phases {
		parts = append(parts, markdown.Text(p.Name)+" "+fmtSecs(p.Seconds))
	}
	return strings.Join(append(parts, "total "+fmtSecs(j.Seconds)), " · ")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
