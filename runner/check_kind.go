package runner

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/scnlabs/scn/actions"
)

var referrerType = reflect.TypeFor[actions.Referrer]()

// checkKind refuses ${{ steps.X }} (or ${{ steps.X.id }}) given to a
// parameter naming a resource when step X creates another kind: an
// instance where a snapshot is expected would otherwise fail only once the
// GPU is rented.
func (c *checker) checkKind(v *Value, t reflect.Type, path string) {
	if v.Tmpl == nil || v.Tmpl.Single == nil {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if !t.Implements(referrerType) {
		return
	}
	kinds := reflect.Zero(t).Interface().(actions.Referrer).RefersTo()
	s := c.index[referencedStep(v.Tmpl.Single.Source)]
	if s == nil || s.Spec == nil || s.Spec.Creates == "" || slices.Contains(kinds, s.Spec.Creates) {
		return
	}
	d := c.diags.errorf(v.Pos, "parameter %s expects %s, but step %q (%s) makes %s", path, article(kinds[0]), s.ID, s.Action, article(s.Spec.Creates))
	var makers []string
	for _, spec := range c.reg.All() {
		if slices.Contains(kinds, spec.Creates) {
			makers = append(makers, spec.Name)
		}
	}
	list := makers[0]
	if n := len(makers); n > 1 {
		list = strings.Join(makers[:n-1], ", ") + " or " + makers[n-1]
	}
	d.Hint = fmt.Sprintf("give ${{ steps.<id> }} of %s step", article(list))
}

// referencedStep is X when src is exactly steps.X or steps.X.id, "" else.
func referencedStep(src string) string {
	tree, err := parser.Parse(src)
	if err != nil {
		return ""
	}
	n := tree.Node
	if m, ok := n.(*ast.MemberNode); ok {
		if p, ok := m.Property.(*ast.StringNode); ok && p.Value == "id" {
			if inner, ok := m.Node.(*ast.MemberNode); ok {
				n = inner
			}
		}
	}
	m, ok := n.(*ast.MemberNode)
	if !ok {
		return ""
	}
	root, ok := m.Node.(*ast.IdentifierNode)
	prop, ok2 := m.Property.(*ast.StringNode)
	if !ok || !ok2 || root.Value != "steps" {
		return ""
	}
	return prop.Value
}

// article puts "a" or "an" before a noun.
func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
