package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

// detected is the failing fixture drill as a negative control its verify
// step detected: the runner made it pass.
func detected() *journal.Journal {
	j := fixture.Failing()
	j.Status, j.ExitCode, j.Error = journal.StatusPassed, 0, ""
	j.Cleanup, j.Resources = nil, nil // its cleanup failure is not the point here
	s := failingStep(j)
	s.FailedCheck = true
	j.NegativeControl = &journal.NegativeControl{Kind: "corrupt-file", Verdict: journal.ControlDetected, DetectedAt: s.ID,
		Injections: []journal.Injection{{Step: "restore", Did: "altered byte 0 of /workspace/test-file-1.txt on instance 102"}}}
	return j
}

func TestNegativeControlInTheReports(t *testing.T) {
	j := detected()
	step := j.NegativeControl.DetectedAt
	var b bytes.Buffer
	if err := WriteSummary(&b, j, Options{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DETECTED  realtime-sync", "negative control corrupt-file after step restore: altered byte 0 of /workspace/test-file-1.txt",
		"✓ corrupt-file: detected at step " + step} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("closing report lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteHTML(&b, j); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `id="negative-control"`) || !strings.Contains(b.String(), `detected at step <a href="#step-`+step+`">`) {
		t.Error("the HTML report lacks the negative control")
	}
	s := parsedJUnit(t, j)
	for _, c := range s.Suites[0].Cases {
		if c.Failure != nil {
			t.Errorf("a detected control has no failing testcase; %s fails: %s", c.Name, c.Failure.Message)
		}
	}
	b.Reset()
	if err := writeGitHubSummary(&b, []*journal.Journal{j, withObjectives()}, ""); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Negative control `corrupt-file`: **detected** at step", `- ✗ rto missed: metrics.mttr\_seconds = 131.2`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("GitHub summary lacks %q:\n%s", want, b.String())
		}
	}
}
