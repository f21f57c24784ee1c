package runner_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// How a step runs: typed ${{ }} values, if/expect/assert, retry, until,
// timeouts, continue_on_error, vars. What a run cleans up is in
// cleanup_test.go.

// checkSrc loads and checks scenario src (named file) against the test
// actions of w.
func checkSrc(t *testing.T, file, src string, w *world) *runner.Checked {
	t.Helper()
	sc, err := runner.Load(file, []byte(src))
	var c *runner.Checked
	if err == nil {
		c, err = runner.Check(sc, registry(w))
	}
	if err != nil {
		t.Fatalf("scenario does not check:\n%v", err)
	}
	return c
}

// runSrc loads, checks and runs a scenario against the test actions.
func runSrc(t *testing.T, src string, opts runner.Options, ctx context.Context) (*journal.Journal, *world) {
	t.Helper()
	w := &world{dir: t.TempDir()}
	c := checkSrc(t, "test.yaml", src, w)
	if opts.UndoRetries == nil {
		opts.UndoRetries = []time.Duration{time.Millisecond}
	}
	if opts.Target == nil {
		opts.Target = &target.Target{Name: "test", Kind: "local", StateDir: t.TempDir()}
	}
	r, err := runner.New(c, opts)
	if err != nil {
		t.Fatalf("runner.New: %v", err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return r.Run(ctx), w
}

func step(t *testing.T, j *journal.Journal, id string) journal.Step {
	t.Helper()
	for _, s := range j.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %q in journal", id)
	return journal.Step{}
}

func remaining(t *testing.T, w *world) []string {
	t.Helper()
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestTypedInterpolation(t *testing.T) {
	j, _ := runSrc(t, `
name: typed
vars: { n: 3, tags: [a, b], who: world }
steps:
  - id: a
    action: test.create
    with:
      name: "res-${{ vars.n }}"
      count: "${{ vars.n * 2 }}"
      items: "${{ vars.tags }}"
      obj: { k: "${{ vars.who }}", n: "${{ vars.n }}" }
  - assert:
      - steps.a.count == 6
      - steps.a.id == "res-3"
      - len(steps.a.items) == 2 && steps.a.items[1] == "b"
      - steps.a.obj.n == 3
      - steps.a.obj.k == "world"
`, runner.Options{}, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("status %s: %s", j.Status, j.Error)
	}
	a := step(t, j, "a")
	if got := a.With["count"]; got != 6 {
		t.Errorf("count was passed as %#v (%T), want int 6", got, got)
	}
}

func TestIfExpectAssertAndSkips(t *testing.T) {
	j, _ := runSrc(t, `
name: flow
vars: { n: 2 }
steps:
  - id: c
    action: test.counter
    expect: [ "n == 1" ]
  - id: skipped
    if: vars.n > 5
    action: test.counter
  - id: bad
    action: test.counter
    expect: [ "n == vars.n + 10", "n > 0" ]
  - id: after
    action: test.counter
finally:
  - id: fin
    action: log
    with: { message: "status=${{ run.status }} skipped=${{ steps.skipped.status }}" }
`, runner.Options{}, nil)
	if j.Status != journal.StatusFailed || j.ExitCode != 1 {
		t.Fatalf("want failed/1, got %s/%d", j.Status, j.ExitCode)
	}
	if s := step(t, j, "skipped"); s.Status != journal.StepSkipped || !strings.Contains(s.SkipReason, "vars.n > 5") {
		t.Errorf("skipped step: %+v", s)
	}
	bad := step(t, j, "bad")
	if bad.Status != journal.StepFailed {
		t.Fatalf("bad: %s", bad.Status)
	}
	// The failure explains itself with the values of the sub-expressions.
	if !strings.Contains(bad.Error, "n == vars.n + 10 (n = 2, vars.n + 10 = 12)") {
		t.Errorf("expectation error lacks sub-values: %q", bad.Error)
	}
	if len(bad.Expectations) != 2 || bad.Expectations[0].OK || !bad.Expectations[1].OK {
		t.Errorf("expectations: %+v", bad.Expectations)
	}
	// Passed or failed, each check keeps the values it compared.
	if e := step(t, j, "c").Expectations; len(e) != 1 || !e[0].OK || e[0].Evaluated != "1 == 1" || len(e[0].Values) != 1 || e[0].Values[0].Value != "1" {
		t.Errorf("a passed check's values: %+v", e)
	}
	if e := bad.Expectations; len(e) == 2 && (e[0].Evaluated != "2 == 12" || e[1].Evaluated != "2 > 0") {
		t.Errorf("evaluated: %q, %q", e[0].Evaluated, e[1].Evaluated)
	}
	if s := step(t, j, "after"); s.Status != journal.StepSkipped {
		t.Errorf("step after a failure: %s", s.Status)
	}
	fin := step(t, j, "fin")
	if fin.Status != journal.StepPassed || len(fin.Logs) != 1 || fin.Logs[0] != "status=failed skipped=skipped" {
		t.Errorf("finally step: %s %v", fin.Status, fin.Logs)
	}
}

// A check's evaluated form puts values where they were read, keeps the
// shape of and/or/not, and adds nothing to literals alone.
func TestEvaluatedForm(t *testing.T) {
	scope := map[string]any{"valid": 3, "vars": map[string]any{"file_count": 3, "word": "hi"}, "files": []any{1, 2}}
	for src, want := range map[string]string{
		"valid == vars.file_count":                     "3 == 3",
		"vars.word == 'hi' and valid > 1":              `"hi" == "hi" and 3 > 1`,
		"not (valid < 0)":                              "not (3 < 0)",
		"(valid > 1 or valid < 0) and len(files) == 2": "(3 > 1 or 3 < 0) and 2 == 2",
		"1 == 1":   "",
		"valid":    "3",
		"valid ==": "",
	} {
		if got := runner.Evaluated(src, scope); got != want {
			t.Errorf("evaluated(%q) = %q, want %q", src, got, want)
		}
	}
}

func TestRetryAndUntil(t *testing.T) {
	j, _ := runSrc(t, `
name: retry
steps:
  - id: flaky
    action: test.counter
    with: { key: f, fail_less_than: 3 }
    retry: { attempts: 3, delay: 1ms }
  - id: poll
    action: test.counter
    with: { key: p }
    until: { expr: "n >= 4", interval: 1ms, timeout: 10s }
  - id: tries
    name: A step's tries count retries and polls, and shadow no output
    assert: [ "steps.flaky.tries == 3", "steps.poll.tries == 4" ]
  - id: never
    action: test.counter
    with: { key: q, fail_less_than: 100 }
    retry: { attempts: 2, delay: 1ms, backoff: 3 }
`, runner.Options{}, nil)
	if s := step(t, j, "tries"); s.Status != journal.StepPassed {
		t.Errorf("tries: %s %s %+v", s.Status, s.Error, s.Expectations)
	}
	if s := step(t, j, "flaky"); s.Status != journal.StepPassed || s.Attempts != 3 {
		t.Errorf("flaky: %s after %d attempts (%s)", s.Status, s.Attempts, s.Error)
	}
	if s := step(t, j, "poll"); s.Status != journal.StepPassed || s.Outputs.(map[string]any)["n"] != 4 || s.Attempts != 4 {
		t.Errorf("poll: %s %v", s.Status, s.Outputs)
	}
	// The until that held is in the journal, once, with its values.
	if e := step(t, j, "poll").Expectations; len(e) != 1 || !e[0].OK || e[0].Expr != "n >= 4" || e[0].Evaluated != "4 >= 4" {
		t.Errorf("poll's until in the journal: %+v", e)
	}
	s := step(t, j, "never")
	if s.Status != journal.StepFailed || s.Attempts != 2 || !strings.Contains(s.Error, "after 2 attempts") {
		t.Errorf("never: %s attempts=%d %q", s.Status, s.Attempts, s.Error)
	}
}

func TestUntilTimesOut(t *testing.T) {
	j, _ := runSrc(t, `
name: until
steps:
  - id: poll
    action: test.counter
    until: { expr: "n > 1000", interval: 1ms, timeout: 30ms }
`, runner.Options{}, nil)
	s := step(t, j, "poll")
	if s.Status != journal.StepFailed || !strings.Contains(s.Error, "still false after 30ms") || !strings.Contains(s.Error, "n = ") {
		t.Errorf("until timeout: %s %q", s.Status, s.Error)
	}
}

func TestStepTimeoutCancelsAction(t *testing.T) {
	j, _ := runSrc(t, `
name: timeout
steps:
  - id: slow
    action: test.block
    timeout: 20ms
  - id: next
    action: test.counter
`, runner.Options{}, nil)
	s := step(t, j, "slow")
	if s.Status != journal.StepFailed || !strings.Contains(s.Error, "timed out after 20ms") {
		t.Errorf("slow: %s %q", s.Status, s.Error)
	}
	if step(t, j, "next").Status != journal.StepSkipped {
		t.Error("a timed-out step must stop the run")
	}
}

func TestContinueOnError(t *testing.T) {
	j, _ := runSrc(t, `
name: coe
steps:
  - id: bad
    action: test.block
    timeout: 1ms
    continue_on_error: true
  - id: next
    if: steps.bad.status == "failed"
    action: test.counter
`, runner.Options{}, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("continue_on_error must not fail the run: %s %s", j.Status, j.Error)
	}
	if s := step(t, j, "bad"); s.Status != journal.StepFailed || !s.ContinueOnError {
		t.Errorf("bad: %+v", s)
	}
	if step(t, j, "next").Status != journal.StepPassed {
		t.Error("step after continue_on_error did not run")
	}
}

func TestComputedDurations(t *testing.T) {
	j, _ := runSrc(t, `
name: durations
vars: { wait: 20ms, poll: 1 }
timeout: "${{ vars.poll * 60 }}"
steps:
  - id: slow
    action: test.block
    timeout: "${{ vars.wait }}"
    continue_on_error: true
  - id: poll
    action: test.counter
    until: { expr: "n >= 2", interval: "${{ vars.wait }}", timeout: "${{ vars.poll }}" }
`, runner.Options{}, nil)
	if s := step(t, j, "slow"); !strings.Contains(s.Error, "timed out after 20ms") {
		t.Errorf("computed step timeout: %q", s.Error)
	}
	if s := step(t, j, "poll"); s.Status != journal.StepPassed {
		t.Errorf("computed until durations: %s %q", s.Status, s.Error)
	}
}

// The journal's validation is the last step that validated something: a
// later step that could have but did not (verify: false) does not erase it.
func TestValidationIsTheLastStepThatChecked(t *testing.T) {
	j, _ := runSrc(t, `
name: validation
steps:
  - { id: verify, action: test.verify, with: { check: true } }
  - { id: copy, action: test.verify, with: { check: false } }
`, runner.Options{}, nil)
	if v := j.Validation; v == nil || v.Step != "verify" || !v.Success || v.Valid != 3 {
		t.Errorf("validation %+v, want the verdict of step verify", v)
	}
	j, _ = runSrc(t, `
name: no-validation
steps:
  - { id: copy, action: test.verify, with: { check: false } }
report: { validation: copy }
`, runner.Options{}, nil)
	if j.Validation != nil {
		t.Errorf("validation %+v, want none: nothing was checked", j.Validation)
	}
}

// A drill whose verdict on the data failed is not a PASS, even when every
// step passed.
func TestAFailedValidationFailsTheRun(t *testing.T) {
	j, _ := runSrc(t, `
name: lost-a-file
steps:
  - { id: verify, action: test.verify, with: { check: true, lost: true } }
`, runner.Options{}, nil)
	if j.Steps[0].Status != journal.StepPassed {
		t.Fatalf("step %s; the test needs a passing step", j.Steps[0].Status)
	}
	if j.Status != journal.StatusFailed || j.ExitCode != 1 || !strings.Contains(j.Error, "validation by step verify failed: 2/3 files valid") {
		t.Errorf("run %s exit %d %q; want failed by its validation", j.Status, j.ExitCode, j.Error)
	}
}

// Only Check makes a scenario New runs: an unchecked one (its actions not
// resolved, its expressions not compiled) is refused, not run half-way.
func TestNewRefusesAnUncheckedScenario(t *testing.T) {
	for _, c := range []*runner.Checked{nil, {}} {
		if r, err := runner.New(c, runner.Options{}); err == nil || r != nil {
			t.Errorf("runner.New(%v) = %v, %v: want an error", c, r, err)
		}
	}
}

// A save: computed from what only the run knows (here run.id; one from
// vars alone is the pre-flight's) cannot be checked before the run: one
// that leaves the run directory fails its step when the parameters are
// decoded, before the action starts, with the parameter named.
func TestComputedSaveOutsideTheRunDirectoryFailsTheStep(t *testing.T) {
	for dir, want := range map[string]string{
		"/etc":     "is an absolute path",
		"lists/..": "", // cleaned, still under the run directory: reaches the action
		"../..":    "leaves the run directory",
	} {
		j, _ := runSrc(t, `
name: computed-save
vars: { dir: "`+dir+`" }
steps:
  - id: files
    action: files.create
    with: { on: "42", save: "${{ vars.dir }}/files-${{ run.id }}.json" }
`, runner.Options{Dir: t.TempDir()}, nil)
		s := step(t, j, "files")
		switch {
		case s.Status != journal.StepFailed:
			t.Errorf("save under %q: step %s, want failed", dir, s.Status)
		case want != "" && (!strings.Contains(s.Error, "with: save: ") || !strings.Contains(s.Error, want)):
			t.Errorf("save under %q: %q, want with: save: … %q", dir, s.Error, want)
		case want == "" && strings.Contains(s.Error, "save"):
			t.Errorf("save under %q refused: %q", dir, s.Error)
		}
	}
}
