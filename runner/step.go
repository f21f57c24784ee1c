package runner

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/plural"
)

// InternalError is a bug in scn or an action (a panic): the run ends with
// status error (exit 2), after its cleanup.
type InternalError struct {
	Action string
	Value  any
	Stack  string
}

func (e *InternalError) Error() string {
	return fmt.Sprintf("internal error in %s: %v (this is a bug in scn; the cleanup still ran)", e.Action, e.Value)
}

func (r *Runner) newStep(s *Step) *journal.Step {
	return &journal.Step{Index: s.Index, ID: s.ID, Name: s.Name, Action: s.Action, Kind: s.Kind(),
		Section: s.Section, Line: s.Pos.Line}
}

// skipped records a step that does not run.
func (r *Runner) skipped(s *Step, reason string) *journal.Step {
	js := r.newStep(s)
	js.Status, js.SkipReason = journal.StepSkipped, r.mask.String(reason)
	r.publish(s, js, nil)
	r.sink.StepFinished(js)
	return js
}

// runStep runs one step to completion and records it.
func (r *Runner) runStep(ctx context.Context, s *Step) *journal.Step {
	if s.If != nil {
		ok, err := r.evalBool(s.If, r.scope(nil))
		if err != nil {
			js := r.newStep(s)
			js.Status, js.Error = journal.StepFailed, r.mask.String(err.Error())
			r.publish(s, js, nil)
			r.sink.StepFinished(js)
			r.record(js)
			return js
		}
		if !ok {
			js := r.skipped(s, "if: "+s.If.Source+" is false")
			r.record(js)
			return js
		}
	}
	js := r.newStep(s)
	r.sink.StepStarted(js)
	start := time.Now()
	js.StartedAt = start.UTC()
	var out any
	tm, err := r.timing(s)
	switch {
	case err != nil:
	case s.Action == "":
		err = r.runAsserts(s, js)
	default:
		out, err = r.runAction(ctx, s, js, tm)
	}
	js.EndedAt = time.Now().UTC()
	js.Seconds = time.Since(start).Seconds()
	var ie *InternalError
	internal := errors.As(err, &ie)
	switch {
	case err == nil:
		js.Status = journal.StepPassed
	case ctx.Err() != nil && !internal:
		js.Status, js.Error = journal.StepCanceled, r.mask.String(err.Error())
	default:
		js.Status, js.Error = journal.StepFailed, r.mask.String(err.Error())
		js.ContinueOnError = s.ContinueOnError && !internal // a panic is never tolerated
		js.FailedCheck = failedCheck(err, out)
	}
	if internal {
		r.mu.Lock()
		r.fatal = ie
		r.mu.Unlock()
		// The stack goes in the journal: it is what a bug report needs.
		js.Logs = append(js.Logs, r.mask.String("internal error: "+fmt.Sprint(ie.Value)+"\n"+ie.Stack))
	}
	r.publish(s, js, out)
	r.sink.StepFinished(js)
	r.record(js)
	return js
}

// publish makes the step visible to later expressions as steps.<id>.
func (r *Runner) publish(s *Step, js *journal.Step, out any) {
	v := map[string]any{}
	if m, ok := ToGeneric(out).(map[string]any); ok {
		v = m
	} else if s.Spec != nil {
		// A failed or skipped step still has every output, zero-valued,
		// so later expressions (if: steps.x.status == 'failed') evaluate.
		v = ToGeneric(s.Spec.NewOutputs()).(map[string]any)
	}
	v["status"], v["seconds"], v["error"], v["tries"] = js.Status, js.Seconds, js.Error, js.Attempts
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.IDGiven {
		r.steps[s.ID] = v
	}
	if out != nil {
		r.typed[s.ID] = out
	}
}

func (r *Runner) runAsserts(s *Step, js *journal.Step) error {
	return r.conditions("assertion", s.Assert, r.scope(nil), js)
}

// conditions evaluates every condition (all of them, for the journal) and
// fails naming those that do not hold, with the values of their parts.
func (r *Runner) conditions(what string, exprs []*Expr, scope map[string]any, js *journal.Step) error {
	var failed []string
	for _, e := range exprs {
		x := r.expectation(e, scope)
		js.Expectations = append(js.Expectations, x)
		if !x.OK {
			failed = append(failed, describeFailure(x))
		}
	}
	if len(failed) > 0 {
		err := errors.New(what + " failed: " + strings.Join(failed, "; "))
		for _, x := range js.Expectations {
			if x.Error != "" {
				return err // could not be evaluated: not a check that held false
			}
		}
		return actions.Verification(err)
	}
	return nil
}

// runAction runs the action with retry (on any failure) and until
// (polling while the action succeeds but its condition is false).
func (r *Runner) runAction(ctx context.Context, s *Step, js *journal.Step, tm timing) (any, error) {
	attempts, delay := 1, tm.delay
	if s.Retry != nil {
		attempts = s.Retry.Attempts
	}
	for attempt := 1; ; attempt++ {
		js.Expectations = nil
		out, err := r.poll(ctx, s, js, tm)
		if err == nil {
			return out, nil
		}
		var bad *badParams
		if attempt >= attempts || ctx.Err() != nil || errors.As(err, &bad) || errors.As(err, new(*InternalError)) {
			if attempts > 1 && attempt >= attempts {
				err = fmt.Errorf("%w (after %s)", err, plural.Count(attempt, "attempt"))
			}
			return out, err
		}
		r.sink.Log(s.ID, fmt.Sprintf("attempt %d/%d failed: %s — retrying in %s", attempt, attempts, r.mask.String(err.Error()), delay))
		if err := sleep(ctx, delay); err != nil {
			return out, err
		}
		delay = time.Duration(float64(delay) * s.Retry.Backoff)
		if tm.maxDelay > 0 && delay > tm.maxDelay {
			delay = tm.maxDelay
		}
	}
}

// poll runs the action once, or — with until — until its condition holds.
func (r *Runner) poll(ctx context.Context, s *Step, js *journal.Step, tm timing) (any, error) {
	var deadline time.Time
	interval := time.Second
	if tm.interval > 0 {
		interval = tm.interval
	}
	if tm.untilTimeout > 0 {
		deadline = time.Now().Add(tm.untilTimeout)
	}
	for polls := 1; ; polls++ {
		out, err := r.attempt(ctx, s, js, tm.timeout)
		if err != nil {
			return out, err
		}
		scope := r.scope(ToGeneric(out))
		if s.Until != nil {
			x := r.expectation(s.Until.Expr, scope)
			if x.Error != "" {
				return out, fmt.Errorf("until %q: %s", s.Until.Expr.Source, x.Error)
			}
			if !x.OK {
				if !deadline.IsZero() && time.Now().Add(interval).After(deadline) {
					js.Expectations = append(js.Expectations, x)
					return out, fmt.Errorf("until %s: still false after %s (%s): %s",
						s.Until.Expr.Source, tm.untilTimeout, plural.Count(polls, "poll"), values(x))
				}
				r.sink.Wait(s.ID, "until "+s.Until.Expr.Source, time.Since(js.StartedAt))
				if err := sleep(ctx, interval); err != nil {
					return out, err
				}
				continue
			}
			// The until that held is part of what the run proved.
			js.Expectations = append(js.Expectations, x)
		}
		return out, r.conditions("expectation", s.Expect, scope, js)
	}
}

// badParams is a with: value that does not fit the action: retrying
// cannot help.
type badParams struct{ err error }

func (b *badParams) Error() string { return b.err.Error() }
func (b *badParams) Unwrap() error { return b.err }

// attempt evaluates with:, decodes it into the typed params and runs the
// action once under the step's timeout.
func (r *Runner) attempt(ctx context.Context, s *Step, js *journal.Step, timeout time.Duration) (any, error) {
	js.Attempts++ // every run: retry attempts and until polls (steps.<id>.tries)
	scope := r.scope(nil)
	with := map[string]any{}
	if s.With != nil {
		v, err := s.With.Eval(func(e *Expr) (any, error) { return r.eval(e, scope) })
		if err != nil {
			return nil, &badParams{err}
		}
		with = v.(map[string]any)
	}
	js.With, _ = r.mask.Value(with).(map[string]any)
	params := s.Spec.NewParams()
	if err := actions.Decode(params, with, false); err != nil {
		return nil, &badParams{fmt.Errorf("with: %w", err)}
	}
	actx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	env := r.actionEnv(s)
	out, err := runSafely(actx, s.Spec, env, params)
	js.Logs = nil
	for _, l := range env.Logs() {
		js.Logs = append(js.Logs, r.mask.String(l))
	}
	if out != nil {
		js.Outputs = r.mask.Value(ToGeneric(out))
	}
	if err != nil && timeout > 0 && errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %s: %w", timeout, err)
	}
	return out, err
}

func (r *Runner) actionEnv(s *Step) *actions.Env {
	env := &actions.Env{RunID: r.opts.RunID, Dir: r.opts.Dir, Step: s.ID, Keep: s.Keep,
		Target: r.opts.Target, Resources: r.tracker, Undo: r.undo, Events: r.sink, Shared: r.shared}
	if t := r.opts.Target; t != nil {
		env.Connect, env.Probe = t.Connect, t.Probe
	}
	return env
}

// runSafely turns a panic in an action into an InternalError.
func runSafely(ctx context.Context, spec *actions.Spec, env *actions.Env, params any) (out any, err error) {
	defer func() {
		if v := recover(); v != nil {
			out, err = nil, &InternalError{Action: spec.Name, Value: v, Stack: string(debug.Stack())}
		}
	}()
	return spec.Run(ctx, env, params)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// timing is a step's durations for this run, literal or computed.
type timing struct {
	timeout, delay, maxDelay, interval, untilTimeout time.Duration
}

// timing computes the step's durations; ${{ }} ones are evaluated now.
func (r *Runner) timing(s *Step) (timing, error) {
	tm := timing{timeout: s.Timeout}
	if s.Retry != nil {
		tm.delay, tm.maxDelay = s.Retry.Delay, s.Retry.MaxDelay
	}
	if s.Until != nil {
		tm.interval, tm.untilTimeout = s.Until.Interval, s.Until.Timeout
	}
	if len(s.DurationExprs) == 0 {
		return tm, nil
	}
	scope := r.scope(nil)
	for key, e := range s.DurationExprs {
		d, err := r.evalDuration(e, scope)
		if err != nil {
			return tm, fmt.Errorf("%s: %w", key, err)
		}
		switch key {
		case "timeout":
			tm.timeout = d
		case "retry.delay":
			tm.delay = d
		case "retry.max_delay":
			tm.maxDelay = d
		case "until.interval":
			tm.interval = d
		case "until.timeout":
			tm.untilTimeout = d
		}
	}
	return tm, nil
}

// evalDuration computes a duration expression: "30s", or seconds.
func (r *Runner) evalDuration(e *Expr, scope map[string]any) (time.Duration, error) {
	v, err := r.eval(e, scope)
	if err != nil {
		return 0, err
	}
	var d actions.Duration
	if err := d.DecodeParam(v); err != nil {
		return 0, fmt.Errorf("${{ %s }} (%s): %w", e.Source, e.Pos, err)
	}
	return d.Duration, nil
}
