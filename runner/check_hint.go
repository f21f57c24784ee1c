package runner

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/types"
)

// Hints for expressions that do not compile: the checker's message says
// what is wrong, the hint names the likely fix — the name meant, == for =,
// len() for a list compared with a number.

var (
	unknownName  = regexp.MustCompile(`^unknown name (\S+)`)
	unknownField = regexp.MustCompile(`^unknown field (\S+)`)
	mismatched   = regexp.MustCompile(`^invalid operation: (\S+) \(mismatched types (\S+(?: \{\})?) and (\S+(?: \{\})?)\)`)
)

// exprError reports an expression that does not parse or type-check, at
// the position the parser names. env is the expression's scope, for
// did-you-means (nil when only parsing).
func (c *checker) exprError(e *Expr, err error, env types.Map) {
	pos, msg := e.Pos, err.Error()
	var fe *file.Error
	if errors.As(err, &fe) {
		msg = fe.Message
		if fe.Line <= 1 {
			pos.Col += fe.Column
		} else {
			pos.Line += fe.Line - 1
			pos.Col = fe.Column + 1
		}
	}
	d := c.diags.errorf(pos, "in expression %q: %s", e.Source, msg)
	switch {
	case unknownName.MatchString(msg):
		d.Hint = "expressions see vars, env, run and steps.<id> (and, in expect/until, the step's own outputs)"
		name := unknownName.FindStringSubmatch(msg)[1]
		known := sortedKeys(env)
		if strings.Contains(e.Source, name+"(") { // called: a function is meant
			known = append(slices.Clone(builtin.Names), known...)
		}
		if h := didYouMean(name, known); h != "" {
			d.Hint = h
		}
		if h := renamedHint(name, sortedKeys(env)); h != "" {
			d.Hint = h
		}
	case unknownField.MatchString(msg):
		if h := didYouMean(unknownField.FindStringSubmatch(msg)[1], fieldNames(env)); h != "" {
			d.Hint = h
		}
	case strings.Contains(msg, "expected bool"):
		d.Hint = "if, expect, assert and until need a condition that is true or false"
	case msg == `unexpected token Operator("=")`:
		d.Hint = "compare with ==, not ="
		if fe != nil && fe.Line <= 1 && fe.Column < len(e.Source) && e.Source[fe.Column] == '=' {
			d.Hint += fmt.Sprintf(": %q", e.Source[:fe.Column]+"=="+e.Source[fe.Column+1:])
		}
	case mismatched.MatchString(msg):
		d.Hint = lenHint(e.Source, mismatched.FindStringSubmatch(msg))
	}
}

// didYouMean is `did you mean "x"?` when a known name is close to name.
func didYouMean(name string, known []string) string {
	if h := hintFor(name, known); strings.HasPrefix(h, "did you mean") {
		return h
	}
	return ""
}

// lenHint suggests len() when a comparison puts a list against a number
// (`files > 0`): m is the mismatched-types match (operator, left, right).
func lenHint(src string, m []string) string {
	op, left, right := m[1], m[2], m[3]
	list := func(t string) bool { return strings.HasPrefix(t, "[]") }
	number := func(t string) bool { return t == "int" || t == "float64" }
	if !(list(left) && number(right)) && !(number(left) && list(right)) {
		return ""
	}
	hint := "a list is compared with a number: compare its length with len()"
	tree, err := parser.Parse(src)
	if err != nil {
		return hint
	}
	var found *ast.BinaryNode
	ast.Walk(&tree.Node, visitor(func(n ast.Node) {
		if b, ok := n.(*ast.BinaryNode); ok && b.Operator == op && found == nil {
			found = b
		}
	}))
	if found == nil {
		return hint
	}
	l, r := found.Left.String(), found.Right.String()
	if list(left) {
		l = "len(" + l + ")"
	} else {
		r = "len(" + r + ")"
	}
	return fmt.Sprintf("a list is compared with a number: compare its length, %s %s %s", l, op, r)
}

// fieldNames lists every key reachable in env, at any depth (through
// lists too), for a did-you-mean on an unknown field.
func fieldNames(env types.Map) []string {
	seen := map[string]bool{}
	var walk func(n nature.Nature, depth int)
	walk = func(n nature.Nature, depth int) {
		if depth > 8 {
			return
		}
		if n.TypeData != nil {
			for k, f := range n.Fields {
				seen[k] = true
				walk(f, depth+1)
			}
		}
		if n.Ref != nil {
			walk(*n.Ref, depth+1)
		}
	}
	if env != nil {
		walk(env.Nature(), 0)
	}
	names := sortedKeys(seen)
	return slices.DeleteFunc(names, func(s string) bool { return s == types.Extra })
}
