package runner

import (
	"strconv"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// Secret vars are masked as the values they are, and as what expressions
// make of them. Masking matches text, so a value computed from a secret
// (upper(vars.token), vars.token[4:], a field of an object-valued secret
// var) would show in clear; instead, every string an expression reading a
// secret var gives is masked from then on (taint at the expression), and
// an explanation shows *** for a part that reads one.

// maskSecretVar registers a secret var's value: a scalar as its text, an
// object or list by every leaf (vars.db.pass is used alone).
func (r *Runner) maskSecretVar(v any) {
	switch x := v.(type) {
	case nil:
	case map[string]any:
		for _, e := range x {
			r.maskSecretVar(e)
		}
	case []any:
		for _, e := range x {
			r.maskSecretVar(e)
		}
	default:
		r.mask.Add(formatValue(x))
	}
}

// readsSecret reports whether src reads a secret var (vars.<name> or
// vars["<name>"] for a var declared secret: true).
func (r *Runner) readsSecret(src string) bool {
	if len(r.secretVars) == 0 {
		return false
	}
	r.secretMu.Lock()
	known, ok := r.secretReads[src]
	r.secretMu.Unlock()
	if ok {
		return known
	}
	reads := false
	if tree, err := parser.Parse(src); err != nil {
		reads = true // cannot tell: say it does
	} else {
		ast.Walk(&tree.Node, visitor(func(n ast.Node) {
			m, ok := n.(*ast.MemberNode)
			if !ok {
				return
			}
			id, isID := m.Node.(*ast.IdentifierNode)
			prop, isStr := m.Property.(*ast.StringNode)
			if isID && isStr && id.Value == "vars" && r.secretVars[prop.Value] {
				reads = true
			}
		}))
	}
	r.secretMu.Lock()
	if r.secretReads == nil {
		r.secretReads = map[string]bool{}
	}
	r.secretReads[src] = reads
	r.secretMu.Unlock()
	return reads
}

// taint masks from now on what expression src gave when it reads a secret
// var: text, and numbers long enough not to mask every count (a PIN).
func (r *Runner) taint(src string, v any) {
	if !r.readsSecret(src) {
		return
	}
	switch x := v.(type) {
	case string:
		r.mask.Add(x)
	case int:
		if s := strconv.Itoa(x); len(s) >= 4 {
			r.mask.Add(s)
		}
	case float64:
		if s := formatValue(x); len(s) >= 4 {
			r.mask.Add(s)
		}
	case map[string]any, []any:
		r.maskSecretVar(x)
	}
}
