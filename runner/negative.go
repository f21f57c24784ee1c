package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
)

// Negative controls (scn run --negative-control KIND): the drill runs with
// one fault injected — a Fault damages what a step produced right after
// the step — and its verdict is inverted. A drill that has only ever been
// seen green proves nothing; one that fails when its data is damaged, at a
// step that checks the data, does. The runner knows no kind: it calls the
// Fault after each passed step of steps: and judges the run by the
// journal.

// Fault is one kind of negative control.
type Fault interface {
	// Kind names it: corrupt-file, truncate-snapshot ...
	Kind() string
	// Applies says, before anything runs, whether some step of sc
	// produces what it damages (nil), or why it cannot apply.
	Applies(sc *Scenario) error
	// After damages what step s produced (its outputs out), when it does
	// apply to that step, and says what it did; "" when it did nothing.
	// An error is an infrastructure failure: the run fails with it.
	After(ctx context.Context, env *actions.Env, s *Step, out any) (did string, err error)
}

// failedCheck says whether a failed step failed because a check did not
// hold — an expect or assert that was false, a file or a snapshot that
// did not match its record — rather than because something broke.
func failedCheck(err error, out any) bool {
	if errors.As(err, new(*actions.VerificationError)) {
		return true
	}
	if v, ok := out.(actions.ValidationReport); ok {
		if val, checked := v.Validation(); checked && !val.Success {
			return true
		}
	}
	return false
}

// injectFault calls the negative control after a passed step and records
// what it did. Its error fails the run like a step's.
func (r *Runner) injectFault(ctx context.Context, s *Step) error {
	f := r.opts.Fault
	r.mu.Lock()
	out := r.typed[s.ID]
	r.mu.Unlock()
	if f == nil || out == nil {
		return nil
	}
	did, err := f.After(ctx, r.actionEnv(s), s, out)
	if err != nil {
		return fmt.Errorf("negative control %s after step %s: %w", f.Kind(), s.ID, err)
	}
	if did == "" {
		return nil
	}
	did = r.mask.String(did)
	r.mu.Lock()
	r.j.NegativeControl.Injections = append(r.j.NegativeControl.Injections, journal.Injection{Step: s.ID, Did: did})
	r.mu.Unlock()
	r.sink.Log(s.ID, "negative control "+f.Kind()+": "+did)
	return nil
}

// judgeControl inverts the verdict of a run with a negative control, once
// its status is known: detected (a check failed after the first
// injection) passes, exposed (the run passed anyway) fails. An
// infrastructure failure, a failed cleanup, an interruption or an internal
// error keep their status and exit code.
func (r *Runner) judgeControl() {
	j := r.j
	nc := j.NegativeControl
	if nc == nil {
		return
	}
	if j.Status != journal.StatusPassed && j.Status != journal.StatusFailed {
		nc.Verdict = journal.ControlError
		return
	}
	first := -1 // index of the step the fault was first injected after
	if len(nc.Injections) > 0 {
		for _, s := range j.Steps {
			if s.ID == nc.Injections[0].Step {
				first = s.Index
				break
			}
		}
	}
	var failing *journal.Step
	for i, s := range j.Steps {
		if s.Status == journal.StepFailed && !s.ContinueOnError || s.Status == journal.StepCanceled {
			failing = &j.Steps[i]
			break
		}
	}
	var failedUndos []string
	for _, u := range j.Cleanup {
		if u.Status == "failed" {
			failedUndos = append(failedUndos, u.Description+": "+u.Error)
		}
	}
	cleanupFailed := len(failedUndos) > 0
	switch {
	case failing != nil && failing.FailedCheck && first >= 0 && failing.Index > first:
		nc.Verdict, nc.DetectedAt = journal.ControlDetected, failing.ID
	case failing != nil:
		nc.Verdict = journal.ControlError // something broke: the drill proved nothing either way
		return
	case first < 0:
		nc.Verdict = journal.ControlError
		if j.Error == "" {
			j.Status, j.ExitCode = journal.StatusFailed, 1
			j.Error = fmt.Sprintf("negative control %s was never injected: no step it damages ran", nc.Kind)
		}
		return
	case failedObjective(j) != nil:
		nc.Verdict, nc.DetectedAt = journal.ControlDetected, "objective:"+failedObjective(j).Name
	default:
		nc.Verdict = journal.ControlExposed
		if !cleanupFailed {
			j.Status, j.ExitCode = journal.StatusFailed, 1
			j.Error = fmt.Sprintf("this drill cannot see %s: it passed after %s", nc.Kind, nc.Injections[0].Did)
		}
		return
	}
	if cleanupFailed { // detected, but the cleanup failure stands
		j.Error = "cleanup failed: " + strings.Join(failedUndos, "; ")
		return
	}
	j.Status, j.ExitCode, j.Error = journal.StatusPassed, 0, ""
}

// failedObjective is the objective whose line is the run's error.
func failedObjective(j *journal.Journal) *journal.Objective {
	for i, o := range j.Objectives {
		if o.Status == journal.ObjectiveMissed && j.Error == o.Line() {
			return &j.Objectives[i]
		}
	}
	return nil
}
