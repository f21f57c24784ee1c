// Package runner loads scenarios, checks them statically, runs them and
// records the journal. Loading keeps yaml.v3's node positions so every
// error points at file:line:col; checking resolves every action, parameter,
// step reference and expression before anything runs (a scenario that
// fails its check creates nothing and spends nothing); running executes the
// steps in order with if/expect/assert/timeout/retry/until/continue_on_error,
// then the finally steps, then unwinds the undo stack whatever happened.
package runner

import (
	"fmt"
	"time"

	"github.com/scnlabs/scn/actions"
)

// Pos is a place in a scenario file.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Scenario is a loaded scenario file.
type Scenario struct {
	File        string
	Name        string
	Description string
	Vars        []*Var
	Timeout     time.Duration // 0 = none
	TimeoutExpr *Expr         // timeout: "${{ vars.x }}", computed once vars are known
	Budget      *Budget
	Steps       []*Step
	Finally     []*Step
	Report      Report
	// Objectives are the recovery objectives (objectives:), in file order,
	// judged once the steps and the cleanup are done.
	Objectives []*Objective
}

// Objective is one `name: expression` of objectives:, e.g.
// `rto: "metrics.mttr_seconds <= 120"`.
type Objective struct {
	Name string
	Pos  Pos
	Expr *Expr
}

// All returns the steps then the finally steps, in a new slice.
func (sc *Scenario) All() []*Step {
	return append(append([]*Step{}, sc.Steps...), sc.Finally...)
}

// Var is a declared variable: `name: value`, or the long form
// `name: {default: value, secret: true, required: true, description: ...}`.
type Var struct {
	Name        string
	Pos         Pos
	Default     *Value // nil when required and not given a default
	Secret      bool
	Required    bool
	Description string
}

// Budget stops the run (and cleans up) when the accrued cost would pass it.
type Budget struct {
	MaxUSD float64
	Pos    Pos
}

// Step is one step of steps: or finally:.
type Step struct {
	Pos     Pos
	Index   int    // 1-based among steps then finally
	Section string // steps | finally
	ID      string // given, or generated (never referable) when absent
	IDGiven bool
	IDPos   Pos
	Name    string

	Action    string
	ActionPos Pos
	With      *Value // mapping, or nil
	// withBad is set when with: was given but is no mapping: that is
	// reported, and its parameters are not also reported missing.
	withBad bool
	Spec    *actions.Spec

	Assert []*Expr // for `- assert:` steps
	Expect []*Expr
	If     *Expr

	Timeout time.Duration
	Retry   *Retry
	// Durations written as ${{ }} (timeout, retry.delay, retry.max_delay,
	// until.interval, until.timeout), computed when the step starts.
	DurationExprs   map[string]*Expr
	Until           *Until
	ContinueOnError bool
	Keep            bool
	KeepPos         Pos
}

// Kind is "assert" or "action".
func (s *Step) Kind() string {
	if s.Action == "" {
		return "assert"
	}
	return "action"
}

// Title is how the step is shown: its name, else its action, else its assertion.
func (s *Step) Title() string {
	switch {
	case s.Name != "":
		return s.Name
	case s.Action != "":
		return s.Action
	case len(s.Assert) > 0:
		return "assert " + s.Assert[0].Source
	}
	return s.ID
}

// Retry re-runs a failed step.
type Retry struct {
	Attempts int           // total attempts, ≥ 1
	Delay    time.Duration // before the second attempt
	Backoff  float64       // delay multiplier per attempt (default 2)
	MaxDelay time.Duration // cap (default none)
}

// Until re-runs a step until Expr is true (polling).
type Until struct {
	Expr     *Expr
	Interval time.Duration
	Timeout  time.Duration
}

// Report says how to summarise the run.
type Report struct {
	Phases     []PhaseDef
	Validation string // step id whose outputs are the validation verdict
	ValPos     Pos
	Metrics    []MetricDef
}

// PhaseDef is a named group of steps whose seconds add up to a phase.
type PhaseDef struct {
	Name  string
	Pos   Pos
	Steps []string
	Poss  []Pos
}

// MetricDef is a value computed at the end: report.metrics.name.
type MetricDef struct {
	Name  string
	Value *Value
}
