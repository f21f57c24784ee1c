package runner

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"

	"github.com/scnlabs/scn/actions"
	"github.com/scnlabs/scn/internal/journal"
)

var restoredDataType = reflect.TypeFor[actions.RestoredData]()

// Recovery objectives (objectives: name → condition) are judged after the
// steps and the cleanup, on the figures the reports show: the run's usual
// scope plus phases.<name> (seconds), metrics.<name> (report.metrics),
// cost_usd and validation. A missed objective fails a run that otherwise
// passed; on a run that failed anyway, objectives whose figures exist are
// still judged, the others are "unknown".

// validationFields are the names under validation, as metrics.json has them.
var validationFields = types.Map{"success": types.Bool, "files_validated": types.Int, "files_total": types.Int}

// PhaseNames are the phases.<name> an objective may read: the scenario's
// report.phases, then the recovery phases the runner measures itself
// (journal.RecoveryPhaseNames: detection, provisioning, restore,
// verification) unless the scenario names a phase so itself — its own
// definition wins. One list, so the static check and the run agree.
func (sc *Scenario) PhaseNames() []string {
	var out []string
	for _, p := range sc.Report.Phases {
		out = append(out, p.Name)
	}
	for _, name := range journal.RecoveryPhaseNames {
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

// objectiveScope is the typed scope of objectives: every step, and the
// figures of the closing report.
func (c *checker) objectiveScope() types.Map {
	env := c.envFor(c.order)
	phases, metrics := types.Map{}, types.Map{}
	for _, p := range c.sc.PhaseNames() {
		phases[p] = types.Float64
	}
	for _, m := range c.sc.Report.Metrics {
		metrics[m.Name] = types.Any
	}
	env["phases"], env["metrics"] = phases, metrics
	env["cost_usd"], env["validation"] = types.Float64, validationFields
	return env
}

// mayRecover says whether the scenario's steps can make the failover whose
// recovery phases the runner measures (journal.MayRecover).
func (c *checker) mayRecover() bool {
	var plan []journal.PlannedStep
	for _, s := range c.sc.Steps {
		p := journal.PlannedStep{Action: s.Action}
		if s.Spec != nil {
			p.Restores = reflect.PointerTo(s.Spec.Outputs).Implements(restoredDataType)
			if f, ok := actions.Lookup(actions.FieldsOf(s.Spec.Params), "reason"); ok {
				p.Reason = f.Default
				if v := s.withValue(f); v != nil {
					p.Reason = ""
					if !v.HasExpr() { // computed: "" counts as possible
						if lit, err := v.Eval(nil); err == nil {
							p.Reason = fmt.Sprint(lit)
						}
					}
				}
			}
		}
		plan = append(plan, p)
	}
	return journal.MayRecover(plan)
}

// withValue is the value step s gives parameter f (by name or alias), nil
// when it gives none.
func (s *Step) withValue(f actions.Field) *Value {
	if s.With == nil {
		return nil
	}
	for _, k := range s.With.Keys {
		if k == f.Name || slices.Contains(f.Aliases, k) {
			return s.With.Map[k]
		}
	}
	return nil
}

// measuredPhases are the phases an objective of this scenario can read:
// its report.phases, and the recovery phases when it can recover.
func (c *checker) measuredPhases() []string {
	names := c.sc.PhaseNames() // report.phases first, then the recovery phases
	if c.mayRecover() {
		return names
	}
	return names[:len(c.sc.Report.Phases)]
}

func (c *checker) checkObjectives() {
	if len(c.sc.Objectives) == 0 {
		return
	}
	env := c.objectiveScope()
	known := map[string][]string{"phases": c.measuredPhases(), "validation": sortedKeys(validationFields)}
	for _, m := range c.sc.Report.Metrics {
		known["metrics"] = append(known["metrics"], m.Name)
	}
	for _, o := range c.sc.Objectives {
		if c.checkFigureRefs(o.Expr, known) {
			c.compileRefs(o.Expr, env, true, c.order)
		}
	}
}

// checkFigureRefs reports phases.<x>, metrics.<x> and validation.<x> that
// the scenario does not define, naming the ones it does.
func (c *checker) checkFigureRefs(e *Expr, known map[string][]string) bool {
	tree, err := parser.Parse(e.Source)
	if err != nil {
		c.exprError(e, err, nil)
		return false
	}
	ok := true
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		id, prop, isRef := identMember(n)
		if !isRef {
			return
		}
		names, figure := known[id.Value]
		if !figure || slices.Contains(names, prop) {
			return
		}
		pos := e.Pos
		pos.Col += id.Location().From
		if id.Value == "phases" && slices.Contains(journal.RecoveryPhaseNames, prop) {
			d := c.diags.errorf(pos, "objective %q reads phases.%s, but this scenario has no failover to measure: %s",
				e.Source, prop, journal.NoRecovery)
			d.Hint = fmt.Sprintf("add that failover, or time steps of your own: report: { phases: { %s: [<step ids>] } }", prop)
			ok = false
			return
		}
		what := map[string]string{"phases": "phase", "metrics": "metric", "validation": "validation field"}[id.Value]
		d := c.diags.errorf(pos, "unknown %s %q in objective %q", what, prop, e.Source)
		switch {
		case len(names) == 0 && id.Value == "phases":
			d.Hint = "this scenario measures no phases: name some under report.phases"
		case len(names) == 0:
			d.Hint = "define it under report.metrics to use metrics.<name>"
		default:
			d.Hint = "known: " + strings.Join(names, ", ")
			if id.Value == "phases" {
				d.Hint += " (name more under report.phases)"
			}
		}
		ok = false
	}))
	return ok
}

// figures is what objectives see beyond the usual scope, taken from the
// finished journal. A phase any of whose steps did not finish, and a
// metric that could not be computed, are absent: an objective reading
// them is unknown, never met by a zero.
func figures(j *journal.Journal) map[string]any {
	ran := map[string]bool{}
	for _, s := range j.Steps {
		ran[s.ID] = s.Status == journal.StepPassed || s.Status == journal.StepFailed
	}
	phases := map[string]any{}
	for _, p := range j.Phases {
		complete := true
		for _, id := range p.Steps {
			complete = complete && ran[id]
		}
		if complete {
			phases[p.Name] = p.Seconds
		}
	}
	// Recovery phases exist only when the run got that far (a failover
	// found in its steps); a phase the scenario defines itself keeps its own.
	if rec := j.Recovery; rec != nil {
		secs := rec.Phases.Seconds()
		for i, name := range journal.RecoveryPhaseNames {
			if _, own := phases[name]; !own {
				phases[name] = secs[i]
			}
		}
	}
	metrics := map[string]any{}
	for k, v := range j.Metrics {
		if s, isStr := v.(string); isStr && strings.HasPrefix(s, "error: ") {
			continue
		}
		metrics[k] = plainNumbers(v)
	}
	out := map[string]any{"phases": phases, "metrics": metrics, "cost_usd": j.Cost.TotalUSD, "validation": nil}
	if v := j.Validation; v != nil {
		out["validation"] = map[string]any{"success": v.Success, "files_validated": v.Valid, "files_total": v.Total}
	}
	return out
}

// judgeObjectives evaluates every objective on the finished journal's
// figures.
func (r *Runner) judgeObjectives() []journal.Objective {
	if len(r.sc.Objectives) == 0 {
		return nil
	}
	scope := r.scope(nil)
	figs := figures(r.j)
	for k, v := range figs {
		scope[k] = v
	}
	out := make([]journal.Objective, 0, len(r.sc.Objectives))
	for _, o := range r.sc.Objectives {
		x := r.expectation(o.Expr, scope)
		if x.Error != "" {
			if why := r.missingPhase(o.Expr.Source, figs["phases"].(map[string]any)); why != "" {
				x.Error = why // not expr's "invalid operation: <nil> <= int"
			}
		}
		jo := journal.Objective{Name: o.Name, Expr: x.Expr, Values: x.Values, Error: x.Error}
		switch {
		case x.Error != "":
			jo.Status = journal.ObjectiveUnknown
		case x.OK:
			jo.Status = journal.ObjectiveMet
		default:
			jo.Status = journal.ObjectiveMissed
		}
		// expectation keeps the values of every check, passed or not; an
		// unknown objective's explain which figure was missing.
		if len(jo.Values) == 0 {
			for _, sub := range explain(o.Expr.Source, scope, r.readsSecret) {
				sub.Value = r.mask.String(sub.Value)
				jo.Values = append(jo.Values, sub)
			}
		}
		out = append(out, jo)
	}
	return out
}

// missingPhase says why a phases.<name> that src reads has no figure,
// "" when every one it reads has one.
func (r *Runner) missingPhase(src string, phases map[string]any) string {
	tree, err := parser.Parse(src)
	if err != nil {
		return ""
	}
	var why string
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		id, prop, isRef := identMember(n)
		if !isRef || why != "" || id.Value != "phases" {
			return
		}
		if _, has := phases[prop]; has {
			return
		}
		own := slices.ContainsFunc(r.sc.Report.Phases, func(p PhaseDef) bool { return p.Name == prop })
		switch {
		case own:
			why = fmt.Sprintf("phases.%s: a step of the phase did not finish, so it was not measured", prop)
		case slices.Contains(journal.RecoveryPhaseNames, prop):
			why = fmt.Sprintf("phases.%s: the run measured no recovery: %s, each passed", prop, journal.NoRecovery)
		}
	}))
	return why
}

// objectivesError is why a run that otherwise passed fails on its
// objectives: the first missed one (or, failing that, the first that
// could not be judged), in one line with its values.
func objectivesError(objs []journal.Objective) error {
	for _, want := range []string{journal.ObjectiveMissed, journal.ObjectiveUnknown} {
		for _, o := range objs {
			if o.Status == want {
				return fmt.Errorf("%s", o.Line())
			}
		}
	}
	return nil
}

// plainNumbers turns the json.Numbers a computed metric may hold into int
// or float64, which expressions compare with numbers.
func plainNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plainNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainNumbers(e)
		}
		return out
	}
	return v
}
