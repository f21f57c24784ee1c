package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/runner"
)

// The cleanup contract: whatever ends a run — success, a failed step or
// undo, the scenario timeout, a signal, a panic, the budget — what it
// created is undone, last in first out, and what could not be is reported.

func TestUndoLIFOOnSuccessAndKeep(t *testing.T) {
	j, w := runSrc(t, `
name: undo
steps:
  - { id: a, action: test.create, with: { name: a } }
  - { id: b, action: test.create, with: { name: b }, keep: true }
  - { id: c, action: test.create, with: { name: c } }
`, runner.Options{}, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("%s: %s", j.Status, j.Error)
	}
	if got := w.undoneList(); !slices.Equal(got, []string{"c", "a"}) {
		t.Errorf("undo order %v, want [c a] (LIFO, b kept)", got)
	}
	if got := remaining(t, w); !slices.Equal(got, []string{"b"}) {
		t.Errorf("left on disk: %v, want only the kept b", got)
	}
	states := map[string]string{}
	for _, r := range j.Resources {
		states[r.ID] = r.State
	}
	if states["a"] != "destroyed" || states["b"] != "kept" || states["c"] != "destroyed" {
		t.Errorf("resource states %v", states)
	}
	var kept int
	for _, u := range j.Cleanup {
		if u.Status == "kept" {
			kept++
		}
	}
	if kept != 1 {
		t.Errorf("cleanup should list one kept entry: %+v", j.Cleanup)
	}
}

func TestUndoRegisteredEvenWhenStepFailsAfterCreating(t *testing.T) {
	j, w := runSrc(t, `
name: undo-fail
steps:
  - { id: a, action: test.create, with: { name: a } }
  - { id: b, action: test.create, with: { name: b, fail_after: true } }
  - { id: c, action: test.create, with: { name: c } }
`, runner.Options{}, nil)
	if j.Status != journal.StatusFailed {
		t.Fatalf("want failed, got %s", j.Status)
	}
	if got := w.undoneList(); !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("undo order %v, want [b a]", got)
	}
	if left := remaining(t, w); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

func TestFailedUndoFailsTheRun(t *testing.T) {
	j, w := runSrc(t, `
name: undo-broken
steps:
  - { id: a, action: test.create, with: { name: a } }
  - { id: b, action: test.create, with: { name: b, fail_undo: true } }
`, runner.Options{}, nil)
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "cleanup failed") || !strings.Contains(j.Error, "refused to destroy b") {
		t.Fatalf("want a failed run naming the undo, got %s %q", j.Status, j.Error)
	}
	i := slices.IndexFunc(j.Cleanup, func(u journal.Undo) bool { return u.Resource == "b" })
	if i < 0 || j.Cleanup[i].Status != "failed" || j.Cleanup[i].Attempts != 2 {
		t.Errorf("the failing undo of b must be tried again before it counts as failed: %+v", j.Cleanup)
	}
	if got := w.undoneList(); !slices.Equal(got, []string{"a"}) {
		t.Errorf("other undos must still run: %v", got)
	}
	i = slices.IndexFunc(j.Resources, func(r journal.Resource) bool { return r.ID == "b" })
	if i < 0 || j.Resources[i].State != "leaked" {
		t.Errorf("b should be reported leaked: %+v", j.Resources)
	}
}

func TestFlakyUndoIsRetried(t *testing.T) {
	j, w := runSrc(t, `
name: undo-flaky
steps:
  - { id: a, action: test.create, with: { name: a, flaky_undo: true } }
`, runner.Options{}, nil)
	if j.Status != journal.StatusPassed {
		t.Fatalf("a cleanup that succeeds on its second try must not fail the run: %s %q", j.Status, j.Error)
	}
	if len(j.Cleanup) != 1 || j.Cleanup[0].Attempts != 2 || j.Cleanup[0].Status != "done" {
		t.Errorf("cleanup %+v", j.Cleanup)
	}
	if len(remaining(t, w)) != 0 {
		t.Error("resource left")
	}
}

func TestScenarioTimeoutStillCleansUp(t *testing.T) {
	j, w := runSrc(t, `
name: scenario-timeout
timeout: 50ms
steps:
  - { id: a, action: test.create, with: { name: a } }
  - { id: wait, action: test.block }
  - { id: never, action: test.counter }
finally:
  - { id: fin, action: log, with: { message: "cleaning after ${{ run.status }}" } }
`, runner.Options{}, nil)
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "scenario timed out after 50ms") {
		t.Fatalf("got %s %q", j.Status, j.Error)
	}
	if s := step(t, j, "wait"); s.Status != journal.StepCanceled {
		t.Errorf("wait: %s", s.Status)
	}
	if s := step(t, j, "never"); s.Status != journal.StepSkipped {
		t.Errorf("never: %s", s.Status)
	}
	if s := step(t, j, "fin"); s.Status != journal.StepPassed {
		t.Errorf("finally must run after a timeout: %s", s.Status)
	}
	if len(remaining(t, w)) != 0 {
		t.Error("resource left after timeout")
	}
}

// A finally step that hangs until the cleanup deadline does not spend the
// undos' time: they get a deadline of their own, and the resource goes.
func TestAHangingFinallyStepLeavesTheUndosTheirTime(t *testing.T) {
	j, w := runSrc(t, `
name: hanging-finally
steps:
  - { id: a, action: test.create, with: { name: a } }
finally:
  - { id: fin, action: test.block }
`, runner.Options{CleanupTimeout: 50 * time.Millisecond}, nil)
	if s := step(t, j, "fin"); s.Status != journal.StepCanceled && s.Status != journal.StepFailed {
		t.Errorf("fin: %s; want stopped at the deadline", s.Status)
	}
	if len(j.Cleanup) != 1 || j.Cleanup[0].Status != "done" || len(remaining(t, w)) != 0 {
		t.Errorf("cleanup %+v, left %v; want the undo done", j.Cleanup, remaining(t, w))
	}
}

func TestInterruptRunsUndosAndFinally(t *testing.T) {
	for _, tc := range []struct {
		name   string
		signal syscall.Signal
		exit   int
	}{{"SIGINT", syscall.SIGINT, 130}, {"SIGTERM", syscall.SIGTERM, 143}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancelCause(context.Background())
			w := &world{dir: t.TempDir()}
			src := `
name: interrupt
steps:
  - { id: a, action: test.create, with: { name: a } }
  - { id: wait, action: test.block }
finally:
  - { id: fin, action: log, with: { message: "${{ run.status }}" } }
`
			sc, err := runner.Load("i.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			c, err := runner.Check(sc, registry(w))
			if err != nil {
				t.Fatal(err)
			}
			started := make(chan struct{})
			sink := &stepSink{onStart: func(id string) {
				if id == "wait" {
					close(started)
				}
			}}
			r, err := runner.New(c, runner.Options{Sink: sink, Target: &target.Target{Name: "t", StateDir: t.TempDir()}})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan *journal.Journal)
			go func() { done <- r.Run(ctx) }()
			<-started
			if alive := r.Alive(); len(alive) != 1 || alive[0].ID != "a" {
				t.Errorf("Alive() while running: %+v", alive)
			}
			cancel(&runner.Interrupted{Signal: tc.signal})
			j := <-done
			if j.Status != journal.StatusInterrupted || j.ExitCode != tc.exit {
				t.Fatalf("got %s/%d, want interrupted/%d", j.Status, j.ExitCode, tc.exit)
			}
			if fin := step(t, j, "fin"); fin.Status != journal.StepPassed || !slices.Equal(fin.Logs, []string{"interrupted"}) {
				t.Errorf("finally after a signal: %s, run.status logged as %q", fin.Status, fin.Logs)
			}
			if _, err := os.Stat(filepath.Join(w.dir, "a")); !os.IsNotExist(err) {
				t.Error("resource a survived the interrupt")
			}
			if len(r.Alive()) != 0 {
				t.Errorf("still alive after cleanup: %+v", r.Alive())
			}
		})
	}
}

func TestPanicIsInternalErrorAndStillCleansUp(t *testing.T) {
	j, w := runSrc(t, `
name: panic
steps:
  - { id: a, action: test.create, with: { name: a } }
  - { id: p, action: test.panic, continue_on_error: true }
  - { id: never, action: test.counter }
`, runner.Options{}, nil)
	if j.Status != journal.StatusError || j.ExitCode != 2 || !strings.Contains(j.Error, "internal error in test.panic: boom") {
		t.Fatalf("got %s/%d %q", j.Status, j.ExitCode, j.Error)
	}
	if step(t, j, "never").Status != journal.StepSkipped {
		t.Error("a panic must stop the run even with continue_on_error")
	}
	if logs := strings.Join(step(t, j, "p").Logs, "\n"); !strings.Contains(logs, "goroutine") || !strings.Contains(logs, "boom") {
		t.Errorf("the panic's stack is not in the journal for the bug report: %q", logs)
	}
	if len(remaining(t, w)) != 0 {
		t.Error("resource left after panic")
	}
}

func TestBudgetStopsTheRun(t *testing.T) {
	j, w := runSrc(t, `
name: budget
budget: { max_usd: 0.0001 }
steps:
  - { id: a, action: test.create, with: { name: a, price: 100000 } }
  - { id: wait, action: test.block }
`, runner.Options{BudgetCheckEvery: time.Millisecond}, nil)
	if j.Status != journal.StatusFailed || !strings.Contains(j.Error, "budget exceeded") {
		t.Fatalf("got %s %q", j.Status, j.Error)
	}
	if len(remaining(t, w)) != 0 {
		t.Error("resource left after the budget stop")
	}
	if j.Cost.TotalUSD <= 0 || !j.Cost.Simulated {
		t.Errorf("cost %+v", j.Cost)
	}
}
