package report

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
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
	icon, head := "✅", fmt.Sprintf("%s passed", plural(len(journals), "drill", "drills"))
	if failed > 0 {
		icon, head = "❌", fmt.Sprintf("%d of %s failed", failed, plural(len(journals), "drill", "drills"))
	}
	fmt.Fprintf(&b, "## %s scn: %s\n\n", icon, head)
	b.WriteString("| | Scenario | Target | Time | Cost | Files | MTTR | Run |\n|:-:|---|---|--:|--:|--:|--:|---|\n")
	for _, j := range journals {
		cost := fmtUSD(j.Cost.TotalUSD)
		if j.Cost.Simulated {
			cost += " (simulated)"
		}
		files, mttr := dash(validationText(j.Validation)), "—"
		if j.Standby != nil && j.Standby.MTTRSeconds > 0 {
			mttr = fmtSecs(j.Standby.MTTRSeconds)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", statusIcon(j), mdText(j.Scenario), mdText(j.Target),
			fmtSecs(j.Seconds), cost, files, mttr, mdCode(j.RunID))
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
	fmt.Fprintf(b, "\n### %s %s · %s\n\n", statusIcon(j), mdText(j.Scenario), mdCode(j.RunID))
	if j.TraceID != "" {
		fmt.Fprintf(b, "trace %s\n\n", mdCode(j.TraceID))
	}
	if j.Status != journal.StatusPassed {
		if s := failingStep(j); s != nil {
			action := ""
			if s.Action != "" {
				action = mdCode(s.Action) + ", "
			}
			fmt.Fprintf(b, "**%s step %s** (%sline %d, after %s)\n\n", strings.ToUpper(s.Status[:1])+s.Status[1:], mdCode(stepLabel(s)), action, s.Line, fmtSecs(s.Seconds))
			b.WriteString(mdBlock(strings.Join(stepErrorLines(s), "\n")))
		} else if j.Error != "" {
			b.WriteString(mdBlock(j.Error))
		}
	}
	if v := j.Validation; v != nil && len(v.Failures) > 0 {
		fmt.Fprintf(b, "Files validated: **%s**\n\n", validationText(v))
		for _, f := range v.Failures {
			fmt.Fprintf(b, "- ✗ %s %s", problemText(f.Problem), mdCode(f.Path))
			if f.Problem == "mismatch" {
				fmt.Fprintf(b, " — expected %s, got %s", mdCode(f.Expected), mdCode(f.Got))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	for _, u := range j.Cleanup {
		if u.Status == "failed" {
			fmt.Fprintf(b, "- ✗ cleanup: %s: %s\n", mdText(u.Description), mdCode(u.Error))
		}
	}
	for _, r := range leaked(j) {
		fmt.Fprintf(b, "- ⚠️ %s %s (%s) is %s: run `scn cleanup`\n", r.Kind, mdCode(r.ID), mdText(r.Provider), r.State)
	}
	if len(j.Phases) > 0 {
		if !strings.HasSuffix(b.String(), "\n\n") {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "<details><summary>Journey: %s</summary>\n\n| Phase | Seconds | Steps |\n|---|--:|---|\n", phaseLine(j))
		for _, p := range j.Phases {
			fmt.Fprintf(b, "| %s | %.1f | %s |\n", mdText(p.Name), p.Seconds, mdText(strings.Join(p.Steps, ", ")))
		}
		fmt.Fprintf(b, "| **total** | **%.1f** | |\n\n</details>\n", j.Seconds)
	}
}

// phaseLine is "provision 21.8s · create_files 1.1s · ... · total 52.7s".
func phaseLine(j *journal.Journal) string {
	var parts []string
	for _, p := range j.Phases {
		parts = append(parts, mdText(p.Name)+" "+fmtSecs(p.Seconds))
	}
	return strings.Join(append(parts, "total "+fmtSecs(j.Seconds)), " · ")
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// mdText escapes text so Markdown and HTML in it show as typed, on one
// line, and a pipe does not end a table cell.
var mdReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "|", `\|`, "\n", " ")

func mdText(s string) string { return mdReplacer.Replace(s) }

// mdCode is an inline code span long enough to hold any backticks in s.
func mdCode(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// mdBlock is a fenced code block that no line of s can close.
func mdBlock(s string) string {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	return fence + "\n" + strings.TrimRight(s, "\n") + "\n" + fence + "\n\n"
}

func longestRun(s string, c rune) int {
	best, cur := 0, 0
	for _, r := range s {
		if r == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}
