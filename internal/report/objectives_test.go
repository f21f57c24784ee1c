package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

// withObjectives is the passing fixture drill with one objective met and
// one missed, failing the run on the missed one as the runner does.
func withObjectives() *journal.Journal {
	j := fixture.Passing()
	j.Objectives = []journal.Objective{
		{Name: "validation", Expr: "validation.success", Status: journal.ObjectiveMet, Values: []journal.SubValue{{Expr: "validation.success", Value: "true"}}},
		{Name: "rto", Expr: "metrics.mttr_seconds <= 120", Status: journal.ObjectiveMissed, Values: []journal.SubValue{{Expr: "metrics.mttr_seconds", Value: "131.2"}}},
	}
	j.Status, j.ExitCode, j.Error = journal.StatusFailed, 1, j.Objectives[1].Line()
	return j
}

func TestObjectivesInTheClosingReport(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSummary(&b, withObjectives(), Options{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Objectives (1/2 met)", "✓ validation met: validation.success = true",
		"✗ rto missed: metrics.mttr_seconds = 131.2", "      objective rto missed: metrics.mttr_seconds = 131.2\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("closing report lacks %q:\n%s", want, out)
		}
	}
}

func TestObjectivesAreJUnitTestcases(t *testing.T) {
	s := parsedJUnit(t, withObjectives())
	cases := map[string]junitCase{}
	for _, c := range s.Suites[0].Cases {
		cases[c.Name] = c
	}
	if c, ok := cases["objective:validation"]; !ok || c.Failure != nil || c.Skipped != nil {
		t.Errorf("met objective: %+v", c)
	}
	c, ok := cases["objective:rto"]
	if !ok || c.Failure == nil || c.Failure.Message != "objective rto missed: metrics.mttr_seconds = 131.2" {
		t.Errorf("missed objective: %+v", c)
	}
	if _, ok := cases["run"]; ok {
		t.Error("the missed objective is the failure; no extra run testcase")
	}
	if s.Suites[0].Failures != 1 {
		t.Errorf("failures = %d, want 1", s.Suites[0].Failures)
	}
}

func TestObjectivesInHTMLAndHistory(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHTML(&b, withObjectives()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `<tr data-objective="rto"><td class="mono">rto</td><td><span class="chip missed">missed</span>`) {
		t.Error("the HTML report lacks the missed objective row")
	}
	b.Reset()
	if err := WriteHistoryHTML(&b, []*journal.Journal{fixture.Passing(), withObjectives()}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if n := strings.Count(page, `class="pf obj fail" data-objective="rto"`); n != 1 {
		t.Errorf("history: %d missed rto marks, want 1", n)
	}
	if n := strings.Count(page, `class="pf obj pass" data-objective="validation"`); n != 1 {
		t.Errorf("history: %d met validation marks, want 1", n)
	}
	if !strings.Contains(page, "validation ✓ rto ✗") {
		t.Error("history table lacks the run's objectives")
	}
}
