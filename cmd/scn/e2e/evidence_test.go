package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Drills as evidence through the CLI: objectives, negative controls.

func TestObjectivesThroughTheCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	met := e.write("met.yaml", "name: met\nsteps:\n  - id: a\n    action: log\n    with: { message: hi }\nreport:\n  phases: { say: [a] }\nobjectives:\n  quick: \"phases.say < 60\"\n  free: \"cost_usd == 0\"\n")
	missed := e.write("missed.yaml", strings.Replace(string(mustRead(t, met)), "cost_usd == 0", "cost_usd > 1", 1))
	typo := e.write("typo.yaml", strings.Replace(string(mustRead(t, met)), "phases.say", "phases.sya", 1))
	r := e.scn("run", met)
	if r.code != 0 || !strings.Contains(r.stdout, "Objectives (2/2 met)") || !strings.Contains(r.stdout, "✓ quick met: phases.say = ") {
		t.Errorf("met: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.scn("run", missed)
	if r.code != 1 || !strings.Contains(r.stdout, "objective free missed: cost_usd = 0\n") {
		t.Errorf("missed: exit %d, want 1 naming the objective and its value\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.scn("validate", typo)
	if r.code != 2 || !strings.Contains(r.stderr, `unknown phase "sya" in objective "phases.sya < 60"`) {
		t.Errorf("typo: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestNegativeControlAllThroughTheCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	drill, err := filepath.Abs(filepath.Join("..", "..", "..", "scenarios", "realtime-sync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	r := e.scn("run", drill, "--negative-control", "all")
	if r.code != 0 {
		t.Fatalf("exit %d, want 0: every kind detected\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"corrupt-file  DETECTED  detected at step verify", "delete-file  DETECTED  detected at step verify",
		"truncate-snapshot  DETECTED  detected at step restore", "3 of 3 kinds detected"} {
		if !strings.Contains(strings.Join(strings.Fields(r.stdout), "  "), strings.Join(strings.Fields(want), "  ")) {
			t.Errorf("the table lacks %q:\n%s", want, r.stdout)
		}
	}
	r = e.scn("run", drill, "--negative-control", "stale-standby")
	if r.code != 2 || !strings.Contains(r.stderr, "negative control stale-standby cannot apply to") {
		t.Errorf("inapplicable kind: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = e.scn("run", drill, "--negative-control", "flip-bits")
	if r.code != 2 || !strings.Contains(r.stderr, `unknown negative control "flip-bits"`) {
		t.Errorf("unknown kind: exit %d, want 2\n%s%s", r.code, r.stdout, r.stderr)
	}
	e.assertLedgerClosed()
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
