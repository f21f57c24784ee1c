package runner_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/secret"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// What a step computes from vars alone is checked when the vars are known,
// before the first step (runner.New, which runs nothing): a bad --var fails
// with the value's file:line as Diagnostics (bad input, exit 2), before
// test.create — which would rent — could run.
func TestPreflightChecksWhatVarsComputeBeforeTheFirstStep(t *testing.T) {
	src := `name: pre
vars: { wait: 1ms, out: 10, use: true }
steps:
  - id: gpu
    action: test.create
    with: { name: a }
  - id: nap
    action: sleep
    timeout: "${{ vars.wait }}"
    with: { duration: "${{ vars.wait }}" }
  - id: cmd
    action: ssh.exec
    with: { on: "${{ steps.gpu }}", command: "true", max_output: "${{ vars.out }}" }
  - id: maybe
    action: sleep
    if: "${{ vars.use }}"
    with: { duration: "${{ vars.wait }}" }
`
	c := checkSrc(t, "pre.yaml", src, &world{})
	for _, tc := range []struct {
		vars map[string]string
		want []string // "" when the run may start
	}{
		{map[string]string{}, nil},
		{map[string]string{"wait": "fast"}, []string{
			`pre.yaml:9:19: step nap: timeout: "fast" is not a duration`,
			`pre.yaml:10:23: step nap: parameter duration: "fast" is not a duration`,
			`pre.yaml:17:23: step maybe: parameter duration: `,
			"computed from vars before the run: nothing was started",
		}},
		{map[string]string{"out": "-1"}, []string{`pre.yaml:13:66: step cmd: parameter max_output: `}},
		// A step the vars skip is not checked: it will not run.
		{map[string]string{"wait": "fast", "use": "false"}, []string{`step nap: parameter duration`}},
	} {
		_, err := runner.New(c, runner.Options{Vars: tc.vars})
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("--var %v: %v; want the run to start", tc.vars, err)
			}
			continue
		}
		var diags runner.Diagnostics
		if !errors.As(err, &diags) {
			t.Fatalf("--var %v: %v; want Diagnostics (bad input, exit 2)", tc.vars, err)
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("--var %v:\n%v\nwant %q", tc.vars, err, want)
			}
		}
		if tc.vars["use"] == "false" && strings.Contains(err.Error(), "step maybe") {
			t.Errorf("--var %v: the skipped step was checked:\n%v", tc.vars, err)
		}
	}
}

// Neither check quotes a secret var's value: a --var that does not fit its
// type, nor a parameter computed from it.
func TestVarChecksDoNotShowSecrets(t *testing.T) {
	src := `name: pin
vars: { pin: { secret: true, default: 1234 }, word: { secret: true, default: "x" } }
steps:
  - { id: nap, action: sleep, with: { duration: "${{ vars.word }}" } }
`
	c := checkSrc(t, "pin.yaml", src, &world{})
	for _, vars := range []map[string]string{{"pin": "hunter2-pin"}, {"word": "hunter2-word"}} {
		_, err := runner.New(c, runner.Options{Vars: vars, Masker: secret.New()})
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("--var %v: %v; want an error that does not show the value", vars, err)
		}
	}
}

// A step needing what the target lacks (standby.create on an ssh target
// without a standby host) is refused before the first step, at the step's
// action, with the fix for that kind of target — not after a GPU was
// rented.
func TestPreflightRefusesWhatTheTargetLacks(t *testing.T) {
	src := `name: lacks
steps:
  - { id: gpu, action: test.create, with: { name: a } }
  - id: sb
    action: standby.create
    with: { gpu: "${{ steps.gpu }}" }
  - id: snap
    action: snapshot.create
    if: "${{ false }}"
    with: { on: "${{ steps.gpu }}" }
`
	c := checkSrc(t, "lacks.yaml", src, &world{})
	lab := &target.Target{Name: "lab", Kind: "ssh"}
	_, err := runner.New(c, runner.Options{Target: lab})
	var diags runner.Diagnostics
	if !errors.As(err, &diags) || len(diags) != 1 ||
		!strings.Contains(err.Error(), "lacks.yaml:5:13: step sb: standby.create cannot run here: target lab has no standby host: add a host with role: standby") {
		t.Fatalf("runner.New = %v; want one problem, at standby.create, with the fix (the snapshot step never runs)", err)
	}
}

// scn do keeps what it runs unless --undo, whatever the action: keep: is
// refused only where a scenario writes it on a step that creates nothing.
func TestAdHocKeepIsNotAMistake(t *testing.T) {
	if _, err := runner.Check(runner.AdHoc("log", map[string]any{"message": "x"}, true), registry(&world{})); err != nil {
		t.Fatalf("scn do log: %v", err)
	}
}

// A step allowed to fail (continue_on_error) may be the optional part of a
// portable scenario: a target lacking what it needs does not refuse the run.
func TestPreflightLetsAnOptionalStepMeetItsTarget(t *testing.T) {
	c := checkSrc(t, "optional.yaml", `name: optional
steps:
  - { id: gpu, action: test.create, with: { name: a } }
  - id: sb
    action: standby.create
    with: { gpu: "${{ steps.gpu }}" }
    continue_on_error: true
`, &world{})
	if _, err := runner.New(c, runner.Options{Target: &target.Target{Name: "lab", Kind: "ssh"}}); err != nil {
		t.Fatalf("runner.New = %v; want the run to start", err)
	}
}
