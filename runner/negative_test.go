package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/runner"
)

// stepFault is a negative control that "damages" what the step named at
// produced (or fails doing so with err).
type stepFault struct {
	at  string
	err error
}

func (f stepFault) Kind() string                   { return "test-fault" }
func (f stepFault) Applies(*runner.Scenario) error { return nil }
func (f stepFault) After(_ context.Context, _ *actions.Env, s *runner.Step, _ any) (string, error) {
	if s.ID != f.at {
		return "", nil
	}
	return "damaged " + s.ID, f.err
}

// How the runner judges a negative control from the journal: only a
// check that fails after the fault is detection; whatever broke keeps
// its error.
func TestNegativeControlVerdicts(t *testing.T) {
	const head = "name: nc\nsteps:\n  - id: a\n    action: test.create\n    with: { name: a }\n"
	for _, c := range []struct {
		name, src string
		fault     stepFault
		verdict   string
		exit      int
		detected  string
		err       string // prefix of the run's error
	}{
		{"assert after the fault", head + "  - id: check\n    assert: \"1 == 2\"\n", stepFault{at: "a"}, journal.ControlDetected, 0, "check", ""},
		{"expect after the fault", head + "  - id: b\n    action: test.counter\n    expect: \"n > 5\"\n", stepFault{at: "a"}, journal.ControlDetected, 0, "b", ""},
		{"nothing checks", head + "  - id: b\n    action: test.counter\n", stepFault{at: "a"}, journal.ControlExposed, 1, "", "this drill cannot see test-fault: it passed after damaged a"},
		{"infrastructure failure", head + "  - id: b\n    action: test.create\n    with: { name: b, fail_after: true }\n", stepFault{at: "a"}, journal.ControlError, 1, "", "step b failed: created b but it never became ready"},
		{"check before the fault", "name: nc\nsteps:\n  - id: check\n    assert: \"1 == 2\"\n  - id: a\n    action: test.counter\n", stepFault{at: "a"}, journal.ControlError, 1, "", "step check failed"},
		{"the fault fails", head + "  - id: check\n    assert: \"1 == 2\"\n", stepFault{at: "a", err: errors.New("store unreachable")}, journal.ControlError, 1, "", "negative control test-fault after step a: store unreachable"},
		{"never injected", head, stepFault{at: "zz"}, journal.ControlError, 1, "", "negative control test-fault was never injected"},
		{"cleanup fails after detection", "name: nc\nsteps:\n  - id: a\n    action: test.create\n    with: { name: a, fail_undo: true }\n  - id: check\n    assert: \"1 == 2\"\n",
			stepFault{at: "a"}, journal.ControlDetected, 1, "check", "cleanup failed: "},
	} {
		t.Run(c.name, func(t *testing.T) {
			j, _ := runSrc(t, c.src, runner.Options{Fault: c.fault}, nil)
			nc := j.NegativeControl
			if nc == nil || nc.Verdict != c.verdict || nc.DetectedAt != c.detected || j.ExitCode != c.exit || !strings.HasPrefix(j.Error, c.err) {
				t.Fatalf("verdict %+v, exit %d, error %q; want %s at %q, exit %d, error %q…", nc, j.ExitCode, j.Error, c.verdict, c.detected, c.exit, c.err)
			}
		})
	}
}
