package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
)

// The JUnit XML shapes, as Ant/Jenkins (junit-10.xsd), GitHub and GitLab
// read them. Attribute order follows the struct order.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Time       string          `xml:"time,attr"`
		Timestamp  string          `xml:"timestamp,attr"`
		Hostname   string          `xml:"hostname,attr,omitempty"`
		ID         string          `xml:"id,attr"`
		File       string          `xml:"file,attr,omitempty"`
		Properties []junitProperty `xml:"properties>property"`
		Cases      []junitCase     `xml:"testcase"`
		SystemOut  *junitText      `xml:"system-out"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Time      string        `xml:"time,attr"`
		Skipped   *junitOutcome `xml:"skipped"`
		Error     *junitOutcome `xml:"error"`
		Failure   *junitOutcome `xml:"failure"`
		SystemOut *junitText    `xml:"system-out"`
		SystemErr *junitText    `xml:"system-err"`
	}
	junitOutcome struct {
		Message string `xml:"message,attr,omitempty"`
		Type    string `xml:"type,attr,omitempty"`
		Body    string `xml:",cdata"`
	}
	// junitText keeps multi-line output readable in CDATA.
	junitText struct {
		Text string `xml:",cdata"`
	}
)

// text wraps s for a <system-out>/<system-err>, nil when empty.
func text(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{xmlSafe(s)}
}

// xmlSafe replaces what XML 1.0 cannot carry (terminal escapes, NULs)
// with U+FFFD: CDATA is written verbatim.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

// WriteJUnit writes one <testsuite> per run: a <testcase> per step named
// "[k] id: name" (class name: the scenario), failed steps as <failure>
// with the error and the failed expectations' values, canceled steps as
// <error>, skipped ones as <skipped/>, the step's log lines as
// <system-out>. The cleanup is its own testcase "cleanup", failing when an
// undo failed or a resource leaked; a run that failed outside any step
// (budget, bad input, interrupt) gets a testcase "run" with an <error>.
// A step that failed with continue_on_error passes, its error in
// <system-err>, as it did not fail the run.
//
// The suite's timestamp is the start in UTC without zone (Ant's format),
// its hostname the journal's, else this machine's; the closing report is
// the suite's <system-out>.
func WriteJUnit(w io.Writer, journals []*journal.Journal) error {
	all := junitSuites{Name: "scn"}
	var secs float64
	for _, j := range journals {
		s := junitSuiteOf(j)
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		secs += j.Seconds
		all.Suites = append(all.Suites, s)
	}
	all.Time = junitTime(secs)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(all); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(j *journal.Journal) junitSuite {
	host := j.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	s := junitSuite{
		Name: j.Scenario, Time: junitTime(j.Seconds), ID: j.RunID, File: j.File, Hostname: host,
		Timestamp: j.StartedAt.UTC().Format("2006-01-02T15:04:05"),
	}
	s.Properties = junitProperties(j)
	for i := range j.Steps {
		s.Cases = append(s.Cases, junitStep(j, &j.Steps[i]))
	}
	if len(j.Cleanup) > 0 || len(leaked(j)) > 0 {
		s.Cases = append(s.Cases, junitCleanup(j))
	}
	for _, o := range j.Objectives {
		s.Cases = append(s.Cases, junitObjective(j, o))
	}
	if j.Status != journal.StatusPassed && failingStep(j) == nil && failedUndos(j) == 0 && len(leaked(j)) == 0 && failedObjective(j) == nil {
		msg := j.Error
		if msg == "" {
			msg = "run " + j.Status
		}
		s.Cases = append(s.Cases, junitCase{Name: "run", Classname: j.Scenario, Time: junitTime(j.Seconds),
			Error: &junitOutcome{Message: firstLine(msg), Type: j.Status, Body: xmlSafe(msg)}})
	}
	for _, c := range s.Cases {
		s.Tests++
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Error != nil:
			s.Errors++
		case c.Skipped != nil:
			s.Skipped++
		}
	}
	var sum strings.Builder
	WriteSummary(&sum, j, Options{})
	s.SystemOut = text(sum.String())
	return s
}

func junitProperties(j *journal.Journal) []junitProperty {
	props := []junitProperty{
		{"run_id", j.RunID}, {"target", j.Target}, {"target_kind", j.TargetKind},
		{"status", j.Status}, {"exit_code", fmt.Sprint(j.ExitCode)},
		{"cost_usd", fmt.Sprintf("%.6f", j.Cost.TotalUSD)}, {"cost_simulated", fmt.Sprint(j.Cost.Simulated)},
		{"cost_estimated", fmt.Sprint(j.Cost.Estimated)},
	}
	if v := j.Validation; v != nil {
		props = append(props, junitProperty{"files_validated", validationText(v)})
	}
	if sb := j.Standby; sb != nil {
		props = append(props,
			junitProperty{"mttr_seconds", fmt.Sprintf("%.3f", sb.MTTRSeconds)},
			junitProperty{"detection_seconds", fmt.Sprintf("%.3f", sb.DetectionSeconds)},
			junitProperty{"data_at_risk_seconds", fmt.Sprintf("%.3f", sb.DataAtRiskSeconds)})
	}
	return props
}

func junitStep(j *journal.Journal, s *journal.Step) junitCase {
	c := junitCase{Name: stepLabel(s), Classname: j.Scenario, Time: junitTime(s.Seconds)}
	// The step's output, then the checks that held with their values.
	out := slices.Clone(s.Logs)
	for _, e := range s.Expectations {
		if e.OK {
			out = append(out, "✓ "+passedLine(e))
		}
	}
	if len(out) > 0 {
		c.SystemOut = text(strings.Join(out, "\n") + "\n")
	}
	body := xmlSafe(strings.Join(stepErrorLines(s), "\n"))
	switch {
	case s.Status == journal.StepSkipped:
		c.Skipped = &junitOutcome{Message: s.SkipReason}
	case s.Status == journal.StepCanceled:
		c.Error = &junitOutcome{Message: firstLine(s.Error), Type: "canceled", Body: body}
	case detectedBy(j, s):
		c.SystemOut = text("failed as it should: it detected negative control " + j.NegativeControl.Kind + "\n" + body + "\n")
	case s.Status == journal.StepFailed && s.ContinueOnError:
		c.SystemErr = text("failed, continue_on_error: the run went on\n" + body + "\n")
	case s.Status == journal.StepFailed:
		t, msg := "error", firstLine(s.Error)
		if f := failedExpectations(s); len(f) > 0 {
			t = "expectation"
			if msg == "" {
				msg = "expected: " + f[0].Expr
			}
		}
		if s.Action != "" {
			t = s.Action + " " + t
		}
		c.Failure = &junitOutcome{Message: msg, Type: t, Body: body}
	}
	return c
}

func junitCleanup(j *journal.Journal) junitCase {
	c := junitCase{Name: "cleanup", Classname: j.Scenario}
	var secs float64
	var out, bad []string
	for _, u := range j.Cleanup {
		secs += u.Seconds
		out = append(out, fmt.Sprintf("%s %s (%s)", u.Status, u.Description, fmtSecs(u.Seconds)))
		if u.Status == "failed" {
			msg := u.Error
			if !strings.HasPrefix(msg, u.Description) {
				msg = u.Description + ": " + msg
			}
			bad = append(bad, msg)
		}
	}
	for _, r := range leaked(j) {
		bad = append(bad, fmt.Sprintf("%s %s (%s) is %s: run `scn cleanup`", r.Kind, r.ID, r.Provider, r.State))
	}
	c.Time = junitTime(secs)
	if len(out) > 0 {
		c.SystemOut = text(strings.Join(out, "\n") + "\n")
	}
	if len(bad) > 0 {
		msg := plural.Of(failedUndos(j), "undo failed", "undos failed")
		if failedUndos(j) == 0 {
			msg = plural.Of(len(leaked(j)), "resource left behind", "resources left behind")
		}
		c.Failure = &junitOutcome{Message: msg, Type: "cleanup", Body: xmlSafe(strings.Join(bad, "\n"))}
	}
	return c
}

// junitTime is seconds with millisecond precision, matching the Surefire
// time pattern (no exponent, no thousands separator needed).
func junitTime(s float64) string { return fmt.Sprintf("%.3f", s) }
