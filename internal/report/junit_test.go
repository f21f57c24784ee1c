package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/report/fixture"
)

// xmllint validates a document against testdata/junit-10.xsd with the real
// libxml2 validator. CI installs it; a missing xmllint is a failure, not a
// skip, so the schema check cannot silently vanish.
func xmllint(t *testing.T, doc []byte) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is not installed: the JUnit schema check needs it (Debian: apt-get install libxml2-utils)")
	}
	path := filepath.Join(t.TempDir(), "junit.xml")
	if err := os.WriteFile(path, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--noout", "--schema", filepath.Join("testdata", "junit-10.xsd"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint rejects the JUnit XML: %v\n%s", err, out)
	}
}

func TestJUnitGoldenAndSchema(t *testing.T) {
	for _, d := range drills() {
		t.Run(d.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteJUnit(&b, []*journal.Journal{d.j}); err != nil {
				t.Fatal(err)
			}
			xmllint(t, b.Bytes())
			golden(t, "junit_"+d.name+".golden", b.Bytes())
		})
	}
}

// parsed reads back what WriteJUnit wrote.
func parsedJUnit(t *testing.T, journals ...*journal.Journal) junitSuites {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJUnit(&b, journals); err != nil {
		t.Fatal(err)
	}
	xmllint(t, b.Bytes())
	var s junitSuites
	if err := xml.Unmarshal(b.Bytes(), &s); err != nil {
		t.Fatalf("the JUnit XML does not parse back: %v", err)
	}
	return s
}

func TestJUnitCounts(t *testing.T) {
	s := parsedJUnit(t, fixture.Passing(), fixture.Failing(), fixture.Standby())
	if len(s.Suites) != 3 {
		t.Fatalf("want one testsuite per run, got %d", len(s.Suites))
	}
	pass, fail := s.Suites[0], s.Suites[1]
	if pass.Failures+pass.Errors+pass.Skipped != 0 {
		t.Errorf("passing drill: failures=%d errors=%d skipped=%d, want none", pass.Failures, pass.Errors, pass.Skipped)
	}
	// Failing: verify fails, cleanup fails; two skipped steps; the
	// continue_on_error notification does not count as a failure.
	if fail.Failures != 2 || fail.Skipped != 2 || fail.Errors != 0 {
		t.Errorf("failing drill: failures=%d skipped=%d errors=%d, want 2, 2, 0", fail.Failures, fail.Skipped, fail.Errors)
	}
	if want := len(fixture.Failing().Steps) + 1; fail.Tests != want || len(fail.Cases) != want {
		t.Errorf("failing drill: tests=%d cases=%d, want %d (steps + cleanup)", fail.Tests, len(fail.Cases), want)
	}
	if s.Failures != 2 || s.Tests != pass.Tests+fail.Tests+s.Suites[2].Tests {
		t.Errorf("testsuites totals: tests=%d failures=%d", s.Tests, s.Failures)
	}
	var verify, cleanup *junitCase
	for i, c := range fail.Cases {
		switch c.Name {
		case "[8] verify: Verify every MD5":
			verify = &fail.Cases[i]
		case "cleanup":
			cleanup = &fail.Cases[i]
		}
	}
	if verify == nil || verify.Failure == nil {
		t.Fatal("no failing testcase \"[8] verify: Verify every MD5\"")
	}
	for _, want := range []string{"valid == total", "valid = 1", "total = 3", "2 of 3 files"} {
		if !strings.Contains(verify.Failure.Body, want) {
			t.Errorf("verify failure body lacks %q:\n%s", want, verify.Failure.Body)
		}
	}
	if verify.SystemOut == nil || !strings.Contains(verify.SystemOut.Text, "✗ MD5 mismatch") {
		t.Errorf("verify system-out lacks the step's log lines: %q", verify.SystemOut)
	}
	if cleanup == nil || cleanup.Failure == nil || !strings.Contains(cleanup.Failure.Body, "429 Too Many Requests") {
		t.Errorf("cleanup testcase should fail with the undo's error, got %+v", cleanup)
	}
}

func TestJUnitRunErrorWithoutSteps(t *testing.T) {
	j := &journal.Journal{Version: 1, RunID: "r1", Scenario: "broken", Status: journal.StatusError,
		Error: "scenarios/broken.yaml:3:5: unknown action \"instance.crate\"\nhint: did you mean instance.create?", ExitCode: 2,
		StartedAt: fixture.Base, EndedAt: fixture.Base}
	s := parsedJUnit(t, j)
	c := s.Suites[0].Cases
	if len(c) != 1 || c[0].Name != "run" || c[0].Error == nil || s.Suites[0].Errors != 1 {
		t.Fatalf("a run that failed before any step needs one erroring testcase, got %+v", c)
	}
	if c[0].Error.Message != "scenarios/broken.yaml:3:5: unknown action \"instance.crate\"" {
		t.Errorf("message should be the error's first line, got %q", c[0].Error.Message)
	}
}

// TestJUnitHostileText: terminal escapes, NULs and "]]>" in logs and errors
// still give valid XML that reads back.
func TestJUnitHostileText(t *testing.T) {
	j := fixture.Failing()
	j.Steps[7].Logs = append(j.Steps[7].Logs, "\x1b[31mred\x1b[0m and a NUL \x00 and ]]> and <tag> & \"quotes\"")
	j.Steps[7].Error = "boom ]]> <![CDATA[ nested \x07"
	s := parsedJUnit(t, j)
	var verify *junitCase
	for i, c := range s.Suites[0].Cases {
		if strings.HasPrefix(c.Name, "[8] verify") {
			verify = &s.Suites[0].Cases[i]
		}
	}
	if verify == nil || verify.Failure == nil || verify.SystemOut == nil {
		t.Fatal("verify testcase lost its failure or output")
	}
	if !strings.Contains(verify.SystemOut.Text, "]]> and <tag> & \"quotes\"") || !strings.Contains(verify.Failure.Body, "boom ]]> <![CDATA[ nested") {
		t.Errorf("text did not survive the round trip:\n%q\n%q", verify.SystemOut.Text, verify.Failure.Body)
	}
}
