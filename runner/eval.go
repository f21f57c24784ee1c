package runner

import (
	"fmt"
	"math"
	"slices"
	"strconv"
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
	r.taint(e.Source, v)
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

// expectation evaluates a condition and the values of its parts, so a
// failure explains itself and a pass shows what it proved:
//
//	expectation failed: valid == total (valid = 2, total = 3)
func (r *Runner) expectation(e *Expr, scope map[string]any) journal.Expectation {
	x := journal.Expectation{Expr: e.Source}
	ok, err := r.evalBool(e, scope)
	if err != nil {
		x.Error = r.mask.String(err.Error())
		return x
	}
	// Passed or not, the journal keeps the values: a passed check shows
	// what it proved.
	x.OK = ok
	x.Evaluated = r.mask.String(evaluated(e.Source, scope, r.readsSecret))
	for _, sub := range explain(e.Source, scope, r.readsSecret) {
		sub.Value = r.mask.String(sub.Value)
		x.Values = append(x.Values, sub)
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
// comparisons, calls and the values they read. Literals are left out; a
// part hide says reads a secret shows ***.
func explain(src string, scope map[string]any, hide func(string) bool) []journal.SubValue {
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
		val, ok := subValue(s, scope, hide)
		if !ok {
			continue
		}
		out = append(out, journal.SubValue{Expr: s, Value: val})
		if len(out) >= 8 {
			break
		}
	}
	return out
}

// subValue evaluates one sub-expression for display: strings quoted,
// long values cut, fractions to six significant digits (displayFloat),
// *** for one hide says reads a secret; ok is false when it does not
// compile on its own.
func subValue(src string, scope map[string]any, hide func(string) bool) (string, bool) {
	if hide != nil && hide(src) {
		return "***", true
	}
	prog, err := expr.Compile(src, expr.Env(scope), expr.AllowUndefinedVariables())
	if err != nil {
		return "", false
	}
	v, err := expr.Run(prog, scope)
	switch str, isStr := v.(string); {
	case err != nil:
		return "error: " + firstLine(err.Error()), true
	case v == nil:
		return "nil", true
	case isStr:
		return fmt.Sprintf("%q", short(str, 200)), true
	}
	if f, ok := v.(float64); ok {
		return displayFloat(f), true
	}
	return short(formatValue(v), 200), true
}

// displayFloat shows a fraction to six significant digits, without an
// exponent: a phase of 0.53962339 s reads 0.539623, a cost of
// 0.000012345678 USD 0.0000123457. A value that rounding would make
// shorter than that — 120.0002 would read 120, 0.9999996 would read 1 —
// is shown whole instead: a threshold is written short, and a check that
// failed at 120.0002 must not read "120 <= 120". Whole numbers and large
// ones are shown whole too; a template's ${{ }} keeps every digit
// (formatValue).
func displayFloat(f float64) string {
	exact := strconv.FormatFloat(f, 'f', -1, 64)
	if f == math.Trunc(f) || math.Abs(f) >= 1e6 {
		return exact
	}
	r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'g', 6, 64), 64)
	shown := strconv.FormatFloat(r, 'f', -1, 64)
	if r != f && significantDigits(shown) < 6 {
		return exact
	}
	return shown
}

// significantDigits counts the digits of a plain decimal from the first
// that is not 0.
func significantDigits(s string) int {
	digits := strings.TrimLeft(strings.NewReplacer("-", "", ".", "").Replace(s), "0")
	return len(digits)
}

// evaluated is src with the values it compared in place of what they were
// read from — "valid == vars.file_count" gives "3 == 3" — so a passed check
// shows what it proved. and/or/not keep their shape; any other part is
// shown as its value. "" when there is nothing to add (src is only
// literals, or does not parse).
func evaluated(src string, scope map[string]any, hide func(string) bool) string {
	tree, err := parser.Parse(src)
	if err != nil {
		return ""
	}
	var render func(n ast.Node) string
	value := func(n ast.Node) string {
		if isLiteral(n) {
			return n.String()
		}
		v, ok := subValue(n.String(), scope, hide)
		if !ok {
			return n.String()
		}
		return v
	}
	render = func(n ast.Node) string {
		switch x := n.(type) {
		case *ast.BinaryNode:
			switch x.Operator {
			case "and", "&&", "or", "||":
				// Comparisons bind tighter than and/or: only a nested
				// and/or needs parentheses.
				return logical(x.Left, render) + " " + x.Operator + " " + logical(x.Right, render)
			}
			return value(x.Left) + " " + x.Operator + " " + value(x.Right)
		case *ast.UnaryNode:
			if x.Operator == "not" {
				return "not " + group(x.Node, render)
			}
			return x.Operator + group(x.Node, render)
		}
		return value(n)
	}
	out := render(tree.Node)
	if out == src {
		return ""
	}
	return short(out, 300)
}

// group renders n, in parentheses when it is itself an operation.
func group(n ast.Node, render func(ast.Node) string) string {
	switch n.(type) {
	case *ast.BinaryNode:
		return "(" + render(n) + ")"
	}
	return render(n)
}

// logical renders an operand of and/or: in parentheses only when it is
// itself an and/or.
func logical(n ast.Node, render func(ast.Node) string) string {
	if b, ok := n.(*ast.BinaryNode); ok && slices.Contains([]string{"and", "&&", "or", "||"}, b.Operator) {
		return "(" + render(n) + ")"
	}
	return render(n)
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
