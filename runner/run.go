package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/event"
	"github.com/scnlabs/scn/internal/journal"
	"github.com/scnlabs/scn/internal/resource"
	"github.com/scnlabs/scn/internal/target"
	"github.com/scnlabs/scn/internal/undo"
)

// Masker hides secret values (internal/secret implements it).
type Masker interface {
	Add(values ...string)
	String(s string) string
	Value(v any) any
}

// Options configure a run.
type Options struct {
	Target *target.Target
	// Vars are --var overrides, raw strings typed like YAML scalars.
	Vars map[string]string
	// Env is the environment expressions see as env.*; nil means os.Environ.
	Env    map[string]string
	Sink   event.Sink
	Masker Masker
	Ledger resource.Ledger
	RunID  string
	// Dir is the run directory: actions resolve relative local paths
	// under it (actions.Env.LocalPath); "" means the current directory.
	Dir string
	// TraceID is the trace the run is exported as (the CLI's telemetry
	// picks it), kept in the journal; "" when none is.
	TraceID string
	// CleanupTimeout bounds the finally steps, then (afresh) the undo stack,
	// which run even after an interruption or the scenario timeout. Default
	// 10m.
	CleanupTimeout time.Duration
	// MaxCost (USD) stops the run when the accrued cost passes it; the
	// smaller of this and budget.max_usd applies.
	MaxCost float64
	// BudgetCheckEvery is how often the accrued cost is checked (default 1s).
	BudgetCheckEvery time.Duration
	// UndoRetries are the pauses before retrying a failed undo (default
	// undo.DefaultRetries).
	UndoRetries []time.Duration
	// Fault makes the run a negative control: it damages the drill's data
	// after steps, and the verdict is inverted (see Fault). The caller
	// checks Fault.Applies first.
	Fault Fault
}

// NewRunID returns a sortable, unique run id: 20261126-182301-3fa9.
func NewRunID() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

// Interrupted is the cancellation cause the CLI sets on SIGINT/SIGTERM.
type Interrupted struct{ Signal os.Signal }

func (i *Interrupted) Error() string { return "interrupted by " + signalName(i.Signal) }

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT (Ctrl+C)"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprint(s)
}

var errScenarioTimeout = errors.New("scenario timeout")

// BudgetError stops a run whose cost would pass its limit before the next
// check.
type BudgetError struct{ Spent, Rate, Limit float64 }

func (b *BudgetError) Error() string {
	return fmt.Sprintf("budget exceeded: $%.4f spent at $%.4f/h would pass the $%.4f limit — stopping and cleaning up", b.Spent, b.Rate, b.Limit)
}

// Runner runs one checked scenario once.
type Runner struct {
	sc      *Scenario
	opts    Options
	sink    event.Sink
	mask    Masker
	undo    *undo.Stack
	tracker *resource.Tracker
	shared  *actions.Shared
	j       *journal.Journal
	started time.Time

	vars    map[string]any
	env     map[string]any
	timeout time.Duration // the scenario's, computed when it is an expression

	// secretVars are the names of the vars declared secret; secretReads
	// caches what masking needs of each expression (secretsOf), under
	// secretMu.
	secretVars  map[string]bool
	secretEnv   map[string]bool // env vars whose value is masked (noteSecretEnv)
	secretMu    sync.Mutex
	secretReads map[string]*exprSecrets
	tainted     int // values taint has masked (at most maxTainted)

	mu     sync.Mutex
	steps  map[string]any // steps.<id> as expressions see them
	typed  map[string]any // typed outputs, for the reports
	status string         // run.status for finally steps
	fatal  error          // an internal error (panic) or bad input found while running
}

// New prepares a run of a checked scenario: resolves vars (bad input comes
// back as Diagnostics).
func New(c *Checked, opts Options) (*Runner, error) {
	if c == nil || c.sc == nil {
		return nil, errors.New("runner.New: the scenario was not checked (runner.Check makes a Checked)")
	}
	sc := c.sc
	if opts.Sink == nil {
		opts.Sink = event.Discard{}
	}
	if opts.Masker == nil {
		opts.Masker = noMask{}
	}
	if opts.CleanupTimeout <= 0 {
		opts.CleanupTimeout = 10 * time.Minute
	}
	if opts.RunID == "" {
		opts.RunID = NewRunID()
	}
	r := &Runner{sc: sc, opts: opts, sink: maskingSink{opts.Sink, opts.Masker}, mask: opts.Masker, undo: &undo.Stack{Retries: opts.UndoRetries},
		shared: &actions.Shared{}, steps: map[string]any{}, typed: map[string]any{}, status: journal.StatusPassed}
	tname := ""
	if opts.Target != nil {
		tname = opts.Target.Name
		r.mask.Add(opts.Target.Secrets...)
	}
	r.tracker = resource.NewTracker(opts.RunID, tname, opts.Ledger, r.undo)
	r.started = time.Now()
	r.env = environ(opts.Env)
	if err := r.resolveVars(); err != nil {
		return nil, err
	}
	r.noteSecretEnv()
	r.timeout = sc.Timeout
	if e := sc.TimeoutExpr; e != nil {
		d, err := r.evalDuration(e, map[string]any{"vars": r.vars, "env": r.env})
		if err != nil {
			return nil, Diagnostics{{Pos: e.Pos, Msg: "timeout: " + err.Error()}}
		}
		r.timeout = d
	}
	if err := r.preflight(); err != nil {
		return nil, err
	}
	r.j = r.newJournal()
	if opts.Fault != nil {
		r.j.NegativeControl = &journal.NegativeControl{Kind: opts.Fault.Kind(), Injections: []journal.Injection{}}
	}
	return r, nil
}

// RunID returns the run's id.
func (r *Runner) RunID() string { return r.opts.RunID }

// Alive lists resources not destroyed yet: what a second Ctrl+C leaves.
func (r *Runner) Alive() []journal.Resource { return r.tracker.Alive() }

// Run executes the steps, the finally steps and the cleanup. Cancelling
// ctx (with an *Interrupted cause on a signal) stops the current step; the
// finally steps and undos still run under their own deadline.
func (r *Runner) Run(ctx context.Context) (j *journal.Journal) {
	defer func() {
		if v := recover(); v != nil {
			j = r.crashed(ctx, v)
		}
	}()
	r.sink.RunStarted(r.j, len(r.sc.Steps)+len(r.sc.Finally))

	stepsCtx, cancelSteps := context.WithCancelCause(ctx)
	defer cancelSteps(nil)
	if r.timeout > 0 {
		var cancel context.CancelFunc
		stepsCtx, cancel = context.WithTimeoutCause(stepsCtx, r.timeout, errScenarioTimeout)
		defer cancel()
	}
	stopWatch := r.watchBudget(stepsCtx, cancelSteps)

	var runErr error
	for _, s := range r.sc.Steps {
		if runErr != nil || stepsCtx.Err() != nil {
			r.record(r.skipped(s, r.skipReason(runErr, stepsCtx)))
			continue
		}
		js := r.runStep(stepsCtx, s)
		if js.Status != journal.StepPassed && js.Status != journal.StepSkipped && !js.ContinueOnError {
			runErr = fmt.Errorf("step %s failed: %s", js.ID, js.Error)
			if js.Status == journal.StepCanceled {
				runErr = r.cancelError(stepsCtx)
			}
		}
		if js.Status == journal.StepPassed && runErr == nil {
			runErr = r.injectFault(stepsCtx, s)
		}
	}
	stopWatch()
	if runErr == nil && stepsCtx.Err() != nil {
		runErr = r.cancelError(stepsCtx)
	}

	// finally steps, then undos, each get a fresh deadline: a timed-out or
	// interrupted run must still clean up, and a finally step that hangs
	// must not spend the time the undos need to stop the bills.
	finCtx, cancelFin := context.WithTimeout(context.WithoutCancel(ctx), r.opts.CleanupTimeout)
	defer cancelFin()
	r.setStatus(statusOf(runErr, ctx))
	for _, s := range r.sc.Finally {
		js := r.runStep(finCtx, s)
		if js.Status == journal.StepFailed && !js.ContinueOnError && runErr == nil {
			runErr = fmt.Errorf("finally step %s failed: %s", js.ID, js.Error)
		}
	}
	cancelFin()
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.CleanupTimeout)
	defer cancel()
	r.sink.CleanupStarted(len(r.undo.Pending()))
	undos := r.undo.Unwind(cleanCtx, func(u journal.Undo) {
		u.Error = r.mask.String(u.Error)
		r.sink.UndoFinished(&u)
	})
	var failedUndos []string
	for i := range undos {
		undos[i].Error = r.mask.String(undos[i].Error)
		if undos[i].Status == "failed" {
			failedUndos = append(failedUndos, undos[i].Description+": "+undos[i].Error)
		}
	}
	if len(failedUndos) > 0 && runErr == nil {
		runErr = fmt.Errorf("cleanup failed: %s", strings.Join(failedUndos, "; "))
	}
	r.j.Cleanup = undos
	r.finish(ctx, runErr)
	r.sink.RunFinished(r.j)
	return r.j
}

// crashed handles a bug in the runner itself (actions' panics are caught
// per step): whatever was created is still undone, and the run ends with
// status error, exit 2.
func (r *Runner) crashed(ctx context.Context, v any) *journal.Journal {
	ierr := &InternalError{Action: "the runner", Value: v, Stack: string(debug.Stack())}
	r.mu.Lock()
	r.fatal = ierr
	r.mu.Unlock()
	cleanCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.CleanupTimeout)
	defer cancel()
	func() {
		defer func() { _ = recover() }() // a second panic must not stop the report
		undos := r.undo.Unwind(cleanCtx, nil)
		for i := range undos {
			undos[i].Error = r.mask.String(undos[i].Error)
		}
		r.j.Cleanup = append(r.j.Cleanup, undos...)
	}()
	r.finish(ctx, ierr)
	r.sink.RunFinished(r.j)
	return r.j
}

func (r *Runner) skipReason(runErr error, ctx context.Context) string {
	if runErr != nil {
		return "an earlier step failed"
	}
	return r.cancelError(ctx).Error()
}

// cancelError says why the steps' context ended.
func (r *Runner) cancelError(ctx context.Context) error {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errScenarioTimeout):
		return fmt.Errorf("scenario timed out after %s", r.timeout)
	case cause != nil:
		return cause
	}
	return ctx.Err()
}

func statusOf(runErr error, ctx context.Context) string {
	var intr *Interrupted
	switch {
	case errors.As(context.Cause(ctx), &intr):
		return journal.StatusInterrupted
	case runErr != nil:
		return journal.StatusFailed
	}
	return journal.StatusPassed
}

func (r *Runner) setStatus(s string) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

// watchBudget cancels the steps when the accrued cost passes the limit.
func (r *Runner) watchBudget(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	limit := r.opts.MaxCost
	if r.sc.Budget != nil && (limit <= 0 || r.sc.Budget.MaxUSD < limit) {
		limit = r.sc.Budget.MaxUSD
	}
	if limit <= 0 {
		return func() {}
	}
	every := r.opts.BudgetCheckEvery
	if every <= 0 {
		every = time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				// Stop before the limit would be passed by the next check.
				spent := r.tracker.Cost().TotalUSD
				if next := spent + r.tracker.RateNow()*every.Hours(); next > limit {
					cancel(&BudgetError{Spent: spent, Rate: r.tracker.RateNow(), Limit: limit})
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// record appends a finished step to the journal (publish has made it
// visible to expressions).
func (r *Runner) record(js *journal.Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.j.Steps = append(r.j.Steps, *js)
}

type noMask struct{}

func (noMask) Add(...string)          {}
func (noMask) String(s string) string { return s }
func (noMask) Value(v any) any        { return v }
