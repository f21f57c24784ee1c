package runner_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/runner"
)

const objectivesSrc = `
name: objectives
steps:
  - id: a
    action: test.counter
  - id: v
    action: test.verify
    with: { check: true }
report:
  phases: { count: [a], check: [v] }
  metrics: { n: "${{ steps.a.n }}" }
objectives:
  counted: "metrics.n == 1"
  quick: "phases.count < 3600 and phases.check < 3600"
  valid: "validation.success and validation.files_validated == validation.files_total"
  free: "cost_usd == 0"
`

func objective(t *testing.T, j *journal.Journal, name string) journal.Objective {
	t.Helper()
	for _, o := range j.Objectives {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no objective %q in %+v", name, j.Objectives)
	return journal.Objective{}
}

func TestObjectivesMet(t *testing.T) {
	j, _ := runSrc(t, objectivesSrc, runner.Options{}, nil)
	if j.Status != journal.StatusPassed || j.ExitCode != 0 {
		t.Fatalf("status %s (%s), want passed", j.Status, j.Error)
	}
	var names []string
	for _, o := range j.Objectives {
		names = append(names, o.Name+"="+o.Status)
	}
	if got := strings.Join(names, " "); got != "counted=met quick=met valid=met free=met" {
		t.Fatalf("objectives in file order with their status: %s", got)
	}
	if got := objective(t, j, "counted").Line(); got != "objective counted met: metrics.n = 1" {
		t.Errorf("met line %q", got)
	}
}

func TestMissedObjectiveFailsThePassedRun(t *testing.T) {
	src := strings.Replace(objectivesSrc, `"metrics.n == 1"`, `"metrics.n >= 2"`, 1)
	j, _ := runSrc(t, src, runner.Options{}, nil)
	if j.Status != journal.StatusFailed || j.ExitCode != 1 {
		t.Fatalf("status %s exit %d, want failed 1", j.Status, j.ExitCode)
	}
	if want := "objective counted missed: metrics.n = 1"; j.Error != want {
		t.Fatalf("error %q, want %q", j.Error, want)
	}
	if o := objective(t, j, "quick"); o.Status != journal.ObjectiveMet {
		t.Errorf("the other objectives are still judged: %+v", o)
	}
}

// After a failed run, objectives whose figures exist are judged; one whose
// phase never ran is unknown, not met by a zero.
func TestObjectivesAfterAFailedRun(t *testing.T) {
	src := strings.Replace(objectivesSrc, "    action: test.counter\n", "    action: test.counter\n  - assert: \"steps.a.n > 5\"\n", 1)
	j, _ := runSrc(t, src, runner.Options{}, nil)
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "step") {
		t.Fatalf("the step's failure stays the run's error: %s %q", j.Status, j.Error)
	}
	if o := objective(t, j, "counted"); o.Status != journal.ObjectiveMet {
		t.Errorf("counted: %+v", o)
	}
	o := objective(t, j, "quick")
	if o.Status != journal.ObjectiveUnknown || o.Error == "" {
		t.Errorf("quick read a phase that never ran: %+v", o)
	}
}

func TestObjectivesAreChecked(t *testing.T) {
	src := objectivesSrc + `  typo: "phases.cont < 10"
  nometric: "metrics.mttr_seconds <= 120"
  notbool: "cost_usd"
`
	sc, err := runner.Load("test.yaml", []byte(src))
	if err == nil {
		_, err = runner.Check(sc, registry(&world{}))
	}
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`unknown phase "cont" in objective "phases.cont < 10"`,
		`unknown metric "mttr_seconds" in objective`,
		`in expression "cost_usd": expected bool`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	_, err = runner.Load("test.yaml", []byte(objectivesSrc+"  bad-name: \"true\"\n"))
	if err == nil || !strings.Contains(err.Error(), `objective name "bad-name" is not an identifier`) {
		t.Errorf("a name JUnit cannot show: %v", err)
	}
}

// The recovery phases the runner measures (detection, provisioning,
// restore, verification) can be read without naming them under
// report.phases. A scenario with no failover cannot measure them: an
// objective on them is refused before anything runs, and a typo's hint
// lists only the phases it can read.
func TestObjectivesOnRecoveryPhasesNeedAFailover(t *testing.T) {
	src := objectivesSrc + "  provisioned: \"phases.provisioning < 600\"\n  typo: \"phases.provison < 600\"\n"
	sc, err := runner.Load("test.yaml", []byte(src))
	if err == nil {
		_, err = runner.Check(sc, registry(&world{}))
	}
	for _, want := range []string{
		`test.yaml:17:17: objective "phases.provisioning < 600" reads phases.provisioning, but this scenario has no failover to measure: no instance.destroy with reason: failure`,
		`test.yaml:18:10: unknown phase "provison" in objective "phases.provison < 600"` + "\n    hint: known: count, check (name more under report.phases)",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// A scenario that can fail over but did not (its failover steps skipped)
// has no recovery phases: an objective on them is unknown, never met by a
// zero, and says why in words rather than expr's "<nil> <= int".
func TestObjectivesReadTheRecoveryPhases(t *testing.T) {
	src := strings.Replace(objectivesSrc, "report:", `  - action: instance.destroy
    if: "${{ false }}"
    with: { id: "x", reason: failure }
  - action: instance.create
    if: "${{ false }}"
    with: { gpu: RTX_4090 }
  - action: snapshot.restore
    if: "${{ false }}"
    with: { snapshot: "s", on: "x" }
report:`, 1) + "  provisioned: \"phases.provisioning < 600\"\n"
	j, _ := runSrc(t, src, runner.Options{}, nil)
	o := objective(t, j, "provisioned")
	if o.Status != journal.ObjectiveUnknown || j.Recovery != nil {
		t.Fatalf("no failover, no recovery phases: %+v (recovery %+v)", o, j.Recovery)
	}
	if want := "objective provisioned unknown: phases.provisioning: the run measured no recovery: no instance.destroy with reason: failure"; !strings.HasPrefix(o.Line(), want) {
		t.Errorf("line %q, want it to start %q", o.Line(), want)
	}
	if j.Status != journal.StatusFailed {
		t.Errorf("an objective that cannot be judged fails the run: %s", j.Status)
	}
}

// A phase's seconds are its steps' added up to the nanosecond and printed
// as such, never with a float's noise.
func TestPhaseSecondsAddWithoutNoise(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want string
	}{
		{0.248347071, 0.2140228, "0.462369871"}, // 0.46236987100000004 as floats
		{0.1, 0.2, "0.3"},
		{1.304151547, 86400.000000001, "86401.304151548"},
	} {
		if got := strconv.FormatFloat(runner.AddSeconds(c.a, c.b), 'f', -1, 64); got != c.want {
			t.Errorf("%v + %v = %s; want %s", c.a, c.b, got, c.want)
		}
	}
	j, _ := runSrc(t, strings.Replace(objectivesSrc, "check: [v] }", "check: [v], both: [a, v] }", 1), runner.Options{}, nil)
	secs := map[string]float64{}
	for _, s := range j.Steps {
		secs[s.ID] = s.Seconds
	}
	found := false
	for _, p := range j.Phases {
		if p.Name == "both" {
			found = true
			if p.Seconds != runner.AddSeconds(secs["a"], secs["v"]) {
				t.Errorf("phase both = %v; want steps a + v = %v", p.Seconds, runner.AddSeconds(secs["a"], secs["v"]))
			}
		}
	}
	if !found {
		t.Errorf("no phase both in %+v", j.Phases)
	}
}

// A computed reason: on instance.destroy may be failure: the scenario may
// fail over, so an objective on a recovery phase is accepted (and the
// check does not stumble on the computed value).
func TestObjectivesWithAComputedKillReason(t *testing.T) {
	checkSrc(t, "kill.yaml", `name: kill
vars: { why: failure }
steps:
  - { id: gpu, action: instance.create, with: { gpu: RTX_4090, max_price: 1 } }
  - { id: kill, action: instance.destroy, with: { id: "${{ steps.gpu.id }}", reason: "${{ vars.why }}" } }
  - { id: gpu2, action: instance.create, with: { gpu: RTX_4090, max_price: 1 } }
  - { id: back, action: snapshot.restore, with: { snapshot: "s", on: "${{ steps.gpu2 }}" } }
report: { metrics: { n: "${{ 1 }}" } }
objectives: { ok: "metrics.n > 0", provisioned: "phases.provisioning < 600" }
`, &world{})
}
