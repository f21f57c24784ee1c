package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/scnlabs/scn/internal/journal"
)

// scope is what expressions see; own (a step's outputs) adds top-level
// names in expect and until.
func (r *Runner) scope(own any) map[string]any {
	r.mu.Lock()
	steps := make(map[string]any, len(r.steps))
	for k, v := range r.steps {
		steps[k] = v
	}
	status := r.status
	r.mu.Unlock()
	m := map[string]any{
		"vars":  r.vars,
		"env":   r.env,
		"steps": steps,
		"run": map[string]any{"id": r.opts.RunID, "unix": int(r.started.Unix()),
			"started_at": r.started.UTC().Format(time.RFC3339), "target": r.j.Target,
			"status": status, "file": r.sc.File, "name": r.sc.Name},
	}
	if o, ok := own.(map[string]any); ok {
		for k, v := range o {
			if _, clash := m[k]; !clash {
				m[k] = v
			}
		}
	}
	return m
}

// eval runs a compiled expression; errors say which expression, where.
func (r *Runner) eval(e *Expr, scope map[string]any) (any, error) {
	if e.Program == nil {
		return nil, fmt.Errorf("%s: expression %q was not checked", e.Pos, e.Source)
	}
	v, err := expr.Run(e.Program, scope)
	if err != nil {
		return nil, fmt.Errorf("evaluating ${{ %s }} (%s): %s", e.Source, e.Pos, firstLine(err.Error()))
	}
	return v, nil
}

func (r *Runner) evalBool(e *Expr, scope map[string]any) (bool, error) {
	v, err := r.eval(e, scope)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: %q gave %s, not true or false", e.Pos, e.Source, formatValue(v))
	}
	return b, nil
}

// expectation evaluates a condition and, when it does not hold, the values
// of its parts, so a failure explains itself:
//
//	expectation failed: valid == total (valid = 2, total = 3)
func (r *Runner) expectation(e *Expr, scope map[string]any) journal.Expectation {
	x := journal.Expectation{Expr: e.Source}
	ok, err := r.evalBool(e, scope)
	if err != nil {
		x.Error = r.mask.String(err.Error())
		return x
	}
	x.OK = ok
	if !ok {
		for _, sub := range explain(e.Source, scope) {
			sub.Value = r.mask.String(sub.Value)
			x.Values = append(x.Values, sub)
		}
	}
	return x
}

func describeFailure(x journal.Expectation) string {
	if x.Error != "" {
		return x.Expr + ": " + x.Error
	}
	if v := values(x); v != "" {
		return x.Expr + " (" + v + ")"
	}
	return x.Expr
}

func values(x journal.Expectation) string {
	var parts []string
	for _, v := range x.Values {
		parts = append(parts, v.Expr+" = "+v.Value)
	}
	return strings.Join(parts, ", ")
}

// explain evaluates the interesting sub-expressions of src: operands of
// comparisons, calls and the values they read. Literals are left out.
func explain(src string, scope map[string]any) []journal.SubValue {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var subs []ast.Node
	var collect func(n ast.Node)
	collect = func(n ast.Node) {
		switch x := n.(type) {
		case *ast.BinaryNode:
			switch x.Operator {
			case "and", "&&", "or", "||", "??":
				collect(x.Left)
				collect(x.Right)
			default:
				subs = append(subs, x.Left, x.Right)
			}
		case *ast.UnaryNode:
			collect(x.Node)
		case *ast.ConditionalNode:
			collect(x.Cond)
		case *ast.BuiltinNode:
			subs = append(subs, x)
			subs = append(subs, x.Arguments...)
		case *ast.CallNode:
			subs = append(subs, x)
			subs = append(subs, x.Arguments...)
		default:
			subs = append(subs, x)
		}
	}
	collect(tree.Node)
	var out []journal.SubValue
	seen := map[string]bool{}
	for _, n := range subs {
		if isLiteral(n) {
			continue
		}
		s := n.String()
		if seen[s] || s == src && len(subs) > 1 {
			continue
		}
		seen[s] = true
		prog, err := expr.Compile(s, expr.Env(scope), expr.AllowUndefinedVariables())
		if err != nil {
			continue
		}
		v, err := expr.Run(prog, scope)
		val := short(formatValue(v), 200)
		if err != nil {
			val = "error: " + firstLine(err.Error())
		} else if v == nil {
			val = "nil"
		} else if str, ok := v.(string); ok {
			val = fmt.Sprintf("%q", short(str, 200))
		}
		out = append(out, journal.SubValue{Expr: s, Value: val})
		if len(out) >= 8 {
			break
		}
	}
	return out
}

func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.NilNode, *ast.ConstantNode, *ast.PredicateNode, *ast.PointerNode:
		return true
	}
	return false
}

func short(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
