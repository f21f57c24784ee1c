package runner

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/scnlabs/scn/actions"
)

// Pre-flight: once the vars are known (New), what a step computes from vars
// and env alone is known too, so it is computed and checked then, as the
// step would at its start: `--var check_interval=fast`, `--var
// file_count=0`, a default `n: 2.5` given to `count:` are bad input (exit 2)
// before the first step rents a machine, not a failure after one was
// billed. The static check cannot see them (it knows a var's type, not the
// value --var gives). What reads steps, run or the clock (now, date) is
// left to its step, and so is a step whose `if:` the vars do not decide.

// preflight checks every step's parameters and durations computed from vars
// and env alone, and that the target has what each step needs (a standby
// provider for standby.create, a store for snapshot.*).
func (r *Runner) preflight() error {
	var diags Diagnostics
	scope := map[string]any{"vars": r.vars, "env": r.env}
	eval := func(e *Expr) (any, error) { return r.eval(e, scope) }
	for _, s := range r.sc.All() {
		if s.If != nil {
			if !fromVars(s.If) {
				continue
			}
			if run, err := r.evalBool(s.If, scope); err != nil || !run {
				continue // skipped, or its step says why its if: fails
			}
		}
		// A step allowed to fail (continue_on_error) may be a portable
		// scenario's optional part: its target may lack what it needs.
		if t := r.opts.Target; t != nil && s.Spec != nil && !s.ContinueOnError {
			for _, need := range s.Spec.Needs {
				if why := t.Lacks(need); why != "" {
					diags.errorf(s.ActionPos, "step %s: %s cannot run here: %s (nothing was started)", s.ID, s.Action, why)
				}
			}
		}
		for _, k := range sortedKeys(s.DurationExprs) {
			e := s.DurationExprs[k]
			if !fromVars(e) {
				continue
			}
			var d actions.Duration
			v, err := r.eval(e, scope)
			if err == nil {
				err = d.DecodeParam(v)
			}
			if err != nil {
				diags.errorf(e.Pos, "step %s: %s: %s%s", s.ID, k, r.mask.String(err.Error()), fromVarsNote).Hint = varsHint
			}
		}
		if s.With == nil || s.Spec == nil {
			continue
		}
		fields := actions.FieldsOf(s.Spec.Params)
		for _, k := range s.With.Keys {
			v := s.With.Map[k]
			f, ok := actions.Lookup(fields, k)
			if !ok || !v.HasExpr() || !allFromVars(v.Exprs()) {
				continue // unknown keys and literals are the static check's
			}
			val, err := v.Eval(eval)
			if err != nil {
				diags.errorf(v.Pos, "step %s: parameter %s: %s%s", s.ID, f.Name, r.mask.String(err.Error()), fromVarsNote).Hint = varsHint
				continue
			}
			if msg, hint := valueProblem(val, f, f.Name); msg != "" {
				d := diags.errorf(v.Pos, "step %s: %s%s", s.ID, r.mask.String(msg), fromVarsNote)
				d.Hint = varsHint
				if hint != "" {
					d.Hint = hint + "; " + varsHint
				}
			}
		}
	}
	if len(diags) > 0 {
		return diags
	}
	return nil
}

const (
	fromVarsNote = " (computed from vars before the run: nothing was started)"
	varsHint     = "check the var's default and any --var given for it"
)

func allFromVars(es []*Expr) bool {
	for _, e := range es {
		if !fromVars(e) {
			return false
		}
	}
	return true
}

// fromVars reports whether e reads nothing but vars and env: every name it
// uses is one of those two (a function, a step, run or a let is not), and
// it calls no builtin whose value changes with time (now, date).
func fromVars(e *Expr) bool {
	tree, err := parser.Parse(e.Source)
	if err != nil {
		return false
	}
	ok := true
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		switch x := n.(type) {
		case *ast.IdentifierNode:
			ok = ok && (x.Value == "vars" || x.Value == "env")
		case *ast.BuiltinNode:
			ok = ok && x.Name != "now" && x.Name != "date"
		case *ast.CallNode:
			ok = false
		}
	}))
	return ok
}
