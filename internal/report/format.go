// Package report renders a run for people and machines: the live console
// (an event.Sink) and its closing report, JUnit XML, the journal as JSON,
// the seed-compatible metrics.json, a self-contained HTML report with a
// timeline, an HTML history of many runs with trend charts, and a GitHub
// job summary. Everything but the live console is rendered from a
// *journal.Journal alone, so `scn report RUN-DIR` re-renders a past run
// exactly as it was shown when it ended.
package report

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
	"github.com/scnlabs/scn/internal/units"
)

// fmtSecs is a step or phase duration: "0.4s", "21.4s", "2m05s", "1h02m".
func fmtSecs(s float64) string {
	switch {
	case s < 0:
		return "-"
	case s < 60:
		return fmt.Sprintf("%.1fs", s)
	case s < 3600:
		m := int(s) / 60
		return fmt.Sprintf("%dm%02ds", m, int(s)-60*m)
	default:
		h := int(s) / 3600
		return fmt.Sprintf("%dh%02dm", h, (int(s)-3600*h)/60)
	}
}

// fmtBytes is a size in decimal units, matching MB/s throughputs.
// fmtVia says how a transfer's bytes went: "agent", or "scn" with how much
// passed through scn's process; "-" when the transfer does not say.
func fmtVia(x journal.Transfer) string {
	switch x.Via {
	case "":
		return "-"
	case "scn":
		return "scn (" + fmtBytes(x.SCNBytes) + ")"
	}
	return x.Via
}

func fmtBytes(n int64) string { return units.Bytes(n) }

// CostText is the run's cost as every report shows it — console, HTML,
// run tables, the GitHub summary: the journal's total (cost.total_usd, the
// number metrics.json carries too) and what kind of number it is.
func CostText(c journal.Cost) string {
	if note := costNote(c); note != "" {
		return fmtUSD(c.TotalUSD) + " (" + note + ")"
	}
	return fmtUSD(c.TotalUSD)
}

// costNote says when a total is not a bill: local catalogue prices, or
// scn's estimates (a price list's, a built-in table's) in part of it.
func costNote(c journal.Cost) string {
	switch {
	case c.Simulated:
		return "simulated"
	case c.Estimated:
		return "estimated"
	}
	return ""
}

// priceNote is costNote for one resource: "" for a provider's own price.
func priceNote(r journal.Resource) string {
	return costNote(journal.Cost{Simulated: r.Simulated && r.PricePerHour > 0, Estimated: r.Estimated && r.PricePerHour > 0})
}

// fmtUSD shows cents-and-below precision: drills cost fractions of a dollar.
func fmtUSD(f float64) string {
	if f >= 10 {
		return fmt.Sprintf("$%.2f", f)
	}
	return fmt.Sprintf("$%.4f", f)
}

// fmtRate is a throughput in MB/s (10^6 bytes per second).
func fmtRate(mbps float64) string { return units.Rate(mbps) }

// stepLabel names a step the same way everywhere: "[7] verify: Verify every MD5".
func stepLabel(s *journal.Step) string {
	if s.Name == "" || s.Name == s.ID {
		return fmt.Sprintf("[%d] %s", s.Index, s.ID)
	}
	return fmt.Sprintf("[%d] %s: %s", s.Index, s.ID, s.Name)
}

// looks is how each run status shows everywhere: its one-word verdict,
// its colour class (pass, warn, fail) and its icon in Markdown.
var looks = map[string][3]string{
	journal.StatusPassed:      {"PASS", "pass", "✅"},
	journal.StatusInterrupted: {"INTERRUPTED", "warn", "⚠️"},
	journal.StatusError:       {"ERROR", "fail", "❌"},
	journal.StatusFailed:      {"FAIL", "fail", "❌"},
}

// controlLooks are the verdicts of negative controls, whose status is
// inverted: detected passes, exposed fails.
var controlLooks = map[string][3]string{
	journal.ControlDetected: {"DETECTED", "pass", "✅"},
	journal.ControlExposed:  {"EXPOSED", "fail", "❌"},
}

func look(j *journal.Journal) [3]string {
	if nc := j.NegativeControl; nc != nil {
		if l, ok := controlLooks[nc.Verdict]; ok && (j.Status == journal.StatusPassed) == (nc.Verdict == journal.ControlDetected) {
			return l
		}
	}
	if l, ok := looks[j.Status]; ok {
		return l
	}
	return looks[journal.StatusFailed] // an unknown status never reads as a pass
}

// Verdict is the run's one-word outcome: PASS, FAIL, INTERRUPTED, ERROR.
func Verdict(j *journal.Journal) string { return look(j)[0] }

// verdictClass is the run's colour class in HTML: pass, warn or fail.
func verdictClass(j *journal.Journal) string { return look(j)[1] }

// statusIcon is the run's icon in Markdown.
func statusIcon(j *journal.Journal) string { return look(j)[2] }

// failingStep is the step that failed the run (journal.FailingStep: the
// reports and the notices name the same one).
func failingStep(j *journal.Journal) *journal.Step { return j.FailingStep() }

// failedExpectations are the expectations of s that did not hold.
func failedExpectations(s *journal.Step) []journal.Expectation {
	var out []journal.Expectation
	for _, e := range s.Expectations {
		if !e.OK {
			out = append(out, e)
		}
	}
	return out
}

// passedLine is a check that held, with the values that made it hold:
// "valid == vars.file_count (3 == 3)".
func passedLine(e journal.Expectation) string {
	if e.Evaluated == "" {
		return e.Expr
	}
	return e.Expr + " (" + e.Evaluated + ")"
}

// expectationLines renders a failed expectation with its sub-expression
// values, one per line, for the console, JUnit and the GitHub summary.
func expectationLines(e journal.Expectation) []string {
	lines := []string{"expected: " + e.Expr}
	if e.Error != "" {
		lines = append(lines, "  error: "+e.Error)
	}
	for _, v := range e.Values {
		lines = append(lines, "  "+v.Expr+" = "+v.Value)
	}
	return lines
}

// failedUndos counts the cleanup actions that failed.
func failedUndos(j *journal.Journal) int {
	n := 0
	for _, u := range j.Cleanup {
		if u.Status == "failed" {
			n++
		}
	}
	return n
}

// leaked are the resources the run could not get rid of.
func leaked(j *journal.Journal) []journal.Resource {
	var out []journal.Resource
	for _, r := range j.Resources {
		if r.State == "leaked" || r.State == "alive" {
			out = append(out, r)
		}
	}
	return out
}

// resourcesOfKind keeps the journal's order, which is creation order.
func resourcesOfKind(j *journal.Journal, kind string) []journal.Resource {
	var out []journal.Resource
	for _, r := range j.Resources {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

// validationText is "3/3" or "1/3", "" without validation.
func validationText(v *journal.Validation) string {
	if v == nil {
		return ""
	}
	if v.Links > 0 {
		return fmt.Sprintf("%d/%d, hard links %d/%d", v.Valid, v.Total, v.LinksValid, v.Links)
	}
	return fmt.Sprintf("%d/%d", v.Valid, v.Total)
}

// validationRate is the share of files valid, in percent: never above 100
// (a count that was above its total is reported as it is, not as a rate).
func validationRate(v *journal.Validation) float64 {
	if v == nil || v.Total <= 0 {
		return 0
	}
	return 100 * float64(min(v.Valid, v.Total)) / float64(v.Total)
}

// validationProblem summarises what went wrong with the files, "" when
// nothing did.
func validationProblem(v *journal.Validation) string {
	if v == nil || v.Success {
		return ""
	}
	var parts []string
	if v.Missing > 0 {
		parts = append(parts, plural.Of(v.Missing, "file missing", "files missing"))
	}
	if v.Mismatched > 0 {
		parts = append(parts, plural.Of(v.Mismatched, "MD5 mismatch", "MD5 mismatches"))
	}
	if v.LinksValid < v.Links {
		parts = append(parts, fmt.Sprintf("%d of %d hard links not valid", v.Links-v.LinksValid, v.Links))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%d of %d files not valid", max(v.Total-v.Valid, 0), v.Total)
	}
	return strings.Join(parts, ", ")
}

// problemText is the seed's wording for a file that did not come back.
func problemText(problem string) string {
	switch problem {
	case "missing":
		return "File missing"
	case "mismatch":
		return "MD5 mismatch"
	}
	return problem
}

// firstLine cuts s at its first newline, for one-line messages.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// metricValues are the scenario's metrics for reading, sorted by name:
// numbers to four significant digits (30.174194988 → 30.17, 0.627510568
// → 0.6275), whole numbers as they are; the journal and metrics.json keep
// the exact values.
func metricValues(m map[string]any) []keyValue {
	out := keyValues(m)
	for i, kv := range out {
		// Any float kind: in memory an output may be a named float type;
		// in a journal (masked through JSON, or read back) a json.Number.
		if v := reflect.ValueOf(m[kv.Key]); v.Kind() == reflect.Float64 || v.Kind() == reflect.Float32 {
			out[i].Value = roundFigure(v.Float())
		} else if n, ok := m[kv.Key].(json.Number); ok && strings.ContainsAny(n.String(), ".eE") {
			if f, err := n.Float64(); err == nil { // a whole number (an id) stays as written
				out[i].Value = roundFigure(f)
			}
		}
	}
	return out
}

// roundFigure writes f with four significant digits, at most six decimals,
// no trailing zeros, and no exponent.
func roundFigure(f float64) string {
	if f == math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	decimals := min(max(3-int(math.Floor(math.Log10(math.Abs(f)))), 0), 6)
	s := strconv.FormatFloat(f, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
